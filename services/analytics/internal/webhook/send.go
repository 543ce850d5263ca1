package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// excerptBytes is how much of an answer the delivery log keeps.
const excerptBytes = 1024

// newClient is the HTTP client of every attempt: no proxy from the
// environment, no redirects (a 3xx is an answer, not a new target the
// address checks never saw), the address checked when dialled.
func newClient(t Targets, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: t.control}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// signature is the webhook-signature header: a Standard Webhooks v1
// signature with each secret that signs at now.
func signature(secrets []string, id, timestamp string, body []byte) string {
	sigs := make([]string, 0, len(secrets))
	for _, secret := range secrets {
		key, ok := secretKey(secret)
		if !ok {
			continue
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + timestamp + "."))
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}

// send POSTs body to w once and says how it went.
func (s *Service) send(ctx context.Context, w *Webhook, eventID string, body []byte) Attempt {
	now := s.now().UTC()
	timestamp := strconv.FormatInt(now.Unix(), 10)
	a := Attempt{Time: now}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.TargetURI, bytes.NewReader(body))
	if err != nil {
		a.Error = err.Error()
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Kehu-Webhooks/1")
	req.Header.Set("webhook-id", eventID)
	req.Header.Set("webhook-timestamp", timestamp)
	req.Header.Set("webhook-signature", signature(w.signingSecrets(now), eventID, timestamp, body))
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		a.Latency = time.Since(start)
		a.Error = truncate(err.Error(), 500)
		return a
	}
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, excerptBytes))
	// Read a little more so the connection can be reused, not forever.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	a.Latency = time.Since(start)
	a.StatusCode = resp.StatusCode
	a.ResponseExcerpt = strings.ToValidUTF8(string(excerpt), "\uFFFD")
	s.latency.Observe(a.Latency.Seconds())
	return a
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// delivered reports whether the target took the event.
func (a Attempt) delivered() bool { return a.StatusCode >= 200 && a.StatusCode < 300 }
