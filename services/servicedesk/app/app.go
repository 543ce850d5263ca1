// Package app wires the service desk: configuration, the customer service
// client, the domain on its store and the gRPC handlers, on the platform's
// service bootstrap (pkg/service). kehuctl and the end-to-end tests start
// it through this package.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/config"
	customerrpc "github.com/kehu-crm/kehu/pkg/customerref/rpc"
	"github.com/kehu-crm/kehu/pkg/dial"
	"github.com/kehu-crm/kehu/pkg/follow"
	followuprpc "github.com/kehu-crm/kehu/pkg/followup/rpc"
	"github.com/kehu-crm/kehu/pkg/ratelimit"
	"github.com/kehu-crm/kehu/pkg/service"
	"github.com/kehu-crm/kehu/services/servicedesk/internal/desk"
	grpcserver "github.com/kehu-crm/kehu/services/servicedesk/internal/server"
	"github.com/kehu-crm/kehu/services/servicedesk/internal/store"
	"github.com/kehu-crm/kehu/services/servicedesk/migrations"
	"github.com/prometheus/client_golang/prometheus"
)

// Default listen addresses of the service desk.
var defaultAddrs = config.Addrs{GRPC: ":9103", Admin: ":9203"}

// Config is the service desk's configuration.
type Config struct {
	config.Service
	// CustomerAddr is the customer service (host:port, a comma-separated
	// list, or dns:///name:port).
	CustomerAddr string `env:"KEHU_CUSTOMER_ADDR, default=127.0.0.1:9101"`
	// CustomerTimeout bounds each call to the customer service.
	CustomerTimeout time.Duration `env:"KEHU_CUSTOMER_TIMEOUT, default=5s"`
	// ReopenWindow is how long after closing a ticket may be reopened.
	ReopenWindow time.Duration `env:"KEHU_TICKET_REOPEN_WINDOW, default=168h"`
	// SLAInterval is the period of the SLA worker; 0 disables it.
	SLAInterval time.Duration `env:"KEHU_SLA_INTERVAL, default=30s"`
	// SLAAtRisk is the share of a target after which a clock is at risk.
	SLAAtRisk float64 `env:"KEHU_SLA_AT_RISK, default=0.75"`
	// EscalationQueue receives tickets whose SLA is breached ("" keeps
	// them in their queue).
	EscalationQueue string `env:"KEHU_SLA_ESCALATION_QUEUE"`
	// InteractionAddr is the interaction service, where complaint
	// follow-up visits are planned.
	InteractionAddr string `env:"KEHU_INTERACTION_ADDR, default=127.0.0.1:9102"`
	// InteractionTimeout bounds each call to the interaction service.
	InteractionTimeout time.Duration `env:"KEHU_INTERACTION_TIMEOUT, default=5s"`
	// VisitDelay is how long after a complaint is resolved its follow-up
	// visit is due.
	VisitDelay time.Duration `env:"KEHU_COMPLAINT_VISIT_DELAY, default=72h"`
	// SurveyKind is the survey issued when a ticket is resolved: CSAT,
	// NPS, or none.
	SurveyKind string `env:"KEHU_SURVEY_KIND, default=CSAT"`
	// SurveyTTL is how long a survey takes answers.
	SurveyTTL time.Duration `env:"KEHU_SURVEY_TTL, default=336h"`
	// LowScore is what a low score does: reopen, follow-up or none.
	LowScore string `env:"KEHU_SURVEY_LOW_SCORE, default=reopen"`
	// FollowCustomers turns the customer event follower on (merges move
	// tickets, purges erase them).
	FollowCustomers bool `env:"KEHU_FOLLOW_CUSTOMER_EVENTS, default=true"`
	// SurveyRate limits uses of one survey link per minute.
	SurveyRate int `env:"KEHU_SURVEY_RATE_LIMIT, default=10"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig(ctx context.Context) (Config, error) {
	var cfg Config
	err := config.Load(ctx, &cfg, defaultAddrs)
	return cfg, err
}

// App is a running service desk.
type App struct {
	*service.Service
	svc *desk.Service
}

// New starts the service desk; listeners are open when it returns.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*App, error) {
	s, err := service.New(ctx, cfg.Service, service.Spec{
		Name:          sdv1.ServiceDeskService_ServiceDesc.ServiceName,
		Migrations:    migrations.All,
		Policy:        grpcserver.Policy,
		PersonalReads: grpcserver.PersonalReads,
	}, logger)
	if err != nil {
		return nil, err
	}
	customerConn, err := s.Dial(cfg.CustomerAddr, dial.WithDefaultTimeout(cfg.CustomerTimeout))
	if err != nil {
		s.Close()
		return nil, err
	}
	interactionConn, err := s.Dial(cfg.InteractionAddr, dial.WithDefaultTimeout(cfg.InteractionTimeout))
	if err != nil {
		s.Close()
		return nil, err
	}
	surveyKind, err := checkSurveys(cfg)
	if cfg.SLAAtRisk <= 0 || cfg.SLAAtRisk >= 1 {
		err = fmt.Errorf("KEHU_SLA_AT_RISK must be between 0 and 1, got %v", cfg.SLAAtRisk)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	// Survey links are guessed or hammered by nobody: a few uses per link
	// per minute, shared by the replicas through Redis.
	surveyLimiter := ratelimit.New(s.Redis().Client(), ratelimit.Config{
		Rate: cfg.SurveyRate, Burst: cfg.SurveyRate, Period: time.Minute, Namespace: "servicedesk-survey",
	}, prometheus.WrapRegistererWithPrefix("servicedesk_survey_", s.Registry))
	svc := desk.New(store.New(s.Pool, grpcserver.EncodeEvent), customerrpc.New(customerConn), followuprpc.New(interactionConn), surveyLimiter, desk.Config{
		ReopenWindow: cfg.ReopenWindow, AtRisk: cfg.SLAAtRisk, EscalationQueue: cfg.EscalationQueue, VisitDelay: cfg.VisitDelay,
		SurveyKind: surveyKind, SurveyTTL: cfg.SurveyTTL, LowScore: cfg.LowScore,
	}, nil)
	a := &App{Service: s, svc: svc}
	if cfg.FollowCustomers {
		follower := follow.New("servicedesk_customer_events", customerrpc.Events(customerConn),
			customerrpc.Consumer(svc.CustomerCursor, svc.ApplyCustomerEvents), logger, s.Registry)
		s.GoAsLeader("kehu-servicedesk-customer-follower", follower.Run)
	}
	if cfg.SLAInterval > 0 {
		s.Periodic("kehu-servicedesk-sla", "servicedesk_sla", cfg.SLAInterval, func(ctx context.Context, now time.Time) error {
			rep, err := svc.RunSLA(ctx, now)
			if rep.AtRisk+rep.Breached > 0 {
				logger.Info("SLA alerts raised", "at_risk", rep.AtRisk, "breached", rep.Breached)
			}
			return err
		})
		s.Periodic("kehu-servicedesk-visits", "servicedesk_visits", cfg.SLAInterval, func(ctx context.Context, _ time.Time) error {
			_, err := svc.DeliverVisits(ctx)
			return err
		})
	}
	sdv1.RegisterServiceDeskServiceServer(s.GRPC(), grpcserver.New(svc, s.Streamer))
	return a, nil
}

// checkSurveys validates the survey settings; it returns the survey kind
// ("" for none).
func checkSurveys(cfg Config) (string, error) {
	switch cfg.LowScore {
	case desk.LowScoreReopen, desk.LowScoreFollowUp, desk.LowScoreNothing:
	default:
		return "", fmt.Errorf("KEHU_SURVEY_LOW_SCORE must be reopen, follow-up or none, got %q", cfg.LowScore)
	}
	if cfg.SurveyTTL <= 0 || cfg.SurveyRate <= 0 {
		return "", fmt.Errorf("KEHU_SURVEY_TTL and KEHU_SURVEY_RATE_LIMIT must be positive")
	}
	switch kind := strings.ToUpper(cfg.SurveyKind); kind {
	case desk.SurveyCSAT, desk.SurveyNPS:
		return kind, nil
	case "NONE":
		return "", nil
	}
	return "", fmt.Errorf("KEHU_SURVEY_KIND must be CSAT, NPS or none, got %q", cfg.SurveyKind)
}

// DeliverVisitsOnce plans the owed complaint follow-up visits now; tests
// and operators use it.
func (a *App) DeliverVisitsOnce(ctx context.Context) (int, error) {
	return a.svc.DeliverVisits(ctx)
}

// RunSLAOnce does one pass of the SLA worker as of now; tests and
// operators use it.
func (a *App) RunSLAOnce(ctx context.Context, now time.Time) (desk.SLAReport, error) {
	return a.svc.RunSLA(ctx, now)
}

// Migrate applies the servicedesk schema's migrations.
func Migrate(ctx context.Context, databaseURL string) error {
	return service.Migrate(ctx, databaseURL, migrations.All)
}
