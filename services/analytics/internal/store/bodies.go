package store

import (
	"context"
	"fmt"

	"github.com/kehu-crm/kehu/pkg/envelope"
	"github.com/kehu-crm/kehu/services/analytics/internal/webhook"
)

// bodyAD binds a sealed delivery body to its delivery: a body copied into
// another delivery's row does not open there (a redelivery, with an id of
// its own, is sealed afresh).
func bodyAD(deliveryID string) []byte { return []byte("webhook_deliveries.body/" + deliveryID) }

// sealBody is what webhook_deliveries.body holds for d: its body sealed
// under the newest data key; an erased delivery's (empty) body stays
// empty.
func sealBody(keys *envelope.Keyring, d *webhook.Delivery) []byte {
	if len(d.Body) == 0 {
		return []byte{}
	}
	return keys.Seal(d.Body, bodyAD(d.ID))
}

// openBodies replaces the sealed bodies of deliveries read from the table
// by their plaintext. Open knows every data key the schema ever had, so
// bodies sealed before a data-key rotation keep opening.
//
// A body that is not sealed is one written before the delivery log was
// encrypted: JSON, which never starts like a sealed value. It is read as
// it is rather than sealed at start-up, because the log is pruned
// (KEHU_WEBHOOK_LOG_RETENTION) and erasure empties it: such rows are gone
// within the retention period of the upgrade.
func openBodies(ctx context.Context, keys *envelope.Keyring, deliveries ...*webhook.Delivery) error {
	for _, d := range deliveries {
		if _, sealed := envelope.KeyID(d.Body); !sealed {
			continue
		}
		plain, err := keys.Open(ctx, d.Body, bodyAD(d.ID))
		if err != nil {
			return fmt.Errorf("opening the body of webhook delivery %s: %w", d.ID, err)
		}
		d.Body = plain
	}
	return nil
}
