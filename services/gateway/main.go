// Command gateway serves Kehu's REST/JSON API over the services' gRPC APIs,
// with the OpenAPI document at /openapi.json and a readable page at /docs.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kehu-crm/kehu/pkg/log"
	"github.com/kehu-crm/kehu/services/gateway/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx); err != nil {
		stop()
		fmt.Fprintf(os.Stderr, "gateway: %v\n", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	cfg, err := app.LoadConfig(ctx)
	if err != nil {
		return err
	}
	logger := log.New(cfg.LogLevel).With("service", "gateway")
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	logger.Info("gateway listening", "http", a.HTTPAddr(), "admin", a.AdminAddr())
	return a.Serve(ctx)
}
