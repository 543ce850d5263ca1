package envelope_test

import (
	"context"
	"testing"

	"github.com/kehu-crm/kehu/pkg/envelope"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/pkg/testdb"
)

// BenchmarkSealOpen is the cost per customer row: one seal of a typical
// personal-fields record, one open, two blind indexes.
func BenchmarkSealOpen(b *testing.B) {
	k := loadB(b)
	plain := []byte(`{"emails":["wang.fang@example.com"],"phones":["+8613912345678"],"birthday":"1984-03-09","address":{"street":"88 Wensan Road","city":"Hangzhou","postal_code":"310013","country_code":"CN"}}`)
	ad := []byte("customer.customers.pii/0193a9a0-0000-7000-8000-000000000000")
	ctx := context.Background()
	for b.Loop() {
		sealed := k.Seal(plain, ad)
		if _, err := k.Open(ctx, sealed, ad); err != nil {
			b.Fatal(err)
		}
		_ = k.Index("email", "wang.fang@example.com")
		_ = k.Index("phone", "+8613912345678")
	}
}

func loadB(b *testing.B) *envelope.Keyring {
	b.Helper()
	ctx := context.Background()
	p, err := pg.Connect(ctx, testdb.New(b, pg.Migrations{Schema: "app", Sources: []pg.Source{envelope.Migrations}}), "app")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	w, err := envelope.Configured("", true)
	if err != nil {
		b.Fatal(err)
	}
	k, err := envelope.Load(ctx, p, w)
	if err != nil {
		b.Fatal(err)
	}
	return k
}
