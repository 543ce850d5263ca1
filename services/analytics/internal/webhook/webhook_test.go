package webhook

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestMatches(t *testing.T) {
	w := &Webhook{EventTypes: []string{"customer.*", "ticket.created"}}
	for eventType, want := range map[string]bool{
		"customer.created": true, "customer.purged": true, "ticket.created": true,
		"ticket.updated": false, "customers.created": false, "interaction.created": false,
	} {
		if got := w.Matches(eventType); got != want {
			t.Errorf("Matches(%q) = %v, want %v", eventType, got, want)
		}
	}
	if !(&Webhook{EventTypes: []string{"*"}}).Matches("webhook.disabled") {
		t.Error(`"*" does not match everything`)
	}
}

// The address a name resolves to is checked when dialled: a public name
// that resolves to a private address (DNS rebinding) is refused there.
// Allowing private targets opens loopback and private networks, never
// link-local ones (cloud metadata) or the unspecified address.
func TestDialRefusesNonPublicAddresses(t *testing.T) {
	for address, want := range map[string][2]bool{ // {by default, with private targets allowed}
		"93.184.215.14:443": {true, true}, "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443": {true, true},
		"127.0.0.1:443": {false, true}, "10.0.0.5:443": {false, true}, "172.16.3.4:443": {false, true}, "192.168.1.1:443": {false, true},
		"100.64.0.1:443": {false, true}, "[::1]:443": {false, true}, "[fd00::1]:443": {false, true}, "[::ffff:127.0.0.1]:443": {false, true},
		"169.254.169.254:80": {false, false}, "[fe80::1]:443": {false, false}, "0.0.0.0:443": {false, false}, "[64:ff9b::a00:1]:443": {false, false},
	} {
		for i, targets := range []Targets{{}, {AllowPrivate: true}} {
			if err := targets.control("tcp", address, nil); (err == nil) != want[i] {
				t.Errorf("dial %s (private allowed: %v): %v", address, targets.AllowPrivate, err)
			}
		}
	}
	for _, uri := range []string{"https://localhost./h", "https://LOCALHOST/h", "https://169.254.169.254/latest", "https://[::ffff:10.0.0.1]/h"} {
		if (Targets{}).check(uri) == "" {
			t.Errorf("%s accepted", uri)
		}
	}
	if why := (Targets{AllowPrivate: true}).check("https://169.254.169.254/latest"); why == "" {
		t.Error("the metadata address accepted with private targets allowed")
	}
}

// The client of every attempt refuses the dialled address itself (the
// name passed the URL check), and takes a redirect as the answer, never
// following it to a target nobody checked.
func TestClientRefusesLoopbackAndRedirects(t *testing.T) {
	var followed atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Store(true) }))
	defer elsewhere.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusFound)
	}))
	defer redirect.Close()

	_, err := newClient(Targets{}, time.Second).Post(redirect.URL, "application/json", nil)
	if err == nil || !strings.Contains(err.Error(), "not a public address") {
		t.Errorf("POST to loopback by default: %v", err)
	}
	resp, err := newClient(Targets{AllowPrivate: true}, time.Second).Post(redirect.URL, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || followed.Load() {
		t.Errorf("redirect: status %d, followed %v", resp.StatusCode, followed.Load())
	}
}

func TestSignatureWithBothSecretsDuringRotation(t *testing.T) {
	a, b := newSecret(), newSecret()
	one := signature([]string{a}, "msg_1", "1700000000", []byte(`{"x":1}`))
	two := signature([]string{a, b}, "msg_1", "1700000000", []byte(`{"x":1}`))
	if len(one) < 40 || two[:len(one)] != one || len(two) != 2*len(one)+1 {
		t.Errorf("signatures %q and %q", one, two)
	}
	// The example of the Standard Webhooks specification.
	got := signature([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
		[]byte(`{"test": 2432232314}`))
	if got != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Errorf("spec example: %s", got)
	}
}
