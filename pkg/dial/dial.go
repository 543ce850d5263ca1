// Package dial creates gRPC client connections for calls between Kehu
// services and from the gateway. Every connection:
//
//   - balances round-robin over all addresses of the backend ("host:port",
//     a comma-separated list, or "dns:///headless-service:port" which
//     resolves every pod) and skips replicas whose grpc.health.v1 status is
//     not SERVING;
//   - retries a call that failed with UNAVAILABLE only when repeating it is
//     safe: reads (Get, BatchGet, List, Search, Find, Check) and mutations
//     that carry a request_id, which the server deduplicates (AIP-155).
//     UNAVAILABLE does not prove the server did nothing (a connection can
//     break after the request was handled), so a create without a request
//     id is sent once and its failure reported; with WithWaitForReady,
//     safe calls also wait for a (re)starting backend within their
//     deadline instead of failing fast;
//   - puts a default deadline on unary calls that have none, so one slow
//     backend cannot pile up requests forever;
//   - uses TLS when given transport credentials (package tlsfiles), and
//     plaintext otherwise;
//   - reaches a service of the same process in-process (LocalScheme),
//     where there is no connection to secure.
package dial

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/health" // client-side health checking
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/kehu-crm/kehu/pkg/auth"
)

// serviceConfig: round_robin with health checking. Retries are the retry
// interceptor's, per call (see retryUnlessUnsafe); gRPC's own transparent
// retry of calls that never left the client stays on.
const serviceConfig = `{
  "loadBalancingConfig": [{"round_robin": {}}],
  "healthCheckConfig": {"serviceName": ""}
}`

// maxAttempts bounds the attempts of one call; with the exponential backoff
// they span about a second, enough for a rolling restart's failover.
const maxAttempts = 5

// readPrefixes are the method-name prefixes of calls that change nothing.
var readPrefixes = []string{"Get", "BatchGet", "List", "Search", "Find", "Check"}

// DefaultTimeout is the deadline given to unary calls without one.
const DefaultTimeout = 10 * time.Second

// Option customises Dial.
type Option func(*options)

type options struct {
	waitForReady bool
	timeout      time.Duration
	tokens       auth.TokenSource
	creds        credentials.TransportCredentials
	unary        []grpc.UnaryClientInterceptor
	stream       []grpc.StreamClientInterceptor
}

// WithDefaultTimeout sets the deadline of unary calls that have none.
func WithDefaultTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithWaitForReady makes calls that are safe to retry wait, within their
// deadline, for a backend that is starting or reconnecting, rather than
// fail while the channel backs off from a refused connection: for calls
// between services, which start in any order. Web clients are better
// served a quick 503, so the gateway does not use it.
func WithWaitForReady() Option { return func(o *options) { o.waitForReady = true } }

// WithTokenSource authenticates every call with a bearer token.
func WithTokenSource(src auth.TokenSource) Option { return func(o *options) { o.tokens = src } }

// WithTransportCredentials secures network connections (TLS from package
// tlsfiles); nil, the default, is plaintext. In-process connections ignore it.
func WithTransportCredentials(c credentials.TransportCredentials) Option {
	return func(o *options) { o.creds = c }
}

// WithUnaryInterceptors adds client interceptors.
func WithUnaryInterceptors(i ...grpc.UnaryClientInterceptor) Option {
	return func(o *options) { o.unary = append(o.unary, i...) }
}

// WithStreamInterceptors adds client stream interceptors.
func WithStreamInterceptors(i ...grpc.StreamClientInterceptor) Option {
	return func(o *options) { o.stream = append(o.stream, i...) }
}

var schemeSeq atomic.Int64

// Dial returns a lazily connecting client for target, or, for a target
// of LocalScheme, an in-process one.
func Dial(target string, opts ...Option) (Conn, error) {
	o := options{timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	target = strings.TrimSpace(target)
	if target == "" {
		return nil, fmt.Errorf("dial: empty target")
	}
	if addr, ok := isLocal(target); ok {
		return dialLocal(addr, o)
	}
	creds := o.creds
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithChainUnaryInterceptor(append([]grpc.UnaryClientInterceptor{
			deadline(o.timeout),
			retryUnlessUnsafe(o.waitForReady),
			retry.UnaryClientInterceptor(
				retry.WithMax(maxAttempts),
				retry.WithCodes(codes.Unavailable),
				retry.WithBackoff(retry.BackoffExponentialWithJitter(50*time.Millisecond, 0.2)),
			),
		}, o.unary...)...),
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
				addr := resolver.Address{Addr: a}
				if o.creds != nil {
					// The private target names no host; each address's
					// certificate is checked against its own.
					addr.ServerName = a
					if host, _, err := net.SplitHostPort(a); err == nil {
						addr.ServerName = host
					}
				}
				addrs = append(addrs, addr)
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

// retryUnlessUnsafe turns retries off for a call that could apply a change
// twice: a mutation without a request id. With waitForReady, safe calls
// also wait, within their deadline, for a connection that is
// (re)connecting, instead of failing at once while the channel's
// reconnect backoff runs.
func retryUnlessUnsafe(waitForReady bool) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		switch {
		case !safeToRetry(method, req):
			opts = append(opts, retry.Disable())
		case waitForReady:
			opts = append(opts, grpc.WaitForReady(true))
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

func safeToRetry(method string, req any) bool {
	name := method[strings.LastIndexByte(method, '/')+1:]
	for _, p := range readPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	m, ok := req.(proto.Message)
	if !ok {
		return false
	}
	msg := m.ProtoReflect()
	f := msg.Descriptor().Fields().ByName("request_id")
	return f != nil && f.Kind() == protoreflect.StringKind && msg.Get(f).String() != ""
}
