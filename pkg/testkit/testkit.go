// Package testkit is what every Kehu service's tests share: a service
// configuration on random ports against the test Redis, serving until the
// test ends, clients, calling as a subject with roles, and assertions on
// Kehu's error model (code, ErrorInfo reason, BadRequest field), and
// certificate authorities whose certificates are written as PEM files for
// TLS. Databases come from package testdb.
package testkit

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/config"
)

// CacheKey seals the Redis values of every test service, so that
// replicas in a test share their cache as deployed replicas do.
const CacheKey = "a2VodS10ZXN0LWNhY2hlLWtleS0zMi1ieXRlcy1vayE="

// PIIKEK is the key-encryption key of the test services' personal fields.
const PIIKEK = "a2VodS10ZXN0LXBpaS1rZWstb2YtMzItYnl0ZXMtb2s="

// Secret signs test tokens (HS256).
const Secret = "test-secret-that-is-at-least-32-bytes-long"

// RedisURL is the Redis tests use: KEHU_REDIS_URL (as set by `kehuctl
// env`), else the local default.
func RedisURL() string {
	if u := os.Getenv("KEHU_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// ServiceConfig is a service configuration for tests: random ports, the
// database at dbURL, the test Redis and Secret, no rate limit, quiet logs.
func ServiceConfig(dbURL string) config.Service {
	return config.Service{
		GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		DatabaseURL: dbURL, RedisURL: RedisURL(),
		JWTIssuer: "kehu", JWTAudience: "kehu", JWTSecret: Secret, CacheKeys: CacheKey, PIIKEKs: PIIKEK,
		ShutdownTimeout: 5 * time.Second, MaxConnectionAge: time.Minute, LogLevel: "error",
	}
}

// Serve runs serve until the test ends, then stops it and fails the test if
// it did not stop cleanly.
func Serve(t testing.TB, serve func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
}

// Dial connects to addr for the rest of the test.
func Dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// Token returns a bearer token for subject with roles, signed with Secret.
func Token(t testing.TB, subject string, roles ...auth.Role) string {
	t.Helper()
	signer, err := auth.NewHS256Signer(Secret, "kehu", "kehu")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := signer.Sign(subject, roles, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// As returns a context calling as subject with roles, with a deadline that
// ends with the test.
func As(t testing.TB, subject string, roles ...auth.Role) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+Token(t, subject, roles...))
}

// WantCode asserts that err is a gRPC status with code and an ErrorInfo
// reason (reason itself when not empty) and, when field is not empty, a
// BadRequest violation naming field. It returns the status.
func WantCode(t testing.TB, err error, code codes.Code, reason, field string) *status.Status {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want %s", code)
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("error %v is not a gRPC status", err)
	}
	if st.Code() != code {
		t.Fatalf("got %s (%s), want %s", st.Code(), st.Message(), code)
	}
	info := ErrorInfo(st)
	switch {
	case info == nil || info.GetReason() == "":
		t.Errorf("status %v has no ErrorInfo with a reason", st.Proto())
	case reason != "" && info.GetReason() != reason:
		t.Errorf("reason %s, want %s (%s)", info.GetReason(), reason, st.Message())
	}
	if field != "" {
		var fields []string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					if v.GetField() == field {
						return st
					}
					fields = append(fields, v.GetField())
				}
			}
		}
		t.Errorf("no field violation for %q (have %v) in %v", field, fields, st.Message())
	}
	return st
}

// ErrorInfo returns the ErrorInfo detail of st, or nil.
func ErrorInfo(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			return i
		}
	}
	return nil
}

// RecvAll drains a server stream.
func RecvAll[T any](t testing.TB, recv func() (T, error)) []T {
	t.Helper()
	var out []T
	for {
		m, err := recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		out = append(out, m)
	}
}

// Eventually retries check until it passes or 30 s pass: for effects of
// asynchronous event followers, which on a loaded CI machine may back off
// and retry a few times before they catch up.
func Eventually(t testing.TB, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
