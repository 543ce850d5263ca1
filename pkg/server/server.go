// Package server runs a Kehu gRPC service the same way everywhere: one gRPC
// listener with health, reflection and the standard interceptor chain, and
// one admin HTTP listener with /metrics, /healthz and /readyz.
//
// The interceptor chain, outermost first:
//
//	request id → metrics → logging → error mapping → recovery → service's own (auth)
//
// so the log line and the metric see the final status code, panics become
// INTERNAL errors without leaking their text, and authentication runs before
// any handler code.
//
// Shutdown follows what a load balancer needs: health turns NOT_SERVING and
// /readyz fails, the server keeps serving for DrainDelay while the balancer
// notices, then GracefulStop lets in-flight calls finish (up to
// ShutdownTimeout) before the hard Stop.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"github.com/fullstorydev/grpchan"
	"github.com/fullstorydev/grpchan/inprocgrpc"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/kehu-crm/kehu/pkg/dial"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// Config configures a Server.
type Config struct {
	// ServiceName is the fully qualified gRPC service reported by health.
	ServiceName string
	GRPCAddr    string
	AdminAddr   string
	// ShutdownTimeout bounds GracefulStop; default 20s.
	ShutdownTimeout time.Duration
	// DrainDelay keeps serving after turning NOT_SERVING, so balancers
	// stop routing here before connections close.
	DrainDelay time.Duration
	// MaxConnectionAge closes client connections after this age (with a
	// grace period), so clients rebalance over new replicas.
	MaxConnectionAge time.Duration
	// MaxMessageBytes bounds each received and sent message; default
	// DefaultMaxMessageBytes.
	MaxMessageBytes int
}

// DefaultMaxMessageBytes is the largest gRPC message a server takes or
// sends by default: a page of 1,000 customers fits; a bulk load is
// streamed.
const DefaultMaxMessageBytes = 4 << 20

// Option customises a Server.
type Option func(*options)

type options struct {
	registry *prometheus.Registry
	creds    credentials.TransportCredentials
	unary    []grpc.UnaryServerInterceptor
	stream   []grpc.StreamServerInterceptor
}

// WithRegistry serves the service's own metrics from registry too.
func WithRegistry(r *prometheus.Registry) Option { return func(o *options) { o.registry = r } }

// WithTransportCredentials secures the gRPC listener (TLS from package
// tlsfiles); nil, the default, serves plaintext. Callers in this process
// (dial.LocalScheme) and the admin endpoints are not affected.
func WithTransportCredentials(c credentials.TransportCredentials) Option {
	return func(o *options) { o.creds = c }
}

// WithUnaryInterceptors appends unary interceptors after the standard chain.
func WithUnaryInterceptors(i ...grpc.UnaryServerInterceptor) Option {
	return func(o *options) { o.unary = append(o.unary, i...) }
}

// WithStreamInterceptors appends stream interceptors after the standard chain.
func WithStreamInterceptors(i ...grpc.StreamServerInterceptor) Option {
	return func(o *options) { o.stream = append(o.stream, i...) }
}

// Server is a gRPC service plus its admin endpoints.
type Server struct {
	cfg     Config
	logger  *slog.Logger
	grpc    *grpc.Server
	health  *health.Server
	metrics *grpcprom.ServerMetrics
	admin   *Admin
	grpcLn  net.Listener
	// local serves the same handlers, through the same interceptors, to
	// callers in this process (dial.LocalScheme).
	local     *inprocgrpc.Channel
	registrar grpc.ServiceRegistrar
	unlisten  func()
}

