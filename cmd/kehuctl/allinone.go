package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/dial"
	"github.com/kehu-crm/kehu/pkg/log"
	kehuservice "github.com/kehu-crm/kehu/pkg/service"
	analyticsapp "github.com/kehu-crm/kehu/services/analytics/app"
	customerapp "github.com/kehu-crm/kehu/services/customer/app"
	gatewayapp "github.com/kehu-crm/kehu/services/gateway/app"
	interactionapp "github.com/kehu-crm/kehu/services/interaction/app"
	servicedeskapp "github.com/kehu-crm/kehu/services/servicedesk/app"
)

// allInOne is the whole suite in this process: each service on the same
// ports as when run apart (so gRPC clients, metrics and the README do not
// change), but the gateway and the services call one another in-process
// (dial.LocalScheme) instead of over loopback connections.
type allInOne struct {
	servers []kehuservice.Server
	names   []string
}

// startAllInOne configures every service from env (KEY=VALUE pairs, as the
// separate processes get them) and opens their listeners.
func startAllInOne(ctx context.Context, env []string, httpAddr string) (*allInOne, error) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return nil, err
		}
	}
	// Listen addresses are the suite's, whatever the environment says.
	addr, admin := map[string]string{}, map[string]string{}
	for _, svc := range suite(httpAddr) {
		for _, kv := range svc.env {
			if v, ok := strings.CutPrefix(kv, "KEHU_GRPC_ADDR="); ok {
				addr[svc.name] = v
			}
			if v, ok := strings.CutPrefix(kv, "KEHU_ADMIN_ADDR="); ok {
				admin[svc.name] = v
			}
		}
	}
	listen := func(name string, cfg *config.Service) { cfg.GRPCAddr, cfg.AdminAddr = addr[name], admin[name] }
	local := func(name string) string { return dial.LocalScheme + addr[name] }
	level := os.Getenv("KEHU_LOG_LEVEL")
	logger := func(name string) *slog.Logger { return log.New(level).With("service", name) }

	// On an error kehuctl exits, which closes whatever was opened.
	a := &allInOne{}
	add := func(name string, s kehuservice.Server, err error) error {
		if err != nil {
			return fmt.Errorf("starting %s: %w", name, err)
		}
		a.servers, a.names = append(a.servers, s), append(a.names, name)
		return nil
	}

	customerCfg, err := customerapp.LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	listen("customer", &customerCfg.Service)
	customer, err := customerapp.New(ctx, customerCfg, logger("customer"))
	if err := add("customer", customer, err); err != nil {
		return nil, err
	}

	interactionCfg, err := interactionapp.LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	listen("interaction", &interactionCfg.Service)
	interactionCfg.CustomerAddr = local("customer")
	interaction, err := interactionapp.New(ctx, interactionCfg, logger("interaction"))
	if err := add("interaction", interaction, err); err != nil {
		return nil, err
	}

	deskCfg, err := servicedeskapp.LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	listen("servicedesk", &deskCfg.Service)
	deskCfg.CustomerAddr, deskCfg.InteractionAddr = local("customer"), local("interaction")
	desk, err := servicedeskapp.New(ctx, deskCfg, logger("servicedesk"))
	if err := add("servicedesk", desk, err); err != nil {
		return nil, err
	}

	analyticsCfg, err := analyticsapp.LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	listen("analytics", &analyticsCfg.Service)
	analyticsCfg.CustomerAddr, analyticsCfg.InteractionAddr, analyticsCfg.ServiceDeskAddr = local("customer"), local("interaction"), local("servicedesk")
	analyticsCfg.ScoringInterval = time.Minute
	analytics, err := analyticsapp.New(ctx, analyticsCfg, logger("analytics"))
	if err := add("analytics", analytics, err); err != nil {
		return nil, err
	}

	gatewayCfg, err := gatewayapp.LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	gatewayCfg.HTTPAddr, gatewayCfg.AdminAddr = httpAddr, admin["gateway"]
	gatewayCfg.CustomerAddr, gatewayCfg.InteractionAddr = local("customer"), local("interaction")
	gatewayCfg.ServiceDeskAddr, gatewayCfg.AnalyticsAddr = local("servicedesk"), local("analytics")
	gateway, err := gatewayapp.New(ctx, gatewayCfg, logger("gateway"))
	if err != nil {
		return nil, fmt.Errorf("starting gateway: %w", err)
	}
	a.servers, a.names = append(a.servers, gatewayServer{gateway}), append(a.names, "gateway")
	return a, nil
}

// gatewayServer gives the gateway the shape of a service.
type gatewayServer struct{ *gatewayapp.App }

func (g gatewayServer) GRPCAddr() string { return g.HTTPAddr() }

// serve runs every server until ctx ends; the first to fail stops the rest.
// The gateway stops first and the customer service last, as in split mode.
func (a *allInOne) serve(ctx context.Context) error {
	ctxs := make([]context.Context, len(a.servers))
	cancels := make([]context.CancelFunc, len(a.servers))
	done := make([]chan error, len(a.servers))
	failed := make(chan string, len(a.servers))
	for i, s := range a.servers {
		ctxs[i], cancels[i] = context.WithCancel(context.WithoutCancel(ctx))
		done[i] = make(chan error, 1)
		go func() {
			err := s.Serve(ctxs[i])
			done[i] <- err
			if ctxs[i].Err() == nil {
				failed <- fmt.Sprintf("%s exited unexpectedly: %v", a.names[i], err)
			}
		}()
	}
	var errs []error
	select {
	case <-ctx.Done():
	case msg := <-failed:
		errs = append(errs, errors.New(msg))
	}
	for i := len(a.servers) - 1; i >= 0; i-- {
		cancels[i]()
		if err := <-done[i]; err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.names[i], err))
		}
	}
	return errors.Join(errs...)
}
