package app

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	ipb "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// importAll sends rows in messages of per rows each and returns the result.
func (e *env) importAll(ctx context.Context, per int, rows ...*ipb.ImportedInteraction) (*ipb.ImportInteractionsResponse, error) {
	stream, err := e.interactions.ImportInteractions(ctx)
	if err != nil {
		return nil, err
	}
	for len(rows) > 0 {
		n := min(per, len(rows))
		if err := stream.Send(&ipb.ImportInteractionsRequest{Interactions: rows[:n]}); err != nil {
			break // the server's reason comes with CloseAndRecv
		}
		rows = rows[n:]
	}
	return stream.CloseAndRecv()
}

// projected waits until the interaction service's projection knows every
// named customer (as a merged or purged one, too).
func (e *env) projected(t *testing.T, what string, check string, names ...string) {
	t.Helper()
	ids := make([]string, len(names))
	for n, name := range names {
		ids[n] = strings.TrimPrefix(name, "customers/")
	}
	testkit.Eventually(t, what, func() bool {
		var n int
		err := e.app.Pool.QueryRow(context.Background(), `SELECT count(*) FROM customers WHERE id = ANY($1::uuid[]) AND `+check, ids).Scan(&n)
		return err == nil && n == len(ids)
	})
}

func TestImportInteractions(t *testing.T) {
	t.Parallel()
	e := start(t)
	mgr := e.manager(t)
	survivor := e.customer(t, &customerv1.Customer{DisplayName: "Zhou Min", LifecycleStage: customerv1.LifecycleStage_LIFECYCLE_STAGE_REPEAT})
	merged := e.customer(t, &customerv1.Customer{DisplayName: "Zhou M."})
	purged := e.customer(t, &customerv1.Customer{DisplayName: "Gone Soon"})
	if _, err := e.customers.MergeCustomers(mgr, &customerv1.MergeCustomersRequest{Survivor: survivor.GetName(), Merged: []string{merged.GetName()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.customers.PurgeCustomer(e.as(t, "root", auth.RoleAdmin), &customerv1.PurgeCustomerRequest{Name: purged.GetName()}); err != nil {
		t.Fatal(err)
	}
	e.projected(t, "the merge is projected", "merged_into IS NOT NULL", merged.GetName())
	e.projected(t, "the survivor is projected", "true", survivor.GetName())
	testkit.Eventually(t, "the purge is recorded", func() bool {
		var n int
		err := e.app.Pool.QueryRow(context.Background(), `SELECT count(*) FROM erased_customers WHERE id = $1`,
			strings.TrimPrefix(purged.GetName(), "customers/")).Scan(&n)
		return err == nil && n == 1
	})

	when := time.Date(2026, 6, 18, 10, 0, 0, 0, time.UTC)
	row := func(parent, ext string, in *ipb.Interaction) *ipb.ImportedInteraction {
		if in.GetOccurTime() == nil {
			in.OccurTime = timestamppb.New(when)
		}
		return &ipb.ImportedInteraction{Parent: parent, ExternalId: ext, Interaction: in}
	}
	first := row(survivor.GetName(), "erp-1", purchase("88.50", "CNY"))
	first.LifecycleStage = customerv1.LifecycleStage_LIFECYCLE_STAGE_FIRST_PURCHASE
	badTouchpoint := call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "x")
	badTouchpoint.Touchpoint = "touchpoints/nowhere"
	rows := []*ipb.ImportedInteraction{
		first, // 0: stage as the source knew it
		row(survivor.GetName(), "erp-2", call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "Asked for a catalogue")), // 1: current stage
		row(merged.GetName(), "erp-3", call(ipb.InteractionKind_INTERACTION_KIND_FEEDBACK, "Merged away")),            // 2: lands on the survivor
		row("customers/0190c1f0-0000-7000-8000-000000000001", "erp-4", call(ipb.InteractionKind_INTERACTION_KIND_NOTE, "?")),
		row(purged.GetName(), "erp-5", call(ipb.InteractionKind_INTERACTION_KIND_NOTE, "erased")),
		row(survivor.GetName(), "erp-6", badTouchpoint),
		row(survivor.GetName(), "", call(ipb.InteractionKind_INTERACTION_KIND_NOTE, "no id")),
		row(survivor.GetName(), "erp-2", call(ipb.InteractionKind_INTERACTION_KIND_NOTE, "same id again")),
		row(survivor.GetName(), "erp-9", purchase("-1", "CNY")),
		row("people/1", "erp-10", call(ipb.InteractionKind_INTERACTION_KIND_NOTE, "bad parent")),
	}
	// Two rows per message and a batch per call: errors carry the row's
	// place in the whole import.
	res, err := e.importAll(mgr, 2, rows...)
	if err != nil {
		t.Fatal(err)
	}
	if res.GetReceivedCount() != 10 || res.GetCreatedCount() != 3 || res.GetSkippedCount() != 0 || res.GetFailedCount() != 7 {
		t.Fatalf("import result %v", res)
	}
	var got []string
	for _, e := range res.GetErrors() {
		got = append(got, fmt.Sprintf("%d %q %s: %s", e.GetRow(), e.GetExternalId(), e.GetField(), e.GetDescription()))
	}
	slices.Sort(got)
	want := []string{
		`3 "erp-4" parent: customer customers/0190c1f0-0000-7000-8000-000000000001 does not exist`,
		fmt.Sprintf(`4 "erp-5" parent: customer %s does not exist`, purged.GetName()),
		`5 "erp-6" interaction.touchpoint: touchpoint "touchpoints/nowhere" does not exist`,
		`6 "" external_id: is required for import (a re-run skips rows imported before by it)`,
		`7 "erp-2" external_id: repeats row 1 of this import`,
		`8 "erp-9" interaction.amount.amount: must be a positive decimal like "1299.90" with at most 4 decimals, got "-1"`,
		`9 "erp-10" parent: must be "customers/{id}", got "people/1"`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("import errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	list, err := e.interactions.ListInteractions(mgr, &ipb.ListInteractionsRequest{Parent: survivor.GetName(), PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]customerv1.LifecycleStage{}
	for _, i := range list.GetInteractions() {
		stages[i.GetSubject()+"/"+i.GetSummary()] = i.GetLifecycleStage()
	}
	wantStages := map[string]customerv1.LifecycleStage{
		"/":                          customerv1.LifecycleStage_LIFECYCLE_STAGE_FIRST_PURCHASE,
		"Call/Asked for a catalogue": customerv1.LifecycleStage_LIFECYCLE_STAGE_REPEAT,
		"Call/Merged away":           customerv1.LifecycleStage_LIFECYCLE_STAGE_REPEAT,
	}
	if !maps.Equal(wantStages, stages) {
		t.Fatalf("imported interactions of the survivor: %v, want %v", stages, wantStages)
	}
	var events int
	if err := e.app.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE type = 'interaction.created'`).Scan(&events); err != nil || events != 3 {
		t.Fatalf("%d interaction.created events, want 3 (%v)", events, err)
	}

	// A re-run of the same import skips what the first stored (and the
	// repeat of a stored id with it).
	res, err = e.importAll(mgr, 100, rows...)
	if err != nil {
		t.Fatal(err)
	}
	if res.GetCreatedCount() != 0 || res.GetSkippedCount() != 4 || res.GetFailedCount() != 6 {
		t.Fatalf("re-run: %v", res)
	}
	if err := e.app.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE type = 'interaction.created'`).Scan(&events); err != nil || events != 3 {
		t.Fatalf("re-run emitted events: %d (%v)", events, err)
	}

	// Agents, whose reach is their own customers, may not import.
	_, err = e.importAll(e.as(t, "alice", auth.RoleAgent), 1, rows[1])
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")
}

func TestImportInteractionsBounded(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.ImportMaxRows = 3 })
	c := e.customer(t, &customerv1.Customer{DisplayName: "Bounded"})
	e.projected(t, "the customer is projected", "true", c.GetName())
	rows := make([]*ipb.ImportedInteraction, 4)
	for n := range rows {
		rows[n] = &ipb.ImportedInteraction{Parent: c.GetName(), ExternalId: fmt.Sprint("bounded-", n), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_NOTE, "n")}
	}
	_, err := e.importAll(e.manager(t), 2, rows...)
	testkit.WantCode(t, err, codes.ResourceExhausted, "IMPORT_TOO_LARGE", "")
}
