package tlsfiles

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/dial"
	"github.com/kehu-crm/kehu/pkg/server"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// program is the TLS files of one program, in its own directory as a
// mounted Secret would be, and the Files that read them.
type program struct {
	cfg   config.TLS
	files *Files
	reg   *prometheus.Registry
}

// files lays out a program's files: its certificate (when leaf has one),
// the CAs it verifies servers with (ca, when not nil) and, with clientCA,
// the CAs whose client certificates its server requires.
func files(t *testing.T, leaf testkit.Leaf, ca, clientCA []byte) *program {
	t.Helper()
	dir := t.TempDir()
	var cfg config.TLS
	for _, f := range []struct {
		name *string
		file string
		data []byte
	}{
		{&cfg.CertFile, "tls.crt", leaf.Cert}, {&cfg.KeyFile, "tls.key", leaf.Key},
		{&cfg.CAFile, "ca.crt", ca}, {&cfg.ClientCAFile, "client-ca.crt", clientCA},
	} {
		if f.data != nil {
			*f.name = filepath.Join(dir, f.file)
			testkit.WriteFile(t, *f.name, f.data)
		}
	}
	return load(t, cfg)
}

func load(t *testing.T, cfg config.TLS) *program {
	t.Helper()
	p := &program{cfg: cfg, reg: prometheus.NewRegistry()}
	var err error
	if p.files, err = New(cfg, quiet, p.reg); err != nil {
		t.Fatal(err)
	}
	return p
}

// serve starts a Kehu gRPC server (pkg/server) with creds until the test
// ends and returns its address.
func serve(t *testing.T, creds credentials.TransportCredentials) string {
	t.Helper()
	s, err := server.New(context.Background(), server.Config{
		ServiceName: "kehu.test.v1.Test", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", ShutdownTimeout: time.Second,
	}, quiet, server.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Serve(t, s.Serve)
	return s.GRPCAddr()
}

// call makes a new connection to target (pkg/dial) with creds and a health
// check on it, and returns who issued the server's certificate.
func call(t *testing.T, target string, creds credentials.TransportCredentials) (issuer string, err error) {
	t.Helper()
	conn, err := dial.Dial(target, dial.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return check(t, conn)
}

func check(t *testing.T, conn grpc.ClientConnInterface) (issuer string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var p peer.Peer
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&p)); err != nil {
		return "", err
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		t.Fatalf("call succeeded without TLS (auth info %v)", p.AuthInfo)
	}
	return info.State.PeerCertificates[0].Issuer.CommonName, nil
}

func wantServedBy(t *testing.T, what, issuer string, err error, want string) {
	t.Helper()
	if err != nil || issuer != want {
		t.Fatalf("%s: served by %q (%v), want a certificate from %q", what, issuer, err, want)
	}
}

func wantRefused(t *testing.T, what string, err error) {
	t.Helper()
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("%s: got %v, want the connection refused (UNAVAILABLE)", what, err)
	}
}

func hourFromNow() time.Time { return time.Now().Add(time.Hour) }

