package testkit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// WebhookReceiver is an integrator's endpoint for tests: it verifies
// every request's Standard Webhooks signature (against the secrets it
// trusts) and timestamp as a careful receiver would, answers what Answer
// says, and keeps the events it took (2xx) in arrival order.
type WebhookReceiver struct {
	URL string

	t        testing.TB
	mu       sync.Mutex
	secrets  []string
	answer   func(eventType string, attempt int) int
	attempts map[string]int
	taken    []map[string]any
	ids      []string
}

// NewWebhookReceiver starts a receiver that takes everything (200) until
// told otherwise; it stops when the test ends.
func NewWebhookReceiver(t testing.TB) *WebhookReceiver {
	r := &WebhookReceiver{t: t, attempts: map[string]int{}, answer: func(string, int) int { return http.StatusOK }}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// Trust adds a secret whose signatures the receiver accepts.
func (r *WebhookReceiver) Trust(secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = append(r.secrets, secret)
}

// Answer sets the status the receiver answers an event's attempt with
// (attempts count from 1 per webhook-id).
func (r *WebhookReceiver) Answer(answer func(eventType string, attempt int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = answer
}

func (r *WebhookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id, ts, sigs := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.verified(id, ts, sigs, body) {
		r.t.Errorf("webhook request %s: signature %q does not verify", id, sigs)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		r.t.Errorf("webhook request %s: timestamp %q is not now", id, ts)
	}
	var event map[string]any
	if err := json.Unmarshal(body, &event); err != nil || event["id"] != id {
		r.t.Errorf("webhook request %s: body %s (%v)", id, body, err)
	}
	r.attempts[id]++
	code := r.answer(fmt.Sprint(event["type"]), r.attempts[id])
	if code/100 == 2 {
		r.taken = append(r.taken, event)
		r.ids = append(r.ids, id)
	}
	w.WriteHeader(code)
	fmt.Fprintf(w, "answered %d", code)
}

// verified checks sigs against every trusted secret: "v1," and the base64
// HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the secret's bytes.
func (r *WebhookReceiver) verified(id, ts, sigs string, body []byte) bool {
	for _, secret := range r.secrets {
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "." + string(body)))
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if slices.Contains(strings.Fields(sigs), want) {
			return true
		}
	}
	return false
}

// Taken are the events taken, in arrival order, and their webhook-ids.
func (r *WebhookReceiver) Taken() ([]map[string]any, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.taken), slices.Clone(r.ids)
}

// Events are the type and subject of each event taken, in order.
func (r *WebhookReceiver) Events() []string {
	taken, _ := r.Taken()
	out := make([]string, len(taken))
	for i, e := range taken {
		out[i] = fmt.Sprint(e["type"], " ", e["subject"])
	}
	return out
}

// WaitFor waits up to 20 s until n events were taken and returns them.
func (r *WebhookReceiver) WaitFor(t testing.TB, what string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := r.Events()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: want %d webhook events, got %d: %v", what, n, len(got), got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
