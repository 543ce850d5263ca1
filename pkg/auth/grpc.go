package auth

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Policy is a service's permission table: full gRPC method name
// ("/kehu.customer.v1.CustomerService/GetCustomer") to the roles allowed to
// call it. admin may call every method. A method missing from the table is
// denied to everyone but admin, so a new RPC is closed until someone decides
// who may call it.
type Policy map[string][]Role

// Allows reports whether p may call method.
func (pol Policy) Allows(method string, p Principal) bool {
	return p.Has(RoleAdmin) || p.HasAny(pol[method]...)
}

// public methods need no token: probes and API discovery.
func public(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(method, "/grpc.reflection.")
}

func (v *Verifier) authorize(ctx context.Context, method string, policy Policy) (context.Context, error) {
	if public(method) || slices.Equal(policy[method], Anyone) {
		return ctx, nil
	}
	token, err := bearer(ctx)
	if err != nil {
		return nil, err
	}
	p, err := v.Verify(token)
	if err != nil {
		return nil, err
	}
	if o, ok := ctx.Value(observerKey{}).(*Principal); ok {
		*o = p
	}
	if !policy.Allows(method, p) {
		return nil, errs.PermissionDenied("role %s may not call %s", rolesString(p.Roles), method[strings.LastIndex(method, "/")+1:])
	}
	return NewContext(ctx, p), nil
}

type observerKey struct{}

// Observe returns a context in which authorization stores the caller it
// authenticated into *p, even when it then denies the call, so that an
// interceptor running before it (the audit trail) learns who called.
func Observe(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, observerKey{}, p)
}

func bearer(ctx context.Context) (string, error) {
	values := metadata.ValueFromIncomingContext(ctx, "authorization")
	if len(values) == 0 {
		return "", errs.Unauthenticated("missing bearer token in the authorization header")
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		return "", errs.Unauthenticated("authorization header must be \"Bearer <token>\"")
	}
	return strings.TrimSpace(token), nil
}

func rolesString(roles []Role) string {
	if len(roles) == 0 {
		return "(none)"
	}
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// UnaryServerInterceptor authenticates and authorizes unary calls.
func UnaryServerInterceptor(v *Verifier, policy Policy) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := v.authorize(ctx, info.FullMethod, policy)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor authenticates and authorizes streaming calls.
func StreamServerInterceptor(v *Verifier, policy Policy) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := v.authorize(ss.Context(), info.FullMethod, policy)
		if err != nil {
			return err
		}
		return handler(srv, &principalStream{ServerStream: ss, ctx: ctx})
	}
}

type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }

// TokenSource supplies bearer tokens for outgoing calls.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a fixed token, e.g. one given to a CLI.
type StaticToken string

// Token implements TokenSource.
func (t StaticToken) Token(context.Context) (string, error) { return string(t), nil }

// ServiceTokens mints short-lived tokens with the service role for calls
// between Kehu services, renewing them well before they expire.
type ServiceTokens struct {
	signer  *Signer
	subject string

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

// serviceTokenTTL is short so a leaked token is soon useless.
const serviceTokenTTL = 10 * time.Minute

// NewServiceTokens returns a TokenSource acting as subject (the calling
// service's name).
func NewServiceTokens(signer *Signer, subject string) *ServiceTokens {
	return &ServiceTokens{signer: signer, subject: subject}
}

// Token implements TokenSource.
func (s *ServiceTokens) Token(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := time.Now(); s.token == "" || now.After(s.renewAt) {
		tok, err := s.signer.Sign(s.subject, []Role{RoleService}, serviceTokenTTL)
		if err != nil {
			return "", err
		}
		s.token, s.renewAt = tok, now.Add(serviceTokenTTL/2)
	}
	return s.token, nil
}

// PerRPCCredentials adapts a TokenSource to grpc.WithPerRPCCredentials.
// Transport security is the deployment's concern (mesh or TLS listener), so
// it is not demanded here.
func PerRPCCredentials(src TokenSource) Credentials { return Credentials{src} }

// Credentials puts a bearer token on every outgoing call.
type Credentials struct{ src TokenSource }

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (p Credentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	tok, err := p.src.Token(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (Credentials) RequireTransportSecurity() bool { return false }

// ForwardOr passes the caller's own bearer token on to the next service, so
// that service applies the caller's permissions (an agent cannot reach a
// customer through another service that they could not reach directly).
// Work without a caller (background jobs) uses fallback.
func ForwardOr(fallback TokenSource) TokenSource { return forwarding{fallback} }

type forwarding struct{ fallback TokenSource }

func (f forwarding) Token(ctx context.Context) (string, error) {
	if tok, err := bearer(ctx); err == nil {
		return tok, nil
	}
	return f.fallback.Token(ctx)
}

// FileToken reads a bearer token from a file (e.g. a projected Kubernetes
// service-account token or one written by an identity agent), re-reading
// it when it changes so rotation needs no restart.
type FileToken struct {
	path string

	mu    sync.Mutex
	mtime time.Time
	token string
}

// NewFileToken returns a TokenSource reading path.
func NewFileToken(path string) *FileToken { return &FileToken{path: path} }

// Token implements TokenSource.
func (f *FileToken) Token(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	info, err := os.Stat(f.path)
	if err != nil {
		return "", err
	}
	if f.token == "" || !info.ModTime().Equal(f.mtime) {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return "", err
		}
		f.token, f.mtime = strings.TrimSpace(string(b)), info.ModTime()
	}
	return f.token, nil
}