func TestNothingSetIsPlaintext(t *testing.T) {
	t.Parallel()
	f, err := New(config.TLS{}, quiet, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if f.Server() != nil || f.Client() != nil {
		t.Fatal("credentials without any TLS setting")
	}
}

func TestServerTLS(t *testing.T) {
	t.Parallel()
	ca, other := testkit.NewCA(t, "kehu"), testkit.NewCA(t, "other")
	srv := files(t, ca.Issue(t, hourFromNow()), nil, nil)
	addr := serve(t, srv.files.Server())

	issuer, err := call(t, addr, files(t, testkit.Leaf{}, ca.PEM, nil).files.Client())
	wantServedBy(t, "a client trusting the CA", issuer, err, "kehu")

	_, err = call(t, addr, nil)
	wantRefused(t, "a plaintext client", err)
	_, err = call(t, addr, files(t, testkit.Leaf{}, other.PEM, nil).files.Client())
	wantRefused(t, "a client trusting another CA", err)

	// A list of addresses: each is verified against its own host.
	second := serve(t, srv.files.Server())
	issuer, err = call(t, addr+","+second, files(t, testkit.Leaf{}, ca.PEM, nil).files.Client())
	wantServedBy(t, "a list of addresses", issuer, err, "kehu")
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	ca, other := testkit.NewCA(t, "kehu"), testkit.NewCA(t, "other")
	addr := serve(t, files(t, ca.Issue(t, hourFromNow()), nil, ca.PEM).files.Server())

	_, err := call(t, addr, files(t, testkit.Leaf{}, ca.PEM, nil).files.Client())
	wantRefused(t, "a client without a certificate", err)
	_, err = call(t, addr, files(t, other.Issue(t, hourFromNow()), ca.PEM, nil).files.Client())
	wantRefused(t, "a client with a certificate from another CA", err)
	_, err = call(t, addr, files(t, ca.Issue(t, time.Now().Add(-time.Minute)), ca.PEM, nil).files.Client())
	wantRefused(t, "a client with an expired certificate", err)

	issuer, err := call(t, addr, files(t, ca.Issue(t, hourFromNow()), ca.PEM, nil).files.Client())
	wantServedBy(t, "a client with a certificate from the CA", issuer, err, "kehu")
}

// TestServerName: a certificate names the service ("customer"), not the
// address dialled; KEHU_TLS_SERVER_NAME says which name to expect.
func TestServerName(t *testing.T) {
	t.Parallel()
	ca := testkit.NewCA(t, "kehu")
	addr := serve(t, files(t, ca.Issue(t, hourFromNow(), "customer"), nil, nil).files.Server())

	client := files(t, testkit.Leaf{}, ca.PEM, nil)
	_, err := call(t, addr, client.files.Client())
	wantRefused(t, "a certificate for another name", err)

	client.cfg.ServerName = "customer"
	issuer, err := call(t, addr, load(t, client.cfg).files.Client())
	wantServedBy(t, "with KEHU_TLS_SERVER_NAME", issuer, err, "kehu")
}

// TestRotationWithoutRestart replaces every file, the CA included, under a
// running server and client: new connections use the new certificates,
// the connection already open carries on.
func TestRotationWithoutRestart(t *testing.T) {
	t.Parallel()
	oldCA, newCA := testkit.NewCA(t, "old"), testkit.NewCA(t, "new")
	srv := files(t, oldCA.Issue(t, hourFromNow()), nil, oldCA.PEM)
	addr := serve(t, srv.files.Server())
	client := files(t, oldCA.Issue(t, hourFromNow()), oldCA.PEM, nil)
	stayingOld := files(t, oldCA.Issue(t, hourFromNow()), oldCA.PEM, nil)

	open, err := dial.Dial(addr, dial.WithTransportCredentials(client.files.Client()))
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	issuer, err := check(t, open)
	wantServedBy(t, "before the rotation", issuer, err, "old")

	leaf := newCA.Issue(t, hourFromNow())
	testkit.WriteFile(t, srv.cfg.CertFile, leaf.Cert)
	testkit.WriteFile(t, srv.cfg.KeyFile, leaf.Key)
	testkit.WriteFile(t, srv.cfg.ClientCAFile, newCA.PEM)
	leaf = newCA.Issue(t, hourFromNow())
	testkit.WriteFile(t, client.cfg.CertFile, leaf.Cert)
	testkit.WriteFile(t, client.cfg.KeyFile, leaf.Key)
	testkit.WriteFile(t, client.cfg.CAFile, newCA.PEM)

	issuer, err = call(t, addr, client.files.Client())
	wantServedBy(t, "a new connection after the rotation", issuer, err, "new")
	_, err = call(t, addr, stayingOld.files.Client())
	wantRefused(t, "a client still on the old CA", err)
	issuer, err = check(t, open)
	wantServedBy(t, "the connection opened before", issuer, err, "old")
	if n := reloadErrors(t, srv.reg) + reloadErrors(t, client.reg); n != 0 {
		t.Errorf("%v reload errors", n)
	}
}

func TestExpiredCertificateRenewed(t *testing.T) {
	t.Parallel()
	ca := testkit.NewCA(t, "kehu")
	srv := files(t, ca.Issue(t, time.Now().Add(-time.Minute)), nil, nil)
	addr := serve(t, srv.files.Server())
	client := files(t, testkit.Leaf{}, ca.PEM, nil).files.Client()

	_, err := call(t, addr, client)
	wantRefused(t, "an expired server certificate", err)

	renewed := ca.Issue(t, hourFromNow())
	testkit.WriteFile(t, srv.cfg.CertFile, renewed.Cert)
	testkit.WriteFile(t, srv.cfg.KeyFile, renewed.Key)
	issuer, err := call(t, addr, client)
	wantServedBy(t, "the renewed certificate", issuer, err, "kehu")
}

// TestTornRotationKeepsLastGood: a rotation seen half-way (the new
// certificate beside the old key, then a truncated key) is refused and
// counted once per change; the old pair serves until the new one is whole.
func TestTornRotationKeepsLastGood(t *testing.T) {
	t.Parallel()
	oldCA, newCA := testkit.NewCA(t, "old"), testkit.NewCA(t, "new")
	srv := files(t, oldCA.Issue(t, hourFromNow()), nil, nil)
	addr := serve(t, srv.files.Server())
	client := files(t, testkit.Leaf{}, append(slices.Clone(oldCA.PEM), newCA.PEM...), nil).files.Client()

	leaf := newCA.Issue(t, hourFromNow())
	testkit.WriteFile(t, srv.cfg.CertFile, leaf.Cert)
	for range 3 {
		issuer, err := call(t, addr, client)
		wantServedBy(t, "with the new certificate beside the old key", issuer, err, "old")
	}
	if n := reloadErrors(t, srv.reg); n != 1 {
		t.Fatalf("%v reload errors, want 1 (once per change, not per handshake)", n)
	}
	testkit.WriteFile(t, srv.cfg.KeyFile, leaf.Key[:len(leaf.Key)/2])
	issuer, err := call(t, addr, client)
	wantServedBy(t, "with a truncated key", issuer, err, "old")
	if n := reloadErrors(t, srv.reg); n != 2 {
		t.Fatalf("%v reload errors, want 2", n)
	}

	testkit.WriteFile(t, srv.cfg.KeyFile, leaf.Key)
	issuer, err = call(t, addr, client)
	wantServedBy(t, "once the key is whole", issuer, err, "new")
	if expiry := gauge(t, srv.reg, "kehu_tls_certificate_expiry_timestamp_seconds"); expiry < float64(time.Now().Add(50*time.Minute).Unix()) {
		t.Errorf("expiry metric %v is not the new certificate's", expiry)
	}
}

// TestMissingFileReportedOnce: a file that disappears (a Secret being
// replaced) keeps the last good material, and is reported once, not on
// every handshake while it is missing.
func TestMissingFileReportedOnce(t *testing.T) {
	t.Parallel()
	ca := testkit.NewCA(t, "kehu")
	srv := files(t, ca.Issue(t, hourFromNow()), nil, nil)
	addr := serve(t, srv.files.Server())
	client := files(t, testkit.Leaf{}, ca.PEM, nil).files.Client()

	if err := os.Remove(srv.cfg.KeyFile); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		issuer, err := call(t, addr, client)
		wantServedBy(t, "with the key file missing", issuer, err, "kehu")
	}
	if n := reloadErrors(t, srv.reg); n != 1 {
		t.Fatalf("%v reload errors, want 1 (once while the file is missing)", n)
	}
}

