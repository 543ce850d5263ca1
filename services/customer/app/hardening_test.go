package app

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// TestImportedCustomersHaveRealTimes: imported rows used to be stored at
// 0001-01-01, breaking ordering and time filters. New rows get the time of
// the import, or the source's create_time where the row carries one.
func TestImportedCustomersHaveRealTimes(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := e.manager(t)
	before := time.Now().Add(-time.Minute)
	since := time.Date(2019, 3, 8, 9, 30, 0, 0, time.UTC)
	stream, err := e.client.ImportCustomers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fresh := person("Fresh Import", "", "")
	fresh.ExternalId = "erp-fresh"
	old := person("Long Known", "", "")
	old.ExternalId = "erp-old"
	old.CreateTime = timestamppb.New(since)
	future := person("From The Future", "", "")
	future.ExternalId = "erp-future"
	future.CreateTime = timestamppb.New(time.Now().Add(48 * time.Hour))
	if err := stream.Send(&customerv1.ImportCustomersRequest{Customers: []*customerv1.Customer{fresh, old, future}}); err != nil {
		t.Fatal(err)
	}
	res, err := stream.CloseAndRecv()
	if err != nil || res.GetCreatedCount() != 2 || res.GetFailedCount() != 1 || res.GetErrors()[0].GetField() != "create_time" {
		t.Fatalf("import: %v %v", res, err)
	}
	list, err := e.client.ListCustomers(ctx, &customerv1.ListCustomersRequest{Filter: `create_time > "2000-01-01T00:00:00Z"`, OrderBy: "create_time"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetCustomers()) != 2 {
		t.Fatalf("time filter found %d imported customers, want 2", len(list.GetCustomers()))
	}
	got := list.GetCustomers()
	if !got[0].GetCreateTime().AsTime().Equal(since) {
		t.Errorf("source create_time not kept: %v", got[0].GetCreateTime().AsTime())
	}
	if ct, ut := got[1].GetCreateTime().AsTime(), got[1].GetUpdateTime().AsTime(); ct.Before(before) || ut.Before(before) {
		t.Errorf("new row stored at create %v, update %v", ct, ut)
	}
}

// TestImportStreamLimits: one stream is bounded in rows and in duration;
// what was merged before the limit stays.
func TestImportStreamLimits(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.ImportMaxRows, c.ImportMaxDuration = 3, 500*time.Millisecond })
	ctx := e.manager(t)
	stream, err := e.client.ImportCustomers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		c := person("Row", "", "")
		c.ExternalId = "erp-" + string(rune('a'+i))
		if err := stream.Send(&customerv1.ImportCustomersRequest{Customers: []*customerv1.Customer{c}}); err != nil {
			break // the server may already have ended the stream
		}
	}
	_, err = stream.CloseAndRecv()
	testkit.WantCode(t, err, codes.ResourceExhausted, "", "")

	// A client that goes quiet is cut off after the duration limit.
	stream, err = e.client.ImportCustomers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = stream.RecvMsg(&customerv1.ImportCustomersResponse{}) // sends nothing, waits for the answer
	testkit.WantCode(t, err, codes.DeadlineExceeded, "", "")
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("quiet import held for %s", waited)
	}
}
