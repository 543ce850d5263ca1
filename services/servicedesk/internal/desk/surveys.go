package desk

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
)

// Survey kinds and states.
const (
	SurveyCSAT     = "CSAT"
	SurveyNPS      = "NPS"
	SurveyIssued   = "ISSUED"
	SurveyAnswered = "ANSWERED"
	SurveyExpired  = "EXPIRED"
)

// What a low score does (Config.LowScore).
const (
	LowScoreReopen   = "reopen"
	LowScoreFollowUp = "follow-up"
	LowScoreNothing  = "none"
)

// Event types of surveys.
const (
	EventSurveyIssued   = "survey.issued"
	EventSurveyAnswered = "survey.answered"
)

// Result is a customer's answer to a survey.
type Result struct {
	Kind       string
	Score      int
	Comment    string
	AnswerTime time.Time
}

// Survey asks a customer whether their resolved ticket was solved.
type Survey struct {
	ID         string
	TicketID   string
	CustomerID string
	Kind       string
	State      string
	Result     *Result
	IssueTime  time.Time
	ExpireTime time.Time
	// Subject is the ticket's, for the public view.
	Subject string
}

// SurveyName is a survey's resource name.
func SurveyName(id string) string { return "surveys/" + id }

// stateAt is the survey's state as of now (ISSUED turns EXPIRED).
func (v *Survey) stateAt(now time.Time) string {
	if v.State == SurveyIssued && !now.Before(v.ExpireTime) {
		return SurveyExpired
	}
	return v.State
}

// SurveyIssue is the data of survey.issued events: the link's token goes
// to whoever sends the survey, and nowhere else.
type SurveyIssue struct {
	Survey *Survey
	Token  string
}

// SurveyAnswer is the data of survey.answered events.
type SurveyAnswer struct {
	Survey *Survey
}

// Limiter bounds how often one key may be used.
type Limiter interface {
	// Allow fails with RESOURCE_EXHAUSTED (and when to retry) once key is
	// used too often.
	Allow(ctx context.Context, key string) error
}

// tokenPattern is a survey token: 32 random bytes, base64url.
var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// issueSurvey issues the survey of a just-resolved ticket.
func (s *Service) issueSurvey(ctx context.Context, tx Tx, t *Ticket, now time.Time) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return errs.Internal(err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	v := &Survey{
		ID: newID(), TicketID: t.ID, CustomerID: t.CustomerID, Kind: s.cfg.SurveyKind, State: SurveyIssued,
		IssueTime: now, ExpireTime: now.Add(s.cfg.SurveyTTL), Subject: t.Subject,
	}
	if err := tx.InsertSurvey(ctx, v, hashToken(token)); err != nil {
		return err
	}
	return tx.Emit(ctx, event.Event{Type: EventSurveyIssued, Subject: SurveyName(v.ID), Actor: "kehu-servicedesk", Data: SurveyIssue{Survey: v, Token: token}})
}

// surveyByToken finds the survey of a link, after the per-token limit: a
// token that is malformed or unknown is NOT_FOUND, like any other.
func (s *Service) surveyByToken(ctx context.Context, token string) ([]byte, error) {
	if !tokenPattern.MatchString(token) {
		return nil, errs.New(errs.KindNotFound, "SURVEY_NOT_FOUND", "no survey has this link; check that it was copied whole")
	}
	hash := hashToken(token)
	if err := s.limiter.Allow(ctx, fmt.Sprintf("survey:%x", hash[:8])); err != nil {
		return nil, err
	}
	return hash, nil
}

// PublicSurvey shows the holder of a survey link its question.
func (s *Service) PublicSurvey(ctx context.Context, token string) (*Survey, error) {
	hash, err := s.surveyByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	v, err := s.store.SurveyByToken(ctx, hash)
	if errs.Is(err, errs.KindNotFound) {
		return nil, errs.New(errs.KindNotFound, "SURVEY_NOT_FOUND", "no survey has this link; check that it was copied whole")
	}
	if err != nil {
		return nil, err
	}
	v.State = v.stateAt(s.now())
	return v, nil
}

