// Command interaction runs Kehu's interaction service.
//
//	interaction          serve gRPC (and /metrics, /healthz, /readyz)
//	interaction migrate  apply the database migrations and exit
//
// Configuration comes from the environment; see the README.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // care dates are read in KEHU_CARE_TIMEZONE; images have no zoneinfo

	"github.com/kehu-crm/kehu/pkg/log"
	"github.com/kehu-crm/kehu/services/interaction/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx, os.Args[1:]); err != nil {
		stop()
		fmt.Fprintf(os.Stderr, "interaction: %v\n", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, args []string) error {
	cfg, err := app.LoadConfig(ctx)
	if err != nil {
		return err
	}
	logger := log.New(cfg.LogLevel).With("service", "interaction")
	switch {
	case len(args) == 1 && args[0] == "migrate":
		return app.Migrate(ctx, cfg.DatabaseURL)
	case len(args) > 0:
		return fmt.Errorf("unknown arguments %q; usage: interaction [migrate]", args)
	}
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	logger.Info("interaction service listening", "grpc", a.GRPCAddr(), "admin", a.AdminAddr())
	return a.Serve(ctx)
}
