package e2e_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/kehu-crm/kehu/pkg/testkit"

	"github.com/kehu-crm/kehu/e2e"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// TestRESTTicketAnsweredAndResolved: over REST, a manager sets up an SLA
// policy with a Chinese office calendar and a queue; a ticket is opened,
// answered, resolved and closed, and its history and SLA status read back.
func TestRESTTicketAnsweredAndResolved(t *testing.T) {
	s := e2e.Start(t, e2e.Options{})
	mgr := client{t, s.BaseURL, s.Token(t, "mia", auth.RoleManager)}
	expect(t, mgr.do("POST", "/v1/slaPolicies?slaPolicyId=standard", map[string]any{
		"displayName": "Standard", "firstResponseTarget": "3600s", "resolutionTarget": "28800s",
		"calendar": map[string]any{
			"timeZone": "Asia/Shanghai",
			"workingHours": []map[string]string{
				{"day": "DAY_OF_WEEK_MONDAY", "start": "09:00", "end": "12:00"}, {"day": "DAY_OF_WEEK_MONDAY", "start": "13:30", "end": "18:00"},
				{"day": "DAY_OF_WEEK_TUESDAY", "start": "09:00", "end": "18:00"},
			},
			"holidays": []string{"2026-10-01"}, "makeUpDays": []string{"2026-10-10"},
		},
	}), http.StatusOK)
	expect(t, mgr.do("POST", "/v1/queues?queueId=support", map[string]any{
		"displayName": "Support", "members": []map[string]any{{"user": "alice", "available": true}},
	}), http.StatusOK)
	c := mgr.do("POST", "/v1/customers", map[string]any{"displayName": "Li Na"})
	expect(t, c, http.StatusOK)

	tk := mgr.do("POST", "/v1/tickets", map[string]any{
		"customer": c.body["name"], "type": "TICKET_TYPE_INQUIRY", "channel": "CHANNEL_HOTLINE",
		"subject": "Where is my tea?", "description": "Ordered last week",
	})
	expect(t, tk, http.StatusOK)
	name := tk.body["name"].(string)
	if tk.body["queue"] != "queues/support" || tk.body["assignee"] != "alice" || tk.body["slaPolicy"] != "slaPolicies/standard" {
		t.Fatalf("ticket: %s", tk.raw)
	}
	alice := client{t, s.BaseURL, s.Token(t, "alice", auth.RoleAgent)}
	expect(t, alice.do("POST", "/v1/"+name+"/comments", map[string]any{"visibility": "VISIBILITY_PUBLIC", "body": "It ships today"}), http.StatusOK)
	for _, status := range []string{"STATUS_RESOLVED", "STATUS_CLOSED"} {
		expect(t, alice.do("POST", "/v1/"+name+":transition", map[string]any{"status": status, "resolutionSummary": "Shipped"}), http.StatusOK)
	}
	bad := alice.do("POST", "/v1/"+name+":transition", map[string]any{"status": "STATUS_PENDING_CUSTOMER"})
	if bad.code != http.StatusBadRequest || bad.errorReason() != "ILLEGAL_TRANSITION" {
		t.Errorf("illegal transition: HTTP %d %s", bad.code, bad.raw)
	}
	changes := alice.do("GET", "/v1/"+name+"/changes", nil)
	expect(t, changes, http.StatusOK)
	if list, _ := changes.body["changes"].([]any); len(list) < 5 {
		t.Errorf("history: %s", changes.raw)
	}
	sla := alice.do("GET", "/v1/"+name+"/slaStatus", nil)
	expect(t, sla, http.StatusOK)
	fr, _ := sla.body["firstResponse"].(map[string]any)
	clock, _ := fr["clock"].(map[string]any)
	if clock["state"] != "CLOCK_STATE_MET" {
		t.Errorf("SLA status: %s", sla.raw)
	}
	list := mgr.do("GET", "/v1/tickets?filter=status%20%3D%20CLOSED", nil)
	expect(t, list, http.StatusOK)
	if tickets, _ := list.body["tickets"].([]any); len(tickets) != 1 {
		t.Errorf("closed tickets: %s", list.raw)
	}
	// The resolution issued a survey; a notifier reads its link from the
	// event stream over gRPC, and the customer answers over REST with no
	// bearer token.
	anon := client{t, s.BaseURL, ""}
	token := testkit.SurveyToken(t, s.ServiceDeskConn, name)
	survey := anon.do("GET", "/v1/publicSurveys/"+token, nil)
	expect(t, survey, http.StatusOK)
	if survey.body["ticketSubject"] != "Where is my tea?" || survey.body["kind"] != "SURVEY_KIND_CSAT" {
		t.Errorf("public survey: %s", survey.raw)
	}
	expect(t, anon.do("POST", "/v1/publicSurveys/"+token+":answer", map[string]any{"score": 5, "comment": "Fast"}), http.StatusOK)
	again := anon.do("POST", "/v1/publicSurveys/"+token+":answer", map[string]any{"score": 1})
	if again.code != http.StatusBadRequest || again.errorReason() != "SURVEY_ALREADY_ANSWERED" {
		t.Errorf("second answer: HTTP %d %s", again.code, again.raw)
	}
	rated := mgr.do("GET", "/v1/"+name, nil)
	if result, _ := rated.body["surveyResult"].(map[string]any); result["score"] != float64(5) {
		t.Errorf("rating not on the ticket: %s", rated.raw)
	}
	// Analytics follows the services: the rating reaches the customer's
	// insights over REST.
	insights := "/v1/" + c.body["name"].(string) + "/insights"
	var last response
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if last = mgr.do("GET", insights, nil); last.code == http.StatusOK {
			if facts, _ := last.body["facts"].(map[string]any); facts["averageCsat"] == float64(5) {
				break
			}
		}
	}
	if facts, _ := last.body["facts"].(map[string]any); facts["averageCsat"] != float64(5) {
		t.Errorf("insights never showed the rating: HTTP %d %s", last.code, last.raw)
	}
	// Survey links need no bearer token: a forged one is simply not found.
	forged := anon.do("GET", "/v1/publicSurveys/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil)
	if forged.code != http.StatusNotFound || forged.errorReason() != "SURVEY_NOT_FOUND" {
		t.Errorf("forged survey link: HTTP %d %s", forged.code, forged.raw)
	}
	surveys := mgr.do("GET", "/v1/surveys?filter=ticket%20%3D%20%22"+name+"%22", nil)
	expect(t, surveys, http.StatusOK)
	if list, _ := surveys.body["surveys"].([]any); len(list) != 1 {
		t.Errorf("the resolution issued no survey: %s", surveys.raw)
	}
	// The event stream is internal, as for the other services.
	if r := mgr.do("GET", "/v1/serviceDeskEvents:stream", nil); r.code != http.StatusNotFound {
		t.Errorf("service desk events over REST: HTTP %d", r.code)
	}
}