// AnswerSurvey records the customer's answer, once. A low score (CSAT 1-2,
// NPS 0-6) reopens the ticket or owes a follow-up visit, as configured.
func (s *Service) AnswerSurvey(ctx context.Context, token string, score int, comment string) (*Survey, error) {
	hash, err := s.surveyByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(comment); n > 2000 {
		return nil, errs.InvalidField("comment", "must be at most 2000 characters, got %d", n)
	}
	var out *Survey
	err = s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		v, err := tx.LockSurveyByToken(ctx, hash)
		if errs.Is(err, errs.KindNotFound) {
			return errs.New(errs.KindNotFound, "SURVEY_NOT_FOUND", "no survey has this link; check that it was copied whole")
		}
		if err != nil {
			return err
		}
		now := s.now()
		switch v.stateAt(now) {
		case SurveyAnswered:
			return errs.FailedPrecondition("SURVEY_ALREADY_ANSWERED", "this survey was answered on %s; thank you", v.Result.AnswerTime.Format("2006-01-02"))
		case SurveyExpired:
			return errs.FailedPrecondition("SURVEY_EXPIRED", "this survey closed on %s", v.ExpireTime.Format("2006-01-02"))
		}
		low, high := 1, 5
		if v.Kind == SurveyNPS {
			low, high = 0, 10
		}
		if score < low || score > high {
			return errs.InvalidField("score", "must be %d to %d for a %s survey, got %d", low, high, v.Kind, score)
		}
		v.State, v.Result = SurveyAnswered, &Result{Kind: v.Kind, Score: score, Comment: comment, AnswerTime: now}
		if err := tx.UpdateSurvey(ctx, v); err != nil {
			return err
		}
		if err := s.attachResult(ctx, tx, v, now); err != nil {
			return err
		}
		out = v
		return tx.Emit(ctx, event.Event{Type: EventSurveyAnswered, Subject: SurveyName(v.ID), Actor: "customer", Data: SurveyAnswer{Survey: v}})
	})
	return out, err
}

// customerActor signs what a customer does through a survey link.
var customerActor = auth.Access{Principal: auth.Principal{Subject: "customer"}}

// attachResult puts the answer on the ticket and acts on a low score.
func (s *Service) attachResult(ctx context.Context, tx Tx, v *Survey, now time.Time) error {
	t, err := tx.LockTicket(ctx, v.TicketID)
	if err != nil {
		return err
	}
	t.Survey = v.Result
	var changes []Change
	low := v.Result.Score <= 2 || v.Kind == SurveyNPS && v.Result.Score <= 6
	if low {
		switch s.cfg.LowScore {
		case LowScoreReopen:
			if t.Status == StatusResolved || t.Status == StatusClosed {
				cal, err := s.calendarOf(ctx, t.PolicyID)
				if err != nil {
					return err
				}
				if cal != nil {
					if err := t.Resolution.reopen(cal, now); err != nil {
						return err
					}
				}
				changes = append(changes, Change{Field: "status", From: t.Status, To: StatusOpen + ": survey score " + fmt.Sprint(v.Result.Score)})
				t.Status, t.ResolveTime, t.CloseTime = StatusOpen, nil, nil
			}
		case LowScoreFollowUp:
			if err := tx.OweVisit(ctx, s.owedVisit(t, VisitLowScore, now)); err != nil {
				return err
			}
		}
	}
	t.Revision++
	t.UpdateTime = now
	if err := tx.UpdateTicket(ctx, t); err != nil {
		return err
	}
	eventType := EventTicketUpdated
	if len(changes) > 0 {
		eventType = EventTicketStatusChanged
	}
	return s.record(ctx, tx, customerActor, t, eventType, now, changes...)
}

// GetSurvey returns a survey of a ticket the caller may see.
func (s *Service) GetSurvey(ctx context.Context, name string) (*Survey, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseName("name", name, "surveys", uuidPattern)
	if err != nil {
		return nil, err
	}
	v, err := s.store.GetSurvey(ctx, id)
	if err != nil {
		return nil, notFoundAs(err, name)
	}
	if _, err := s.loadTicket(ctx, a, "name", TicketName(v.TicketID)); err != nil {
		return nil, notFoundAs(err, name)
	}
	return viewSurvey(a, v, s.now()), nil
}

// ListSurveys lists the surveys of tickets the caller may see, newest
// first.
func (s *Service) ListSurveys(ctx context.Context, filter string, pageSize int32, pageToken string) ([]*Survey, string, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, "", err
	}
	size, err := pagetoken.Size(pageSize, defaultPageSize, maxPageSize)
	if err != nil {
		return nil, "", err
	}
	scope, err := s.scopeOf(ctx, a)
	if err != nil {
		return nil, "", err
	}
	query := "surveys\x00" + filter + "\x00" + a.Subject
	var after Cursor
	if pageToken != "" {
		if err := pagetoken.Decode(pageToken, query, &after); err != nil {
			return nil, "", err
		}
	}
	rows, err := s.store.ListSurveys(ctx, SurveyQuery{Filter: filter, Scope: scope, After: after, Limit: size + 1})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		last := rows[size-1]
		next = pagetoken.Encode(query, Cursor{Key: last.IssueTime.Format(time.RFC3339Nano), ID: last.ID})
	}
	now := s.now()
	for n, v := range rows {
		rows[n] = viewSurvey(a, v, now)
	}
	return rows, next, nil
}

// SurveyQuery selects surveys.
type SurveyQuery struct {
	Filter string
	Scope  *Scope
	After  Cursor
	Limit  int
}

func viewSurvey(a auth.Access, v *Survey, now time.Time) *Survey {
	c := *v
	c.State = v.stateAt(now)
	if a.Masked() && v.Result != nil {
		r := *v.Result
		r.Comment = ""
		c.Result = &r
	}
	return &c
}
