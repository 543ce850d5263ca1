package webhook

import (
	"testing"
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
func TestDialRefusesNonPublicAddresses(t *testing.T) {
	for address, ok := range map[string]bool{
		"93.184.215.14:443": true, "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443": true,
		"127.0.0.1:443": false, "10.0.0.5:443": false, "172.16.3.4:443": false, "192.168.1.1:443": false,
		"169.254.169.254:80": false, "100.64.0.1:443": false, "0.0.0.0:443": false, "[::1]:443": false,
		"[fd00::1]:443": false, "[fe80::1]:443": false, "[::ffff:127.0.0.1]:443": false, "[64:ff9b::a00:1]:443": false,
	} {
		err := Targets{}.control("tcp", address, nil)
		if (err == nil) != ok {
			t.Errorf("dial %s: %v", address, err)
		}
		if err := (Targets{AllowPrivate: true}).control("tcp", address, nil); err != nil {
			t.Errorf("dial %s with private targets allowed: %v", address, err)
		}
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
