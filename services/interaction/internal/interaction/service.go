package interaction

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Service implements the interaction use cases.
type Service struct {
	store     Store
	customers Customers
	now       func() time.Time
}

// New returns a Service. now may be nil (wall clock).
func New(store Store, customers Customers, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, customers: customers, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// Page sizes (AIP-158).
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// Interactions and follow-ups follow the platform's access rules
// (auth.Access): an agent owns the records they handle and those of the
// customers they manage (per the customer projection); masked callers
// never see message bodies (summaries, order references, follow-up
// messages).

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// checkTouchpoint accepts "" or an existing "touchpoints/{id}"; it returns
// the id.
func (s *Service) checkTouchpoint(ctx context.Context, field, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	id, err := ParseTouchpointName(field, name)
	if err != nil {
		return "", err
	}
	if _, err := s.store.GetTouchpoint(ctx, id); err != nil {
		if errs.Is(err, errs.KindNotFound) {
			return "", errs.InvalidField(field, "touchpoint %q does not exist", name)
		}
		return "", err
	}
	return id, nil
}
