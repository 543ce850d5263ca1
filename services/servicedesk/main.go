// Command servicedesk runs Kehu's service desk.
//
//	servicedesk          serve gRPC (and /metrics, /healthz, /readyz)
//	servicedesk migrate  apply the database migrations and exit
//
// Configuration comes from the environment; see the README.
package main

import (
	"context"
	"log/slog"
	_ "time/tzdata" // SLA calendars name time zones; images have no zoneinfo

	"github.com/kehu-crm/kehu/pkg/service"
	"github.com/kehu-crm/kehu/services/servicedesk/app"
)

func main() { service.Main("servicedesk", realMain) }

func realMain(ctx context.Context, args []string) error {
	cfg, err := app.LoadConfig(ctx)
	if err != nil {
		return err
	}
	return service.Command(ctx, args, "servicedesk", cfg.Service, app.Migrate,
		func(ctx context.Context, logger *slog.Logger) (service.Server, error) {
			return app.New(ctx, cfg, logger)
		})
}