// TestBadConfigurationFailsTheStart: wrong settings and unreadable files
// are reported by New, not by the first connection.
func TestBadConfigurationFailsTheStart(t *testing.T) {
	t.Parallel()
	ca := testkit.NewCA(t, "kehu")
	good := files(t, ca.Issue(t, hourFromNow()), ca.PEM, ca.PEM).cfg
	for name, tc := range map[string]struct {
		change func(*config.TLS)
		want   string
	}{
		"certificate without key":    {func(c *config.TLS) { c.KeyFile = "" }, "KEHU_TLS_KEY_FILE"},
		"client CA without server":   {func(c *config.TLS) { c.CertFile, c.KeyFile = "", "" }, "KEHU_TLS_CLIENT_CA_FILE"},
		"server name without CA":     {func(c *config.TLS) { c.CAFile, c.ServerName = "", "customer" }, "KEHU_TLS_SERVER_NAME"},
		"missing file":               {func(c *config.TLS) { c.CAFile += ".missing" }, "no such file"},
		"CA file without a CA":       {func(c *config.TLS) { c.CAFile = c.KeyFile }, "no PEM certificate"},
		"key of another certificate": {func(c *config.TLS) { c.KeyFile = files(t, ca.Issue(t, hourFromNow()), nil, nil).cfg.KeyFile }, "private key does not match"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			tc.change(&cfg)
			_, err := New(cfg, quiet, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func reloadErrors(t *testing.T, reg *prometheus.Registry) float64 {
	return gauge(t, reg, "kehu_tls_reload_errors_total")
}

// gauge reads the value of a counter or gauge without labels.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			m := f.GetMetric()[0]
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