// New opens both listeners (so their addresses are known, even for ":0")
// and builds the gRPC server. Register services on GRPC() before Serve.
func New(ctx context.Context, cfg Config, logger *slog.Logger, opts ...Option) (*Server, error) {
	o := options{registry: prometheus.NewRegistry()}
	for _, opt := range opts {
		opt(&o)
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 20 * time.Second
	}
	s := &Server{cfg: cfg, logger: logger}

	s.metrics = grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	if err := o.registry.Register(s.metrics); err != nil {
		return nil, err
	}
	// The registry may be shared with another Server in the same process
	// (tests); the runtime collectors only need registering once.
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := o.registry.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return nil, err
		}
	}

	// The request id is added by the slog handler (see package log); what
	// is logged when is in calllog.go.
	recoverOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		logger.ErrorContext(ctx, "panic while serving a request", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return errs.Internal(fmt.Errorf("panic: %v", p))
	})
	unary := append([]grpc.UnaryServerInterceptor{
		requestIDUnary,
		s.metrics.UnaryServerInterceptor(),
		logUnary(logger),
		errorUnary(logger),
		recovery.UnaryServerInterceptor(recoverOpt),
	}, o.unary...)
	stream := append([]grpc.StreamServerInterceptor{
		requestIDStream,
		s.metrics.StreamServerInterceptor(),
		logStream(logger),
		errorStream(logger),
		recovery.StreamServerInterceptor(recoverOpt),
	}, o.stream...)

	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	serverOpts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		// Set on purpose rather than inherited: a message bounds what one
		// call can make the server buffer. Bulk data streams (imports)
		// arrive as many messages, each under the limit.
		grpc.MaxRecvMsgSize(cfg.MaxMessageBytes),
		grpc.MaxSendMsgSize(cfg.MaxMessageBytes),
		// Clients ping at most every 20s; tolerate that without GOAWAY.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
	if o.creds != nil {
		serverOpts = append(serverOpts, grpc.Creds(o.creds))
	}
	if cfg.MaxConnectionAge > 0 {
		serverOpts = append(serverOpts, grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionAge:      cfg.MaxConnectionAge,
			MaxConnectionAgeGrace: cfg.ShutdownTimeout,
		}))
	}
	s.grpc = grpc.NewServer(serverOpts...)
	s.local = new(inprocgrpc.Channel)
	s.registrar = both{s.grpc, grpchan.WithStreamInterceptors(grpchan.WithUnaryInterceptors(s.local, unary...), stream...)}
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.registrar, s.health)
	reflection.Register(s.grpc)

	var err error
	if s.grpcLn, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.GRPCAddr, err)
	}
	if s.unlisten, err = dial.RegisterLocal(s.grpcLn.Addr().String(), s.local); err != nil {
		s.grpcLn.Close()
		return nil, err
	}
	if s.admin, err = NewAdmin(cfg.AdminAddr, o.registry, logger); err != nil {
		s.unlisten()
		s.grpcLn.Close()
		return nil, err
	}
	return s, nil
}

// both registers a service on the network server and the in-process channel.
type both [2]grpc.ServiceRegistrar

func (b both) RegisterService(desc *grpc.ServiceDesc, impl any) {
	b[0].RegisterService(desc, impl)
	b[1].RegisterService(desc, impl)
}

// GRPC is where services are registered: on the network listener and for
// callers in this process (dial.LocalScheme + GRPCAddr()).
func (s *Server) GRPC() grpc.ServiceRegistrar { return s.registrar }

// GRPCAddr is the bound gRPC address.
func (s *Server) GRPCAddr() string { return s.grpcLn.Addr().String() }

// AdminAddr is the bound admin HTTP address.
func (s *Server) AdminAddr() string { return s.admin.Addr() }

// AddReadinessCheck makes /readyz fail while check fails (see Admin).
func (s *Server) AddReadinessCheck(name string, check func(context.Context) error) {
	s.admin.AddReadinessCheck(name, check)
}

// Serve serves until ctx is done, then drains and stops gracefully.
func (s *Server) Serve(ctx context.Context) error {
	s.metrics.InitializeMetrics(s.grpc)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(s.cfg.ServiceName, healthpb.HealthCheckResponse_SERVING)

	errc := make(chan error, 2)
	go func() { errc <- s.grpc.Serve(s.grpcLn) }()
	go func() {
		if err := s.admin.Serve(); err != nil {
			errc <- err
		}
	}()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}

	s.health.Shutdown() // every service NOT_SERVING, watchers told
	delay := s.cfg.DrainDelay
	if serveErr != nil {
		delay = 0
	}
	s.admin.Drain(delay)
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(s.cfg.ShutdownTimeout):
		s.logger.Warn("graceful stop timed out; closing remaining calls", "timeout", s.cfg.ShutdownTimeout.String())
		s.grpc.Stop()
		<-stopped
	}
	_ = s.admin.Shutdown()
	s.unlisten()
	return serveErr
}
