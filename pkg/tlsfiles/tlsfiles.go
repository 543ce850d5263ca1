// Package tlsfiles secures gRPC between Kehu's programs with certificates
// from PEM files — the tls.crt, tls.key and ca.crt that cert-manager writes
// into a Secret — which are renewed in place: every new connection's
// handshake reads the files and uses what they hold now, so neither a
// server nor its clients restart for a rotation. A connection already open
// keeps the certificates it was made with until it closes, which
// KEHU_MAX_CONNECTION_AGE bounds.
//
// Reading on every handshake, rather than on a timer or on file events, is
// deliberate: handshakes are rare (a connection lives for minutes and
// carries many calls), the files are a few kilobytes, reading them costs
// far less than the handshake's own cryptography, and comparing content
// rather than modification times sees every change, the kubelet's swap of
// a Secret volume's symlinks included.
//
// A rotation can be caught half-way: a truncated file, a new certificate
// beside the old key. Such content is refused, the last good material stays
// in use, and the failure is logged and counted in
// kehu_tls_reload_errors_total; the next change of the files is tried again.
package tlsfiles

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/credentials"

	"github.com/kehu-crm/kehu/pkg/config"
)

// Files is one program's TLS material, reloaded as its files change.
type Files struct {
	cfg          config.TLS
	logger       *slog.Logger
	reloadErrors prometheus.Counter

	mu sync.Mutex
	// seen is the content last read, whether it loaded or not, so that
	// content that failed is reported once rather than on every handshake.
	seen contents
	// unreadable is the last error reading the files, reported once too
	// (a file missing for a while must not log on every handshake).
	unreadable string
	cur        material
}

// contents are the bytes of the files, in the order of config.TLS.
type contents [4][]byte

const (
	certPEM = iota
	keyPEM
	clientCAPEM
	caPEM
)

// material is what one version of the files makes.
type material struct {
	server, client credentials.TransportCredentials
	notAfter       time.Time
}

// New checks cfg and loads the files once, so that a wrong path or a bad
// file fails the start rather than the first connection. Its metrics are
// registered on reg when it is not nil. With nothing configured, Server and
// Client return nil: plaintext.
func New(cfg config.TLS, logger *slog.Logger, reg prometheus.Registerer) (*Files, error) {
	switch {
	case (cfg.CertFile == "") != (cfg.KeyFile == ""):
		return nil, errors.New("tls: set both KEHU_TLS_CERT_FILE and KEHU_TLS_KEY_FILE, or neither")
	case cfg.ClientCAFile != "" && cfg.CertFile == "":
		return nil, errors.New("tls: KEHU_TLS_CLIENT_CA_FILE needs KEHU_TLS_CERT_FILE and KEHU_TLS_KEY_FILE (a server asks for client certificates only over TLS)")
	case cfg.ServerName != "" && cfg.CAFile == "":
		return nil, errors.New("tls: KEHU_TLS_SERVER_NAME needs KEHU_TLS_CA_FILE (outgoing calls are plaintext without it)")
	}
	f := &Files{cfg: cfg, logger: logger, reloadErrors: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "kehu_tls_reload_errors_total",
		Help: "Changed TLS certificate, key or CA files that could not be loaded; the previous ones stay in use.",
	})}
	if cfg == (config.TLS{}) {
		return f, nil
	}
	c, err := f.read()
	if err != nil {
		return nil, err
	}
	if f.cur, err = f.build(c); err != nil {
		return nil, err
	}
	f.seen = c
	if reg == nil {
		return f, nil
	}
	collectors := []prometheus.Collector{f.reloadErrors}
	if cfg.CertFile != "" {
		// Read through current, so a scrape sees a renewal even when no
		// connection has been made since.
		collectors = append(collectors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "kehu_tls_certificate_expiry_timestamp_seconds",
			Help: "When this program's TLS certificate expires (Unix time); renewal should replace it well before.",
		}, func() float64 { return float64(f.current().notAfter.Unix()) }))
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("tls: registering metrics: %w", err)
		}
	}
	return f, nil
}

// Server returns the credentials of a gRPC server serving the current
// certificate and, with ClientCAFile, requiring a client certificate signed
// by one of those CAs; nil without a certificate (plaintext).
func (f *Files) Server() credentials.TransportCredentials {
	if f.cfg.CertFile == "" {
		return nil
	}
	return reloading{f}
}

// Client returns the credentials of outgoing calls: TLS verified against
// CAFile, presenting the certificate when there is one and the server asks;
// nil without CAFile (plaintext).
func (f *Files) Client() credentials.TransportCredentials {
	if f.cfg.CAFile == "" {
		return nil
	}
	return reloading{f}
}

// current returns the material of the files as they are now, or the last
// good material if they changed into something that does not load.
func (f *Files) current() material {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.read()
	if err != nil {
		if err.Error() == f.unreadable {
			return f.cur
		}
		f.unreadable = err.Error()
	} else {
		f.unreadable = ""
		if c.equal(f.seen) {
			return f.cur
		}
		f.seen = c
		var m material
		if m, err = f.build(c); err == nil {
			f.cur = m
			f.logger.Info("TLS files reloaded", "expires", m.notAfter)
			return f.cur
		}
	}
	f.reloadErrors.Inc()
	f.logger.Warn("TLS files changed but do not load; the previous ones stay in use", "error", err)
	return f.cur
}

func (f *Files) read() (contents, error) {
	var c contents
	for i, name := range [...]string{f.cfg.CertFile, f.cfg.KeyFile, f.cfg.ClientCAFile, f.cfg.CAFile} {
		if name == "" {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return c, fmt.Errorf("tls: %w", err)
		}
		c[i] = b
	}
	return c, nil
}

func (f *Files) build(c contents) (material, error) {
	var m material
	var certs []tls.Certificate
	if f.cfg.CertFile != "" {
		cert, err := tls.X509KeyPair(c[certPEM], c[keyPEM])
		if err != nil {
			return m, fmt.Errorf("tls: %s with %s: %w", f.cfg.CertFile, f.cfg.KeyFile, err)
		}
		certs = []tls.Certificate{cert}
		m.notAfter = cert.Leaf.NotAfter
		server := &tls.Config{Certificates: certs, MinVersion: tls.VersionTLS12}
		if f.cfg.ClientCAFile != "" {
			if server.ClientCAs, err = pool(f.cfg.ClientCAFile, c[clientCAPEM]); err != nil {
				return m, err
			}
			server.ClientAuth = tls.RequireAndVerifyClientCert
		}
		m.server = credentials.NewTLS(server)
	}
	if f.cfg.CAFile != "" {
		roots, err := pool(f.cfg.CAFile, c[caPEM])
		if err != nil {
			return m, err
		}
		m.client = credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: certs, MinVersion: tls.VersionTLS12})
	}
	return m, nil
}

func pool(name string, pem []byte) (*x509.CertPool, error) {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls: no PEM certificate in %s", name)
	}
	return p, nil
}

func (c contents) equal(o contents) bool {
	for i := range c {
		if !bytes.Equal(c[i], o[i]) {
			return false
		}
	}
	return true
}
