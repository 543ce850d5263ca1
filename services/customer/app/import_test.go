package app

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// TestImportBatchOutcomesAndEvents: one batch mixing an update, a new
// customer and contact clashes of every kind. Each clash fails its row
// alone with the first clash named; every created and updated customer has
// exactly one event, and its payload is the customer as stored (the import
// builds new customers' events from the rows it copied, not by reading
// them back).
func TestImportBatchOutcomesAndEvents(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := e.manager(t)
	known := person("Known", "known@example.com", "")
	known.ExternalId = "erp-known"
	known.Attributes = map[string]string{"kept": "1", "changed": "old"}
	known = e.create(t, known)
	e.create(t, person("Owner", "owned@example.com", ""))
	before := e.eventCount(t)

	row := func(ext, email, phone string) *customerv1.Customer {
		c := person("Imported "+ext, email, phone)
		c.ExternalId = ext
		return c
	}
	update := row("erp-known", "known@example.com", "")
	update.Emails = append(update.Emails, "second@example.com")
	update.Attributes = map[string]string{"changed": "new"}
	stream, err := e.client.ImportCustomers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&customerv1.ImportCustomersRequest{Customers: []*customerv1.Customer{
		update, // row 0: updated, keeps its own e-mail
		row("erp-new", "new@example.com", "13900000001"), // row 1: created
		row("erp-owned", "owned@example.com", ""),        // row 2: another customer's e-mail
		row("erp-second", "second@example.com", ""),      // row 3: listed by row 0
		// row 4: an earlier row's phone and another customer's e-mail:
		// the owned e-mail is named.
		row("erp-both", "owned@example.com", "+8613900000001"),
		row("erp-phone", "", "+8613900000001"), // row 5: row 1's phone
	}}); err != nil {
		t.Fatal(err)
	}
	res, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if res.GetCreatedCount() != 1 || res.GetUpdatedCount() != 1 || res.GetFailedCount() != 4 {
		t.Fatalf("import: %v; want 1 created, 1 updated, 4 failed", res)
	}
	failed := map[string]string{}
	for _, er := range res.GetErrors() {
		failed[er.GetExternalId()] = er.GetField() + ": " + er.GetDescription()
	}
	want := map[string]string{
		"erp-owned":  `customer.emails: "owned@example.com" belongs to another customer`,
		"erp-second": `customer.emails: "second@example.com" is also listed by row 0 of this import`,
		"erp-both":   `customer.emails: "owned@example.com" belongs to another customer`,
		"erp-phone":  `customer.phones: "+8613900000001" is also listed by row 1 of this import`,
	}
	if diff := cmp.Diff(want, failed); diff != "" {
		t.Errorf("row errors (-want +got):\n%s", diff)
	}

	// One event per customer written, carrying it as a read returns it.
	admin := e.admin(t)
	events := e.eventsAfter(t, before)
	if len(events) != 2 {
		t.Fatalf("%d events after the import, want 2: %v", len(events), events)
	}
	types := map[string]string{}
	for _, ev := range events {
		var p customerv1.CustomerChangedPayload
		if err := ev.GetPayload().UnmarshalTo(&p); err != nil {
			t.Fatal(err)
		}
		stored, err := e.client.GetCustomer(admin, &customerv1.GetCustomerRequest{Name: p.GetCustomer().GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(stored.GetCustomer(), p.GetCustomer(), protocmp.Transform()); diff != "" {
			t.Errorf("%s event differs from the stored customer (-stored +event):\n%s", ev.GetType(), diff)
		}
		types[p.GetCustomer().GetExternalId()] = ev.GetType()
		if ext := p.GetCustomer().GetExternalId(); ext == "erp-known" {
			if p.GetCustomer().GetName() != known.GetName() || p.GetCustomer().GetAttributes()["kept"] != "1" || p.GetCustomer().GetAttributes()["changed"] != "new" {
				t.Errorf("updated customer: %v", p.GetCustomer())
			}
		}
	}
	if types["erp-known"] != "customer.updated" || types["erp-new"] != "customer.created" {
		t.Errorf("event types %v", types)
	}

	// The database owns the contacts the import claimed.
	for _, c := range []*customerv1.Customer{person("Late", "second@example.com", ""), person("Late", "", "+8613900000001")} {
		_, err := e.client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: c})
		testkit.WantCode(t, err, codes.AlreadyExists, "DUPLICATE_CUSTOMER", "")
	}
}

// eventCount is the number of events in the customer stream so far.
func (e *env) eventCount(t *testing.T) int {
	t.Helper()
	return len(e.eventsAfter(t, 0))
}

// eventsAfter returns the events of the customer stream after the first
// skip ones, reading until the stream has been quiet for a moment.
func (e *env) eventsAfter(t *testing.T, skip int) []*eventv1.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(e.as(t, "interaction", auth.RoleService))
	defer cancel()
	stream, err := e.client.StreamEvents(ctx, &customerv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *eventv1.Event, 1000)
	go func() {
		for {
			r, err := stream.Recv()
			if err != nil {
				close(got)
				return
			}
			got <- r.GetEvent()
		}
	}()
	var all []*eventv1.Event
	for {
		select {
		case ev, ok := <-got:
			if !ok {
				return all[min(skip, len(all)):]
			}
			all = append(all, ev)
		case <-time.After(500 * time.Millisecond):
			return all[min(skip, len(all)):]
		}
	}
}
