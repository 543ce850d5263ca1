// Command gateway serves Kehu's REST/JSON API over the services' gRPC APIs,
// with the OpenAPI document at /openapi.json and a readable page at /docs.
package main

import (
	"context"
	"fmt"

	"github.com/kehu-crm/kehu/pkg/log"
	"github.com/kehu-crm/kehu/pkg/service"
	"github.com/kehu-crm/kehu/services/gateway/app"
)

func main() { service.Main("gateway", realMain) }

func realMain(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unknown arguments %q; usage: gateway", args)
	}
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
