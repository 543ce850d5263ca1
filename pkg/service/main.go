package service

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/log"
)

// Main runs a Kehu binary: realMain gets a context that ends on SIGINT or
// SIGTERM (graceful shutdown), and its error is the one fatal line.
func Main(name string, realMain func(ctx context.Context, args []string) error) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx, os.Args[1:]); err != nil {
		stop()
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Server is a started service (or gateway).
type Server interface {
	GRPCAddr() string
	AdminAddr() string
	Serve(ctx context.Context) error
}

// Command is the command line every gRPC service binary has:
//
//	NAME          serve gRPC (and /metrics, /healthz, /readyz)
//	NAME migrate  apply the database migrations and exit
func Command(ctx context.Context, args []string, name string, cfg config.Service,
	migrate func(ctx context.Context, databaseURL string) error,
	start func(ctx context.Context, logger *slog.Logger) (Server, error),
) error {
	logger := log.New(cfg.LogLevel).With("service", name)
	switch {
	case len(args) == 1 && args[0] == "migrate":
		return migrate(ctx, cfg.DatabaseURL)
	case len(args) > 0:
		return fmt.Errorf("unknown arguments %q; usage: %s [migrate]", args, name)
	}
	s, err := start(ctx, logger)
	if err != nil {
		return err
	}
	logger.Info(name+" service listening", "grpc", s.GRPCAddr(), "admin", s.AdminAddr())
	return s.Serve(ctx)
}
