// Command analytics runs Kehu's analytics service.
//
//	analytics          serve gRPC (and /metrics, /healthz, /readyz)
//	analytics migrate  apply the database migrations and exit
//
// Configuration comes from the environment; see the README.
package main

import (
	"context"
	"log/slog"

	"github.com/kehu-crm/kehu/pkg/service"
	"github.com/kehu-crm/kehu/services/analytics/app"
)

func main() { service.Main("analytics", realMain) }

func realMain(ctx context.Context, args []string) error {
	cfg, err := app.LoadConfig(ctx)
	if err != nil {
		return err
	}
	return service.Command(ctx, args, "analytics", cfg.Service, app.Migrate,
		func(ctx context.Context, logger *slog.Logger) (service.Server, error) {
			return app.New(ctx, cfg, logger)
		})
}
