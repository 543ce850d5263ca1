package main

import (
	"context"
	"flag"
	"fmt"

	customerapp "github.com/kehu-crm/kehu/services/customer/app"
)

// runRotatePIIKeys rotates the keys of the customer service's personal
// fields, configured like the service (KEHU_DATABASE_URL, KEHU_PII_KEKS).
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
	logf("data key %d seals; %d keys re-wrapped under the first KEK; re-encrypted %d customers, %d merge snapshots, %d event payloads",
		r.DataKey, r.Rewrapped, r.Customers, r.Merges, r.Events)
	return nil
}
