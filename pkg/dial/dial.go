// Package dial creates gRPC client connections for calls between Kehu
// services and from the gateway. Every connection:
//
//   - balances round-robin over all addresses of the backend ("host:port",
//     a comma-separated list, or "dns:///headless-service:port" which
//     resolves every pod) and skips replicas whose grpc.health.v1 status is
//     not SERVING;
//   - retries a call only when it failed with UNAVAILABLE, the one code
//     that says the request never reached the application, so retrying
//     cannot apply a change twice;
//   - puts a default deadline on unary calls that have none, so one slow
//     backend cannot pile up requests forever.
package dial

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/health" // client-side health checking
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/kehu-crm/kehu/pkg/auth"
)

// serviceConfig: round_robin with health checking, and transparent retries
// of UNAVAILABLE with capped exponential backoff.
const serviceConfig = `{
  "loadBalancingConfig": [{"round_robin": {}}],
  "healthCheckConfig": {"serviceName": ""},
  "methodConfig": [{
    "name": [{}],
    "retryPolicy": {
      "maxAttempts": 5,
      "initialBackoff": "0.05s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

// DefaultTimeout is the deadline given to unary calls without one.
const DefaultTimeout = 10 * time.Second

// Option customises Dial.
type Option func(*options)

type options struct {
	timeout time.Duration
	tokens  auth.TokenSource
	unary   []grpc.UnaryClientInterceptor
	stream  []grpc.StreamClientInterceptor
}

// WithDefaultTimeout sets the deadline of unary calls that have none.
func WithDefaultTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithTokenSource authenticates every call with a bearer token.
func WithTokenSource(src auth.TokenSource) Option { return func(o *options) { o.tokens = src } }

// WithUnaryInterceptors adds client interceptors.
func WithUnaryInterceptors(i ...grpc.UnaryClientInterceptor) Option {
	return func(o *options) { o.unary = append(o.unary, i...) }
}

// WithStreamInterceptors adds client stream interceptors.
func WithStreamInterceptors(i ...grpc.StreamClientInterceptor) Option {
	return func(o *options) { o.stream = append(o.stream, i...) }
}

var schemeSeq atomic.Int64

// Dial returns a lazily connecting client for target.
func Dial(target string, opts ...Option) (*grpc.ClientConn, error) {
	o := options{timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	target = strings.TrimSpace(target)
	if target == "" {
		return nil, fmt.Errorf("dial: empty target")
	}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithChainUnaryInterceptor(append([]grpc.UnaryClientInterceptor{deadline(o.timeout)}, o.unary...)...),
		grpc.WithChainStreamInterceptor(o.stream...),
	}
	if o.tokens != nil {
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(auth.PerRPCCredentials(o.tokens)))
	}
	if !strings.Contains(target, "://") {
		// A plain list of addresses: hand them all to the balancer through
		// a private resolver, like DNS would for a headless Service.
		var addrs []resolver.Address
		for _, a := range strings.Split(target, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, resolver.Address{Addr: a})
			}
		}
		r := manual.NewBuilderWithScheme(fmt.Sprintf("kehu%d", schemeSeq.Add(1)))
		r.InitialState(resolver.State{Addresses: addrs})
		dialOpts = append(dialOpts, grpc.WithResolvers(r))
		target = r.Scheme() + ":///" + strings.ReplaceAll(target, ",", "_")
	}
	return grpc.NewClient(target, dialOpts...)
}

func deadline(d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok && d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}
