package app

import (
	"context"

	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/service"
	"github.com/kehu-crm/kehu/services/analytics/migrations"
)

// RotateKeys rotates the keys that seal the webhook delivery log's bodies
// (`kehuctl rotate-pii-keys`, beside the customer service's): with
// newDataKey a data key that seals from then on, and every key re-wrapped
// under the first KEK of cfg.PIIKEKs. Bodies an older data key sealed are
// not re-encrypted: they keep opening (the schema keeps every data key)
// and are pruned with the log (KEHU_WEBHOOK_LOG_RETENTION).
func RotateKeys(ctx context.Context, cfg config.Service, newDataKey bool) (service.KeyRotation, error) {
	r, err := service.RotateKeys(ctx, cfg, migrations.Schema, newDataKey)
	if err == nil {
		r.Close()
	}
	return r, err
}
