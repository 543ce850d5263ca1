package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/server"
	"github.com/kehu-crm/kehu/pkg/testkit"
	"github.com/kehu-crm/kehu/pkg/tlsfiles"
)

// TestBackendsOverMutualTLS: the gateway's calls to services that serve
// only mutual TLS succeed with KEHU_TLS_* set and fail without. /readyz
// shows it: it is ready only while every backend answers its health check.
func TestBackendsOverMutualTLS(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ca := testkit.NewCA(t, "kehu")
	files, err := tlsfiles.New(ca.MutualTLS(t), logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	backend, err := server.New(context.Background(), server.Config{
		ServiceName: "kehu.test.v1.Test", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", ShutdownTimeout: time.Second,
	}, logger, server.WithTransportCredentials(files.Server()))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Serve(t, backend.Serve)

	// ready reports whether the gateway's /readyz answers 200 within wait
	// (the first health checks may find connections still being made).
	ready := func(tls config.TLS, wait time.Duration) bool {
		a, err := New(context.Background(), Config{
			HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
			CustomerAddr: backend.GRPCAddr(), InteractionAddr: backend.GRPCAddr(),
			ServiceDeskAddr: backend.GRPCAddr(), AnalyticsAddr: backend.GRPCAddr(),
			BackendTimeout: 5 * time.Second, MaxBodyBytes: 1 << 20, ShutdownTimeout: time.Second, TLS: tls,
		}, logger)
		if err != nil {
			t.Fatal(err)
		}
		testkit.Serve(t, a.Serve)
		for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			resp, err := http.Get("http://" + a.AdminAddr() + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		return false
	}
	if !ready(ca.MutualTLS(t), 10*time.Second) {
		t.Error("with mutual TLS: /readyz never answered 200")
	}
	if ready(config.TLS{}, 2*time.Second) {
		t.Error("plaintext to services serving only TLS: /readyz answered 200")
	}
}
