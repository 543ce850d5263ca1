package pagetoken

import (
	"strings"
	"testing"

	"github.com/kehu-crm/kehu/pkg/errs"
)

type cursor struct {
	Key string `json:"k"`
	ID  string `json:"i"`
}

func TestRoundTrip(t *testing.T) {
	tok := Encode("list\x00filter=a", cursor{Key: "Zhang", ID: "42"})
	var got cursor
	if err := Decode(tok, "list\x00filter=a", &got); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got != (cursor{Key: "Zhang", ID: "42"}) {
		t.Fatalf("cursor = %+v", got)
	}
}

func TestRejects(t *testing.T) {
	tok := Encode("q1", cursor{Key: "k", ID: "1"})
	tampered := []byte(tok)
	tampered[len(tampered)-3] ^= 1
	cases := map[string]struct{ token, query, want string }{
		"other query": {tok, "q2", "different query"},
		"not base64":  {"!!!", "q1", "malformed"},
		"too short":   {"abcd", "q1", "malformed"},
		"tampered":    {string(tampered), "q1", "not issued"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var cur cursor
			err := Decode(c.token, c.query, &cur)
			if !errs.Is(err, errs.KindInvalidArgument) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Decode = %v, want INVALID_ARGUMENT containing %q", err, c.want)
			}
		})
	}
}

func TestKeyRotationInvalidatesTokens(t *testing.T) {
	old := *key.Load()
	t.Cleanup(func() { SetKey(old) })
	tok := Encode("q", cursor{ID: "1"})
	SetKey([]byte("another key"))
	if err := Decode(tok, "q", &cursor{}); err == nil {
		t.Fatal("token signed with the old key was accepted")
	}
}

func TestSize(t *testing.T) {
	for _, c := range []struct {
		in   int32
		want int
		ok   bool
	}{{0, 50, true}, {10, 10, true}, {5000, 1000, true}, {-1, 0, false}} {
		got, err := Size(c.in, 50, 1000)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("Size(%d) = %d, %v", c.in, got, err)
		}
	}
}
