package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kehu-crm/kehu/pkg/envelope"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/pkg/testdb"
)

func pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	p, err := pg.Connect(ctx, testdb.New(t), "app")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if err := (pg.Migrations{Schema: "app", Sources: []pg.Source{envelope.Migrations}}).Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func kek(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func wrapper(t *testing.T, keks ...[]byte) *envelope.LocalWrapper {
	t.Helper()
	w, err := envelope.NewLocalWrapper(keks)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func load(t *testing.T, p *pgxpool.Pool, w envelope.KeyWrapper) *envelope.Keyring {
	t.Helper()
	k, err := envelope.Load(context.Background(), p, w)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSealOpen: a value opens for the row and column it was sealed for,
// and for nothing else: another row's binding, a flipped bit anywhere, a
// changed key id all fail.
func TestSealOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := load(t, pool(t), wrapper(t, kek(1)))
	plain := []byte(`{"emails":["ada@example.com"]}`)
	sealed := k.Seal(plain, []byte("customers.pii/1"))
	if bytes.Contains(sealed, []byte("ada@")) {
		t.Fatal("sealed value holds the plaintext")
	}
	got, err := k.Open(ctx, sealed, []byte("customers.pii/1"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(ctx, sealed, []byte("customers.pii/2")); !errors.Is(err, envelope.ErrUndecryptable) {
		t.Errorf("opened for another row: %v", err)
	}
	for i := range sealed {
		tampered := bytes.Clone(sealed)
		tampered[i] ^= 0x01
		if _, err := k.Open(ctx, tampered, []byte("customers.pii/1")); err == nil {
			t.Fatalf("byte %d flipped, still opened", i)
		}
	}
	if _, err := k.Open(ctx, sealed[:10], []byte("customers.pii/1")); err == nil {
		t.Error("truncated value opened")
	}
}

// TestRotation: after a data key rotation and a KEK rotation, values sealed
// under the first keys still open, new ones use the new data key, and once
// re-wrapped the old KEK is not needed any more.
func TestRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := pool(t)
	old := load(t, p, wrapper(t, kek(1)))
	ad := []byte("x/1")
	first := old.Seal([]byte("first"), ad)
	index := old.Index("email", "ada@example.com")
	replica := load(t, p, wrapper(t, kek(1)))

	// Data key rotation: a new key seals; the old one still opens.
	id, err := old.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second := old.Seal([]byte("second"), ad)
	if got, _ := envelope.KeyID(second); got != id {
		t.Errorf("sealed under key %d, want the new key %d", got, id)
	}
	if got, _ := envelope.KeyID(first); got == id {
		t.Error("the first value claims the new key")
	}

	// A replica that loaded before the rotation opens the new key's values.
	if got, err := replica.Open(ctx, second, ad); err != nil || string(got) != "second" {
		t.Fatalf("Open(second) = %q, %v", got, err)
	}

	// KEK rotation: the new KEK first, the old one still listed.
	both := load(t, p, wrapper(t, kek(2), kek(1)))
	n, err := both.Rewrap(ctx)
	if err != nil || n != 3 { // the index key and two data keys
		t.Fatalf("Rewrap = %d, %v; want 3 keys", n, err)
	}
	if n, err := both.Rewrap(ctx); err != nil || n != 0 {
		t.Fatalf("second Rewrap = %d, %v; want nothing left", n, err)
	}
	// Now the old KEK can go.
	fresh := load(t, p, wrapper(t, kek(2)))
	for want, sealed := range map[string][]byte{"first": first, "second": second} {
		if got, err := fresh.Open(ctx, sealed, ad); err != nil || string(got) != want {
			t.Errorf("after KEK rotation Open = %q, %v; want %q", got, err, want)
		}
	}
	if got := fresh.Index("email", "ada@example.com"); got != index {
		t.Errorf("the blind index changed with the KEK: %s, was %s", got, index)
	}
	// Without the KEK that wrapped the keys, nothing loads.
	if _, err := envelope.Load(ctx, p, wrapper(t, kek(3))); err == nil {
		t.Error("loaded the keys with an unrelated KEK")
	}
}

// TestIndex: equal values give equal indexes, kinds are separated, and a
// schema's index key is its own.
func TestIndex(t *testing.T) {
	t.Parallel()
	k := load(t, pool(t), wrapper(t, kek(1)))
	a, b := k.Index("email", "ada@example.com"), k.Index("email", "ada@example.com")
	if a != b || len(a) != 2*envelope.IndexBytes {
		t.Fatalf("indexes %q, %q", a, b)
	}
	if k.Index("phone", "ada@example.com") == a || k.Index("email", "bob@example.com") == a {
		t.Error("different kinds or values share an index")
	}
	other := load(t, pool(t), wrapper(t, kek(1)))
	if other.Index("email", "ada@example.com") == a {
		t.Error("two schemas under one KEK share an index key")
	}
}

// TestLoadConcurrently: replicas starting together agree on one first key.
func TestLoadConcurrently(t *testing.T) {
	t.Parallel()
	p := pool(t)
	w := wrapper(t, kek(1))
	rings := make([]*envelope.Keyring, 8)
	var wg sync.WaitGroup
	for i := range rings {
		wg.Go(func() {
			k, err := envelope.Load(context.Background(), p, w)
			if err != nil {
				t.Error(err)
				return
			}
			rings[i] = k
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, k := range rings[1:] {
		if k.Current() != rings[0].Current() || k.Index("e", "v") != rings[0].Index("e", "v") {
			t.Fatal("replicas disagree on the keys")
		}
	}
}

// TestConfigured: production refuses to start without a KEK of its own,
// or with the published development one; development falls back to it.
func TestConfigured(t *testing.T) {
	t.Parallel()
	own := "bmV3LWtlay1mb3ItdGhlLXJvdGF0aW9uLXRlc3QtMzI="
	for _, c := range []struct {
		keks        string
		development bool
		ok          bool
	}{
		{"", true, true},
		{"", false, false},
		{envelope.DevelopmentKEK, false, false},
		{own + "," + envelope.DevelopmentKEK, false, false},
		{own, false, true},
		{"not base64!", true, false},
		{"c2hvcnQ=", false, false}, // 5 bytes
	} {
		_, err := envelope.Configured(c.keks, c.development)
		if (err == nil) != c.ok {
			t.Errorf("Configured(%q, development %t) = %v; want ok %t", c.keks, c.development, err, c.ok)
		}
	}
}
