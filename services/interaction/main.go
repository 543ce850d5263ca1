// Command interaction runs Kehu's interaction service.
//
//	interaction          serve gRPC (and /metrics, /healthz, /readyz)
//	interaction migrate  apply the database migrations and exit
//
// Configuration comes from the environment; see the README.
package main

import (
	"context"
	"log/slog"
	_ "time/tzdata" // care dates are read in KEHU_CARE_TIMEZONE; images have no zoneinfo

	"github.com/kehu-crm/kehu/pkg/service"
	"github.com/kehu-crm/kehu/services/interaction/app"
)

func main() { service.Main("interaction", realMain) }

func realMain(ctx context.Context, args []string) error {
	cfg, err := app.LoadConfig(ctx)
	if err != nil {
		return err
	}
	return service.Command(ctx, args, "interaction", cfg.Service, app.Migrate,
		func(ctx context.Context, logger *slog.Logger) (service.Server, error) {
			return app.New(ctx, cfg, logger)
		})
}
