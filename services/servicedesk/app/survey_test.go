package app

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// resolved opens and resolves a ticket and returns it with the token of
// the survey its resolution issued (from the survey.issued event, the only
// place the token is published).
func (e *env) resolved(t *testing.T, subject string) (*sdv1.Ticket, string) {
	t.Helper()
	c := e.customer(t, &customerv1.Customer{DisplayName: "Rater"})
	mgr := e.manager(t)
	tk := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: inquiry(c, subject)})).GetTicket()
	for _, s := range []sdv1.Status{sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_RESOLVED} {
		if _, err := e.desk.TransitionTicket(mgr, &sdv1.TransitionTicketRequest{Name: tk.GetName(), Status: s}); err != nil {
			t.Fatal(err)
		}
	}
	return tk, testkit.SurveyToken(t, e.deskConn, tk.GetName())
}

// The customer answers through the link alone, once; a low score reopens
// the ticket; forged, malformed and out-of-range answers are refused, and
// a link used too often is slowed down.
func TestSurveyFlow(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.SurveyRate = 4 })
	tk, token := e.resolved(t, "Parcel lost")
	anon := context.Background()

	pub, err := e.desk.GetPublicSurvey(anon, &sdv1.GetPublicSurveyRequest{Token: token})
	if err != nil || pub.GetSurvey().GetKind() != sdv1.SurveyKind_SURVEY_KIND_CSAT || pub.GetSurvey().GetTicketSubject() != "Parcel lost" ||
		pub.GetSurvey().GetState() != sdv1.SurveyState_SURVEY_STATE_ISSUED {
		t.Fatalf("public survey: %v %v", pub, err)
	}
	for _, forged := range []string{"not-a-token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		_, err := e.desk.AnswerSurvey(anon, &sdv1.AnswerSurveyRequest{Token: forged, Score: 5})
		testkit.WantCode(t, err, codes.NotFound, "SURVEY_NOT_FOUND", "")
	}
	_, err = e.desk.AnswerSurvey(anon, &sdv1.AnswerSurveyRequest{Token: token, Score: 9})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "score")
	ans, err := e.desk.AnswerSurvey(anon, &sdv1.AnswerSurveyRequest{Token: token, Score: 2, Comment: "Still no parcel"})
	if err != nil || ans.GetSurvey().GetState() != sdv1.SurveyState_SURVEY_STATE_ANSWERED {
		t.Fatalf("answer: %v %v", ans, err)
	}
	_, err = e.desk.AnswerSurvey(anon, &sdv1.AnswerSurveyRequest{Token: token, Score: 5})
	testkit.WantCode(t, err, codes.FailedPrecondition, "SURVEY_ALREADY_ANSWERED", "")

	got := mustGet(t, e, e.manager(t), tk.GetName())
	if got.GetStatus() != sdv1.Status_STATUS_OPEN || got.GetSurveyResult().GetScore() != 2 || got.GetSurveyResult().GetComment() != "Still no parcel" {
		t.Errorf("after a low score: %s, result %v", got.GetStatus(), got.GetSurveyResult())
	}
	viewer, err := e.desk.ListSurveys(e.as(t, "vic", auth.RoleViewer), &sdv1.ListSurveysRequest{Filter: `ticket = "` + tk.GetName() + `" AND state = ANSWERED`})
	if err != nil || len(viewer.GetSurveys()) != 1 || viewer.GetSurveys()[0].GetResult().GetComment() != "" || viewer.GetSurveys()[0].GetResult().GetScore() != 2 {
		t.Errorf("viewer's surveys: %v %v", viewer, err)
	}
	// Four uses of the link so far (one read, three answers): the fifth
	// within the minute is slowed down.
	_, err = e.desk.GetPublicSurvey(anon, &sdv1.GetPublicSurveyRequest{Token: token})
	testkit.WantCode(t, err, codes.ResourceExhausted, "RATE_LIMITED", "")
}

// A survey takes no answer once it expired.
func TestSurveyExpires(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.SurveyTTL = time.Millisecond })
	_, token := e.resolved(t, "Quick question")
	_, err := e.desk.AnswerSurvey(context.Background(), &sdv1.AnswerSurveyRequest{Token: token, Score: 5})
	testkit.WantCode(t, err, codes.FailedPrecondition, "SURVEY_EXPIRED", "")
}

// Configured so, a low score owes the account manager a follow-up visit
// instead of reopening the ticket.
func TestLowScoreOwesAVisit(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.LowScore = "follow-up" })
	tk, token := e.resolved(t, "Slow refund")
	if _, err := e.desk.AnswerSurvey(context.Background(), &sdv1.AnswerSurveyRequest{Token: token, Score: 1}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, e, e.manager(t), tk.GetName()); got.GetStatus() != sdv1.Status_STATUS_RESOLVED {
		t.Errorf("status %s, want RESOLVED", got.GetStatus())
	}
	if n, err := e.apps[0].DeliverVisitsOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("visits planned: %d %v", n, err)
	}
	list, err := e.interactions.ListFollowUps(e.manager(t), &interactionv1.ListFollowUpsRequest{Parent: tk.GetCustomer()})
	if err != nil || len(list.GetFollowUps()) != 1 || list.GetFollowUps()[0].GetAssignee() != "mia" {
		t.Fatalf("follow-ups (want one, for mia who opened the unassigned ticket): %v %v", list, err)
	}
}
