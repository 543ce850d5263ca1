package main

import (
	"context"
	"flag"
	"fmt"

	analyticsapp "github.com/kehu-crm/kehu/services/analytics/app"
	customerapp "github.com/kehu-crm/kehu/services/customer/app"
)

// runRotatePIIKeys rotates the keys of personal data at rest: the customer
// service's personal fields and the analytics service's webhook delivery
// log, configured like the services (KEHU_DATABASE_URL, KEHU_PII_KEKS).
func runRotatePIIKeys(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rotate-pii-keys", flag.ContinueOnError)
	dataKey := fs.Bool("data-key", false, "generate a new data key, which seals from now on")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg, err := customerapp.LoadConfig(ctx)
	if err != nil {
		return err
	}
	r, err := customerapp.RotateKeys(ctx, cfg, *dataKey)
	if err != nil {
		return err
	}
	logf("customer: data key %d seals; %d keys re-wrapped under the first KEK; re-encrypted %d customers, %d merge snapshots, %d event payloads",
		r.DataKey, r.Rewrapped, r.Customers, r.Merges, r.Events)
	a, err := analyticsapp.RotateKeys(ctx, cfg.Service, *dataKey)
	if err != nil {
		return fmt.Errorf("analytics: %w", err)
	}
	logf("analytics: data key %d seals; %d keys re-wrapped under the first KEK (webhook delivery bodies sealed before stay readable until pruned)",
		a.DataKey, a.Rewrapped)
	return nil
}
