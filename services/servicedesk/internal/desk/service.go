package desk

import (
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Config tunes the workflow.
type Config struct {
	// ReopenWindow is how long after closing a ticket may be reopened.
	ReopenWindow time.Duration
	// AtRisk is the share of an SLA target (0-1) after which a running
	// clock is reported at risk.
	AtRisk float64
	// EscalationQueue, when set, receives tickets whose SLA is breached.
	EscalationQueue string
	// VisitDelay is how long after a complaint is resolved its follow-up
	// visit is due.
	VisitDelay time.Duration
	// SurveyKind is asked when a ticket is resolved (CSAT or NPS); ""
	// issues no surveys.
	SurveyKind string
	// SurveyTTL is how long a survey takes answers.
	SurveyTTL time.Duration
	// LowScore is what a low score does: LowScoreReopen,
	// LowScoreFollowUp or LowScoreNothing.
	LowScore string
}

// Service implements the service desk's use cases.
type Service struct {
	store     Store
	customers Customers
	visits    Visits
	limiter   Limiter
	cfg       Config
	now       func() time.Time
}

// New returns a Service. now may be nil (wall clock).
func New(store Store, customers Customers, visits Visits, limiter Limiter, cfg Config, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, customers: customers, visits: visits, limiter: limiter, cfg: cfg,
		now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// Page sizes (AIP-158).
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

var (
	uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// slugPattern is the id of configuration resources (queues, policies),
	// chosen by the caller so names read well: "queues/complaints".
	slugPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)
)

// parseName reads "{collection}/{id}" with an id matching pattern.
func parseName(field, name, collection string, pattern *regexp.Regexp) (string, error) {
	id, ok := strings.CutPrefix(name, collection+"/")
	if !ok || !pattern.MatchString(id) {
		return "", errs.InvalidField(field, "must be a name like \"%s/{id}\", got %q", collection, name)
	}
	return id, nil
}

// ParseTicketName reads "tickets/{ticket}".
func ParseTicketName(field, name string) (string, error) {
	return parseName(field, name, "tickets", uuidPattern)
}

// ParseQueueName reads "queues/{queue}".
func ParseQueueName(field, name string) (string, error) {
	return parseName(field, name, "queues", slugPattern)
}

// ParsePolicyName reads "slaPolicies/{policy}".
func ParsePolicyName(field, name string) (string, error) {
	return parseName(field, name, "slaPolicies", slugPattern)
}
