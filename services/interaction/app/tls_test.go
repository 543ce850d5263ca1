package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	ipb "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/dial"
	"github.com/kehu-crm/kehu/pkg/testdb"
	"github.com/kehu-crm/kehu/pkg/testkit"
	"github.com/kehu-crm/kehu/pkg/tlsfiles"
	customerapp "github.com/kehu-crm/kehu/services/customer/app"
	customermigrations "github.com/kehu-crm/kehu/services/customer/migrations"
	"github.com/kehu-crm/kehu/services/interaction/migrations"
)

// TestMutualTLSBetweenServices: with the KEHU_TLS_* settings the customer
// and interaction services serve mutual TLS only, and the interaction
// service's own calls to the customer service (the stage snapshot of every
// interaction) go over it.
func TestMutualTLSBetweenServices(t *testing.T) {
	t.Parallel()
	ca := testkit.NewCA(t, "kehu")
	dbURL := testdb.New(t, customermigrations.All, migrations.All)
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx := context.Background()

	custCfg := customerapp.Config{
		Service: testkit.ServiceConfig(dbURL), DefaultPhoneRegion: "CN",
		MembershipTiers: "SILVER=1000,GOLD=5000,PLATINUM=20000", CacheTTL: time.Minute, PIIResealInterval: time.Hour,
	}
	custCfg.TLS = ca.MutualTLS(t)
	cust, err := customerapp.New(ctx, custCfg, logger)
	if err != nil {
		t.Fatalf("customer service: %v", err)
	}
	testkit.Serve(t, cust.Serve)
	cfg := Config{
		Service: testkit.ServiceConfig(dbURL), CustomerAddr: cust.GRPCAddr(), CustomerTimeout: 5 * time.Second,
		FollowUpGrace: 24 * time.Hour, CareTimeZone: "Asia/Shanghai", FollowCustomers: true,
	}
	cfg.TLS = ca.MutualTLS(t)
	a, err := New(ctx, cfg, logger)
	if err != nil {
		t.Fatalf("interaction service: %v", err)
	}
	testkit.Serve(t, a.Serve)

	files, err := tlsfiles.New(ca.MutualTLS(t), logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	connect := func(addr string) dial.Conn {
		conn, err := dial.Dial(addr, dial.WithTransportCredentials(files.Client()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	customers := customerv1.NewCustomerServiceClient(connect(cust.GRPCAddr()))
	interactions := ipb.NewInteractionServiceClient(connect(a.GRPCAddr()))

	c, err := customers.CreateCustomer(testkit.As(t, "mia", auth.RoleManager), &customerv1.CreateCustomerRequest{
		Customer: &customerv1.Customer{DisplayName: "Li Na", LifecycleStage: customerv1.LifecycleStage_LIFECYCLE_STAGE_REPEAT},
	})
	if err != nil {
		t.Fatalf("CreateCustomer over mutual TLS: %v", err)
	}
	got, err := interactions.CreateInteraction(testkit.As(t, "alice", auth.RoleAgent), &ipb.CreateInteractionRequest{
		Parent: c.GetCustomer().GetName(), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "Asked about delivery"),
	})
	if err != nil {
		t.Fatalf("CreateInteraction over mutual TLS: %v", err)
	}
	if got.GetInteraction().GetLifecycleStage() != customerv1.LifecycleStage_LIFECYCLE_STAGE_REPEAT {
		t.Fatalf("stage snapshot %v, want REPEAT from the customer service", got.GetInteraction().GetLifecycleStage())
	}

	// Plaintext reaches neither service.
	for name, addr := range map[string]string{"customer": cust.GRPCAddr(), "interaction": a.GRPCAddr()} {
		_, err := customerv1.NewCustomerServiceClient(testkit.Dial(t, addr)).GetCustomer(
			testkit.As(t, "mia", auth.RoleManager), &customerv1.GetCustomerRequest{Name: c.GetCustomer().GetName()})
		if status.Code(err) != codes.Unavailable {
			t.Errorf("plaintext call to the %s service: %v, want UNAVAILABLE", name, err)
		}
	}
}
