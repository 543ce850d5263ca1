package app

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
)

// TestCustomerCacheCoherentAcrossReplicas: each replica answers by-id
// reads from its own memory, yet a change committed through one replica
// is what the other answers next, well within the local TTL (5 s here):
// invalidations travel over Redis pub/sub. A merged customer's id is
// answered with the survivor and not cached under it, so the survivor's
// later changes show through the old id too.
func TestCustomerCacheCoherentAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := start(t)
	other := e.replica(t)
	ctx := e.manager(t)
	c := e.create(t, person("Wang Fang", "wang.fang@example.cn", ""))
	read := func(client customerv1.CustomerServiceClient, name string) *customerv1.Customer {
		t.Helper()
		resp, err := client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Name: name})
		if err != nil {
			t.Fatalf("GetCustomer(%s): %v", name, err)
		}
		return resp.GetCustomer()
	}
	// Both replicas hold it in memory.
	for range 3 {
		read(e.client, c.GetName())
		read(other, c.GetName())
	}
	for i, title := range []string{"采购经理", "采购总监", "副总经理"} {
		writer, reader := e.client, other
		if i%2 == 1 {
			writer, reader = other, e.client
		}
		_, err := writer.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
			Customer: &customerv1.Customer{Name: c.GetName(), Title: title}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for read(reader, c.GetName()).GetTitle() != title {
			if time.Since(start) > time.Second {
				t.Fatalf("change %d not seen by the other replica after %s (in-process entry kept past an invalidation)", i, time.Since(start))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	// Merge a duplicate into c; its old id answers with c, uncached.
	dup := e.create(t, person("Wang Fang (dup)", "fang.wang@example.cn", ""))
	if _, err := e.client.MergeCustomers(ctx, &customerv1.MergeCustomersRequest{Survivor: c.GetName(), Merged: []string{dup.GetName()}}); err != nil {
		t.Fatal(err)
	}
	if got := read(other, dup.GetName()).GetName(); got != c.GetName() {
		t.Fatalf("merged id answered with %s, want the survivor %s", got, c.GetName())
	}
	if _, err := e.client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
		Customer: &customerv1.Customer{Name: c.GetName(), Title: "总经理"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
	}); err != nil {
		t.Fatal(err)
	}
	if got := read(other, dup.GetName()).GetTitle(); got != "总经理" {
		t.Errorf("through the merged id the survivor's title is %q, want the one just written", got)
	}
}
