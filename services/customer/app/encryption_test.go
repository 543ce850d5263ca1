package app

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/pkg/testkit"
	"github.com/kehu-crm/kehu/services/customer/migrations"
)

// db opens the test database in the customer schema, to look at what the
// service stores.
func (e *env) db(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pg.Connect(context.Background(), e.dbURL, migrations.Schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// plaintextAt lists every column of the customer schema holding one of
// needles: text as text, bytea (sealed values, event payloads) as bytes.
func plaintextAt(t *testing.T, pool *pgxpool.Pool, needles ...string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = $1 ORDER BY 1, 2`, migrations.Schema)
	type column struct{ table, name, typ string }
	cols, err := pg.Collect(rows, err, func(r pgx.Row) (column, error) {
		var c column
		return c, r.Scan(&c.table, &c.name, &c.typ)
	})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, c := range cols {
		col := pgx.Identifier{c.name}.Sanitize()
		match := col + `::text ILIKE '%' || $1 || '%'`
		if c.typ == "bytea" {
			match = "position(convert_to($1, 'UTF8') in " + col + ") > 0"
		}
		for _, needle := range needles {
			var n int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{migrations.Schema, c.table}.Sanitize()+` WHERE `+match, needle).Scan(&n); err != nil {
				t.Fatalf("%s.%s: %v", c.table, c.name, err)
			}
			if n > 0 {
				found = append(found, fmt.Sprintf("%s.%s holds %q", c.table, c.name, needle))
			}
		}
	}
	return found
}

// The personal fields of a customer (e-mails, phones, birthday, street
// address) appear nowhere in the customer schema in plaintext: not in the
// customers or contacts tables, the search text, the merge snapshots or the
// outbox; consumers of the event stream still receive them.
func TestNoPersonalDataInPlaintextAtRest(t *testing.T) {
	t.Parallel()
	e := start(t)
	a := person("Wang Fang", "wang.fang@example.com", "+8613912345678")
	a.Birthday = "1984-03-09"
	a.Company = "Xixi Tea"
	a.Address = &customerv1.PostalAddress{Street: "88 Wensan Road", City: "Hangzhou", PostalCode: "310013", CountryCode: "CN"}
	ca := e.create(t, a)
	cb := e.create(t, person("Fang Wang", "fang.w@example.com", "+8613955556666"))
	e.merge(t, ca.GetName(), cb.GetName())
	stream, err := e.client.ImportCustomers(e.manager(t))
	if err != nil {
		t.Fatal(err)
	}
	imported := person("Imported Li", "imported.li@example.com", "+8613777778888")
	imported.ExternalId, imported.Birthday = "erp-9", "--12-24"
	if err := stream.Send(&customerv1.ImportCustomersRequest{Customers: []*customerv1.Customer{imported}}); err != nil {
		t.Fatal(err)
	}
	if res, err := stream.CloseAndRecv(); err != nil || res.GetCreatedCount() != 1 {
		t.Fatalf("import: %v %v", res, err)
	}

	needles := []string{"wang.fang@example.com", "13912345678", "fang.w@example.com", "13955556666",
		"imported.li@example.com", "13777778888", "1984-03-09", "Wensan Road", "310013", "12-24"}
	if found := plaintextAt(t, e.db(t), needles...); len(found) > 0 {
		t.Errorf("personal data in plaintext at rest:\n%s", strings.Join(found, "\n"))
	}

	// The event stream carries them, opened by the service.
	ctx, cancel := context.WithCancel(e.as(t, "interaction", auth.RoleService))
	defer cancel()
	events, err := e.client.StreamEvents(ctx, &customerv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := events.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var created customerv1.CustomerChangedPayload
	if err := ev.GetEvent().GetPayload().UnmarshalTo(&created); err != nil {
		t.Fatal(err)
	}
	if got := created.GetCustomer(); got.GetEmails()[0] != "wang.fang@example.com" || got.GetBirthday() != "1984-03-09" || got.GetAddress().GetStreet() != "88 Wensan Road" {
		t.Errorf("customer.created carries %v", got)
	}
	// And reads return them whole, city and country still filterable.
	resp, err := e.client.ListCustomers(e.manager(t), &customerv1.ListCustomersRequest{Filter: `city = "Hangzhou" AND phone = "13912345678"`})
	if err != nil || len(resp.GetCustomers()) != 1 || resp.GetCustomers()[0].GetAddress().GetPostalCode() != "310013" {
		t.Errorf("filter on city and phone: %v %v", resp, err)
	}
}

// A sealed value is bound to its row: one copied into another row, or
// altered, is refused (INTERNAL), never shown as the other customer's.
func TestSwappedOrTamperedPersonalFieldsRefused(t *testing.T) {
	t.Parallel()
	e := start(t)
	x := e.create(t, person("Xu", "xu@example.com", ""))
	y := e.create(t, person("Yang", "yang@example.com", ""))
	pool := e.db(t)
	ctx := context.Background()
	xid, yid := strings.TrimPrefix(x.GetName(), "customers/"), strings.TrimPrefix(y.GetName(), "customers/")
	list := func() error {
		_, err := e.client.ListCustomers(e.manager(t), &customerv1.ListCustomersRequest{})
		return err
	}
	if err := list(); err != nil {
		t.Fatal(err)
	}
	swap := `UPDATE customers a SET pii = b.pii FROM customers b WHERE (a.id, b.id) IN (($1::uuid, $2::uuid), ($2::uuid, $1::uuid))`
	if _, err := pool.Exec(ctx, swap, xid, yid); err != nil {
		t.Fatal(err)
	}
	testkit.WantCode(t, list(), codes.Internal, "", "")
	if _, err := pool.Exec(ctx, swap, xid, yid); err != nil { // swap back
		t.Fatal(err)
	}
	if err := list(); err != nil {
		t.Fatalf("after swapping back: %v", err)
	}
	if _, err := pool.Exec(ctx, `UPDATE customers SET pii = overlay(pii placing '\xff'::bytea from 30 for 1) WHERE id = $1`, xid); err != nil {
		t.Fatal(err)
	}
	testkit.WantCode(t, list(), codes.Internal, "", "")
}

// After a data key rotation and a KEK rotation (kehuctl rotate-pii-keys),
// nothing is left under the old data key or KEK, a replica configured with
// the new KEK alone reads everything, and a merge made before still
// reverses with the contacts it held.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	e := start(t)
	a := person("Zhao Lei", "zhao@example.com", "+8613911110000")
	a.Birthday = "1990-07-01"
	ca := e.create(t, a)
	cb := e.create(t, person("Lei Zhao", "lei@example.com", ""))
	e.merge(t, ca.GetName(), cb.GetName())

	newKEK := "bmV3LWtlay1mb3ItdGhlLXJvdGF0aW9uLXRlc3QtMzI="
	cfg := e.cfg
	cfg.PIIKEKs = newKEK + "," + testkit.PIIKEK
	r, err := RotateKeys(context.Background(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rewrapped != 2 || r.Customers != 2 || r.Merges != 1 || r.Events < 3 {
		t.Errorf("rotation: %+v; want 2 keys re-wrapped (the index key and the first data key: the new one is wrapped by the new KEK), 2 customers, 1 merge, every event", r)
	}
	pool := e.db(t)
	var stale, keks int
	if err := pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM customers WHERE substring(pii from 2 for 4) <> int4send($1::int)) +
		(SELECT count(*) FROM merges WHERE snapshots IS NULL OR substring(snapshots from 2 for 4) <> int4send($1::int)) +
		(SELECT count(*) FROM outbox WHERE payload IS NOT NULL AND substring(payload from 2 for 4) <> int4send($1::int)),
		(SELECT count(DISTINCT kek_id) FROM data_keys)`, int32(r.DataKey)).Scan(&stale, &keks); err != nil {
		t.Fatal(err)
	}
	if stale != 0 || keks != 1 {
		t.Errorf("after rotation %d values under an old data key, keys wrapped by %d KEKs", stale, keks)
	}
	if again, err := RotateKeys(context.Background(), cfg, false); err != nil || again.Rewrapped != 0 || again.Customers+again.Merges+again.Events != 0 {
		t.Errorf("a second pass: %+v, %v; want nothing left to do", again, err)
	}

	cfg.PIIKEKs = newKEK
	client, _ := e.boot(t, cfg)
	resp, err := client.ListCustomers(e.manager(t), &customerv1.ListCustomersRequest{Filter: `email = "zhao@example.com"`})
	if err != nil || len(resp.GetCustomers()) != 1 || resp.GetCustomers()[0].GetBirthday() != "1990-07-01" {
		t.Fatalf("read with the new KEK alone: %v %v", resp, err)
	}
	restored, err := client.UnmergeCustomer(e.manager(t), &customerv1.UnmergeCustomerRequest{Name: cb.GetName()})
	if err != nil || restored.GetCustomer().GetEmails()[0] != "lei@example.com" {
		t.Errorf("unmerge after rotation: %v %v", restored, err)
	}
}

// Rows written before encryption (pii NULL, contacts in plaintext) are
// sealed when the service starts: afterwards no plaintext is left, the
// customer is found by e-mail, and its contact is still its own.
func TestLegacyPlaintextSealedAtStart(t *testing.T) {
	t.Parallel()
	e := start(t)
	pool := e.db(t)
	ctx := context.Background()
	id := uuid.NewString()
	if _, err := pool.Exec(ctx, `
		INSERT INTO customers (id, kind, display_name, email_index, phone_index, address, birthday, source,
			lifecycle_stage, membership_tier, revision, create_time, update_time)
		VALUES ($1, 'PERSON', 'Legacy Lin', '{legacy@example.com}', '{+8613700001111}',
			'{"street": "1 Old Lane", "city": "Xiamen"}', '1970-01-02', 'OTHER', 'PROSPECT', 'BASIC', 1, now(), now())`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO contacts VALUES ('email', 'legacy@example.com', $1), ('phone', '+8613700001111', $1)`, id); err != nil {
		t.Fatal(err)
	}
	payload, err := proto.Marshal(must(anypb.New(wrapperspb.String("legacy@example.com"))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO outbox (id, type, subject, payload) VALUES (gen_random_uuid(), 'customer.created', $1, $2)`,
		"customers/"+id, payload); err != nil {
		t.Fatal(err)
	}

	client, _ := e.boot(t, e.cfg) // a restart after the upgrade
	if found := plaintextAt(t, pool, "legacy@example.com", "13700001111", "Old Lane", "1970-01-02"); len(found) > 0 {
		t.Errorf("plaintext left after start-up:\n%s", strings.Join(found, "\n"))
	}
	resp, err := client.ListCustomers(e.manager(t), &customerv1.ListCustomersRequest{Filter: `email = "legacy@example.com"`})
	if err != nil || len(resp.GetCustomers()) != 1 {
		t.Fatalf("legacy customer by e-mail: %v %v", resp, err)
	}
	got := resp.GetCustomers()[0]
	if got.GetBirthday() != "1970-01-02" || got.GetAddress().GetStreet() != "1 Old Lane" || got.GetPhones()[0] != "+8613700001111" {
		t.Errorf("legacy customer read back as %v", got)
	}
	_, err = client.CreateCustomer(e.manager(t), &customerv1.CreateCustomerRequest{Customer: person("Copy", "legacy@example.com", "")})
	testkit.WantCode(t, err, codes.AlreadyExists, "", "")
	// The legacy event streams as it was written.
	sctx, cancel := context.WithCancel(e.as(t, "interaction", auth.RoleService))
	defer cancel()
	events, err := client.StreamEvents(sctx, &customerv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := events.Recv()
	var s wrapperspb.StringValue
	if err != nil || ev.GetEvent().GetPayload().UnmarshalTo(&s) != nil || s.GetValue() != "legacy@example.com" {
		t.Errorf("legacy event: %v %v", ev, err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
