package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	auditv1 "github.com/kehu-crm/kehu/pkg/api/kehu/audit/v1"
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/pkg/testdb"
)

func TestIsMutation(t *testing.T) {
	t.Parallel()
	for method, want := range map[string]bool{
		"GetCustomer": false, "ListCustomers": false, "SearchCustomers": false, "ExportCustomers": false,
		"BatchGetCustomers": false, "BatchCheckMembership": false, "CheckMembership": false,
		"FindDuplicates": false, "StreamEvents": false, "GetPublicSurvey": false,
		"CreateCustomer": true, "UpdateCustomer": true, "DeleteCustomer": true, "UndeleteCustomer": true,
		"PurgeCustomer": true, "MergeCustomers": true, "UnmergeCustomer": true, "ImportCustomers": true,
		"BatchCreateInteractions": true, "BatchAssignAccountManager": true, "AssignTicket": true,
		"TransitionTicket": true, "EscalateTicket": true, "CompleteFollowUp": true, "RunReport": true,
		"RecomputeAll": true, "AnswerSurvey": true, "RedeliverEvent": true, "PingWebhook": true,
		"AdjustPoints": true,
		// A verb that only starts like a read is not one.
		"Getaway": true, "Listen": true, "SomethingNew": true,
	} {
		if got := IsMutation(method); got != want {
			t.Errorf("IsMutation(%s) = %v, want %v", method, got, want)
		}
	}
}

// secrets are the values the requests below carry; no audit column may
// hold them.
var secrets = []string{"alice@example.com", "+8613800138000", "1990-01-02", "Alice Secret"}

func TestFieldsNameNeverValues(t *testing.T) {
	t.Parallel()
	customer := &customerv1.Customer{
		Name: "customers/c1", DisplayName: secrets[3], Emails: []string{secrets[0]}, Phones: []string{secrets[1]},
		Birthday: secrets[2], Attributes: map[string]string{"vip": "yes"},
	}
	for name, tc := range map[string]struct {
		req          proto.Message
		resp         proto.Message
		wantResource string
		wantFields   []string
	}{
		"update mask": {
			req:          &customerv1.UpdateCustomerRequest{Customer: customer, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"emails", "phones"}}, RequestId: "r1"},
			wantResource: "customers/c1", wantFields: []string{"emails", "phones"},
		},
		"update without mask": {
			req:          &customerv1.UpdateCustomerRequest{Customer: customer},
			wantResource: "customers/c1", wantFields: []string{"attributes", "birthday", "display_name", "emails", "phones"},
		},
		"create: the fields given, the name from the answer": {
			req:          &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: secrets[3], Emails: []string{secrets[0]}}, RequestId: "r2"},
			resp:         &customerv1.CreateCustomerResponse{Customer: &customerv1.Customer{Name: "customers/new", DisplayName: secrets[3]}},
			wantResource: "customers/new", wantFields: []string{"display_name", "emails"},
		},
		"a read of what a customer's record implies: the customer": {
			req:          &analyticsv1.GetCustomerSegmentsRequest{Customer: "customers/c1"},
			wantResource: "customers/c1", wantFields: []string{"customer"},
		},
		"other change: the request's own fields": {
			req:          &customerv1.AssignAccountManagerRequest{Name: "customers/c1", AccountManager: "bob", Etag: "e", RequestId: "r3"},
			wantResource: "customers/c1", wantFields: []string{"account_manager"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := resourceName(tc.req, tc.resp); got != tc.wantResource {
				t.Errorf("resource = %q, want %q", got, tc.wantResource)
			}
			got := changedFields(tc.req)
			if diff := cmp.Diff(tc.wantFields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			for _, f := range got {
				for _, s := range secrets {
					if strings.Contains(f, s) {
						t.Errorf("field %q holds the value %q", f, s)
					}
				}
			}
		})
	}
}

const (
	issuer   = "kehu"
	audience = "kehu"
)

// harness is a Recorder in front of real authentication, on a database
// holding the audit schema.
type harness struct {
	pool     *pgxpool.Pool
	rec      *Recorder
	reg      *prometheus.Registry
	verifier *auth.Verifier
	signer   *auth.Signer
	policy   auth.Policy
}

const testService = "kehu.customer.v1.CustomerService"

func start(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	url := testdb.New(t, Migrations)
	// A service's pool: its search_path is its own schema, not audit.
	pool, err := pg.Connect(ctx, url, "customer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	verifier, err := auth.NewVerifier(ctx, auth.Config{Issuer: issuer, Audience: audience, HS256Secret: auth.DevelopmentSecret, Development: true})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := auth.NewHS256Signer(auth.DevelopmentSecret, issuer, audience)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	return &harness{
		pool: pool, reg: reg, verifier: verifier, signer: signer,
		rec: New(pool, Config{Service: "customer", PersonalReads: NewMethods(testService, "GetCustomer")},
			slog.New(slog.NewTextHandler(io.Discard, nil)), reg),
		policy: auth.NewPolicy(testService, map[string][]auth.Role{
			"GetCustomer": auth.Readers, "UpdateCustomer": auth.Writers, "ListLifecycleTransitions": auth.Readers,
		}),
	}
}

// call runs handler for method as subject with role, through the
// recorder and authentication, as pkg/service chains them.
func (h *harness) call(t *testing.T, subject string, role auth.Role, method string, req proto.Message, handler grpc.UnaryHandler) error {
	t.Helper()
	md := metadata.Pairs("x-forwarded-for", "203.0.113.7, 127.0.0.1")
	if subject != "" {
		tok, err := h.signer.Sign(subject, []auth.Role{role}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		md.Set("authorization", "Bearer "+tok)
	}
	ctx := metadata.NewIncomingContext(context.Background(), md)
	info := &grpc.UnaryServerInfo{FullMethod: "/" + testService + "/" + method}
	authn := auth.UnaryServerInterceptor(h.verifier, h.policy)
	_, err := h.rec.UnaryServerInterceptor()(ctx, req, info, func(ctx context.Context, req any) (any, error) {
		return authn(ctx, req, info, handler)
	})
	return err
}

func (h *harness) entries(t *testing.T, filter string) []*auditv1.AuditEntry {
	t.Helper()
	if err := h.rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := NewServer(h.pool).ListAuditEntries(context.Background(), &auditv1.ListAuditEntriesRequest{Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetAuditEntries()
}

func ok(resp proto.Message) grpc.UnaryHandler {
	return func(context.Context, any) (any, error) { return resp, nil }
}

func TestRecordsMutationsAndPersonalReads(t *testing.T) {
	t.Parallel()
	h := start(t)
	update := &customerv1.UpdateCustomerRequest{
		Customer:   &customerv1.Customer{Name: "customers/c1", Emails: []string{secrets[0]}, Phones: []string{secrets[1]}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"emails", "phones"}}, RequestId: "retry-1",
	}
	if err := h.call(t, "alice", auth.RoleAgent, "UpdateCustomer", update, ok(&customerv1.UpdateCustomerResponse{Customer: update.Customer})); err != nil {
		t.Fatal(err)
	}
	// A failed change is recorded with its code; a denied one too.
	if err := h.call(t, "alice", auth.RoleAgent, "UpdateCustomer", update, func(context.Context, any) (any, error) {
		return nil, errs.NotFound("customers/c1")
	}); err == nil {
		t.Fatal("want an error")
	}
	if err := h.call(t, "vera", auth.RoleViewer, "UpdateCustomer", update, ok(nil)); err == nil {
		t.Fatal("want PERMISSION_DENIED")
	}
	// Nobody to attribute: not recorded.
	_ = h.call(t, "", "", "UpdateCustomer", update, ok(nil))
	// Personal reads by a manager count; by an agent, or reads of no
	// personal data, do not.
	get := &customerv1.GetCustomerRequest{Name: "customers/c1"}
	for _, c := range []struct {
		subject string
		role    auth.Role
		method  string
	}{{"mia", auth.RoleManager, "GetCustomer"}, {"alice", auth.RoleAgent, "GetCustomer"}, {"mia", auth.RoleManager, "ListLifecycleTransitions"}} {
		if err := h.call(t, c.subject, c.role, c.method, get, ok(&customerv1.GetCustomerResponse{})); err != nil {
			t.Fatal(err)
		}
	}

	got := h.entries(t, "")
	type row struct{ Actor, Method, Kind, Resource, Fields, Result, ClientRequestID, Client string }
	var rows []row
	for _, e := range got {
		rows = append(rows, row{e.GetActor(), e.GetMethod(), e.GetKind().String(), e.GetResource(), strings.Join(e.GetFields(), ","),
			e.GetResult(), e.GetClientRequestId(), e.GetClientAddress()})
		if e.GetService() != "customer" || e.GetTime() == nil {
			t.Errorf("entry %v: service or time missing", e)
		}
		for _, s := range secrets {
			if strings.Contains(e.String(), s) {
				t.Errorf("entry %v holds the value %q", e, s)
			}
		}
	}
	const client = "203.0.113.7, 127.0.0.1"
	want := []row{ // newest first
		{"mia", "GetCustomer", "KIND_PERSONAL_DATA_READ", "customers/c1", "", "OK", "", client},
		{"vera", "UpdateCustomer", "KIND_MUTATION", "customers/c1", "emails,phones", "PERMISSION_DENIED", "retry-1", client},
		{"alice", "UpdateCustomer", "KIND_MUTATION", "customers/c1", "emails,phones", "NOT_FOUND", "retry-1", client},
		{"alice", "UpdateCustomer", "KIND_MUTATION", "customers/c1", "emails,phones", "OK", "retry-1", client},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if roles := got[0].GetRoles(); !slices.Equal(roles, []string{"manager"}) {
		t.Errorf("roles = %v", roles)
	}

	// Filters and pages.
	if n := len(h.entries(t, `actor = "alice" AND result != "OK"`)); n != 1 {
		t.Errorf("alice's failures: %d entries, want 1", n)
	}
	if n := len(h.entries(t, `kind = PERSONAL_DATA_READ AND fields:emails`)); n != 0 {
		t.Errorf("reads with fields: %d", n)
	}
	srv := NewServer(h.pool)
	var names []string
	req := &auditv1.ListAuditEntriesRequest{PageSize: 3, Filter: `time >= "2000-01-01T00:00:00Z"`}
	for {
		resp, err := srv.ListAuditEntries(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range resp.GetAuditEntries() {
			names = append(names, e.GetName())
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	if len(names) != 4 || names[0] != got[0].GetName() || names[3] != got[3].GetName() {
		t.Errorf("paged names %v, want those of %v", names, got)
	}
	if _, err := srv.ListAuditEntries(context.Background(), &auditv1.ListAuditEntriesRequest{Filter: `result = NOT_A_CODE`}); !errs.Is(err, errs.KindInvalidArgument) {
		t.Errorf("bad filter: %v", err)
	}
}

// The trail is append-only for the service's own pool, superuser or not.
func TestAppendOnly(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := context.Background()
	if err := Insert(ctx, h.pool, []Entry{{Time: time.Now(), Service: "customer", Method: "UpdateCustomer", Kind: KindMutation, Actor: "alice", Result: "OK"}}); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`UPDATE audit.entries SET actor = 'mallory'`,
		`DELETE FROM audit.entries`,
		`TRUNCATE audit.entries`,
		// Pruning is refused for anything less than a day old.
		`SELECT audit.prune(now())`,
	} {
		_, err := h.pool.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" && pgErr.Code != "22023" {
			t.Errorf("%s: err = %v, want it refused", sql, err)
		}
	}
	var actor string
	if err := h.pool.QueryRow(ctx, `SELECT actor FROM audit.entries`).Scan(&actor); err != nil || actor != "alice" {
		t.Errorf("entry after the attempts: %q, %v", actor, err)
	}
}

func TestPruneKeepsRetention(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := context.Background()
	now := time.Now()
	day := 24 * time.Hour
	var entries []Entry
	for _, age := range []time.Duration{500 * day, 401 * day, 399 * day, time.Hour} {
		entries = append(entries, Entry{Time: now.Add(-age), Service: "customer", Method: "CreateCustomer", Kind: KindMutation, Actor: age.String(), Result: "OK"})
	}
	if err := Insert(ctx, h.pool, entries); err != nil {
		t.Fatal(err)
	}
	n, err := Prune(ctx, h.pool, now.Add(-400*day))
	if err != nil || n != 2 {
		t.Fatalf("Prune = %d, %v; want the 2 entries older than 400 days", n, err)
	}
	var left int
	if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM audit.entries`).Scan(&left); err != nil || left != 2 {
		t.Errorf("%d entries left (%v), want 2", left, err)
	}
	// The pruner's mark does not outlive its own call.
	if _, err := h.pool.Exec(ctx, `DELETE FROM audit.entries`); err == nil {
		t.Error("DELETE after pruning was allowed")
	}
}

// Entries still queued when the service stops are written, and calls
// that arrive after that are written at once.
func TestRunFlushesOnShutdown(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.rec.Run(ctx); close(done) }()
	h.rec.Record(Entry{Time: time.Now(), Service: "customer", Method: "CreateCustomer", Kind: KindMutation, Actor: "queued", Result: "OK"})
	cancel()
	<-done
	h.rec.Record(Entry{Time: time.Now(), Service: "customer", Method: "CreateCustomer", Kind: KindMutation, Actor: "late", Result: "OK"})
	var n int
	if err := h.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit.entries WHERE actor IN ('queued', 'late')`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d entries written (%v), want 2", n, err)
	}
}

// A write that fails is counted and retried; the caller's call is not
// failed by it.
func TestFailedWriteIsCountedAndRetried(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := context.Background()
	if _, err := h.pool.Exec(ctx, `ALTER TABLE audit.entries RENAME TO entries_away`); err != nil {
		t.Fatal(err)
	}
	update := &customerv1.UpdateCustomerRequest{Customer: &customerv1.Customer{Name: "customers/c1"}}
	if err := h.call(t, "alice", auth.RoleAgent, "UpdateCustomer", update, ok(&customerv1.UpdateCustomerResponse{})); err != nil {
		t.Fatalf("the call failed with the trail: %v", err)
	}
	if err := h.rec.Flush(ctx); err == nil {
		t.Fatal("Flush to a missing table succeeded")
	}
	if n := testutil.ToFloat64(h.rec.writeErrors); n != 1 {
		t.Errorf("kehu_audit_write_errors_total = %v, want 1", n)
	}
	if _, err := h.pool.Exec(ctx, `ALTER TABLE audit.entries_away RENAME TO entries`); err != nil {
		t.Fatal(err)
	}
	if got := h.entries(t, `actor = "alice"`); len(got) != 1 {
		t.Errorf("after the retry: %d entries, want 1", len(got))
	}
}

// A caller's repeats of a personal-data read within ReadWindow of the
// recorded one are one more entry that says how many calls it stands for;
// anything that differs is an entry of its own, and nothing is lost at
// shutdown.
func TestRepeatedReadsAreSummedUp(t *testing.T) {
	t.Parallel()
	h := start(t)
	get := func(name string) *customerv1.GetCustomerRequest { return &customerv1.GetCustomerRequest{Name: name} }
	read := func(subject, name string, handler grpc.UnaryHandler) {
		t.Helper()
		_ = h.call(t, subject, auth.RoleManager, "GetCustomer", get(name), handler)
	}
	notFound := func(context.Context, any) (any, error) { return nil, errs.NotFound("customers/c1") }
	before := time.Now()
	for range 5 {
		read("mia", "customers/c1", ok(&customerv1.GetCustomerResponse{}))
	}
	read("mia", "customers/c2", ok(&customerv1.GetCustomerResponse{}))
	read("max", "customers/c1", ok(&customerv1.GetCustomerResponse{}))
	read("mia", "customers/c1", notFound)
	read("mia", "customers/c1", notFound)

	type row struct {
		Actor, Resource, Result string
		Calls                   int32
		First                   bool
	}
	rows := func() []row {
		var out []row
		for _, e := range h.entries(t, `kind = PERSONAL_DATA_READ`) {
			out = append(out, row{e.GetActor(), e.GetResource(), e.GetResult(), e.GetCallCount(), e.GetFirstCallTime() != nil})
			if e.GetFirstCallTime() != nil && (e.GetFirstCallTime().AsTime().Before(before) || e.GetFirstCallTime().AsTime().After(e.GetTime().AsTime())) {
				t.Errorf("entry %v: first call after the last", e)
			}
		}
		return out
	}
	// Until the window ends, each distinct read is there once.
	want := []row{ // newest first
		{"mia", "customers/c1", "NOT_FOUND", 1, false},
		{"max", "customers/c1", "OK", 1, false},
		{"mia", "customers/c2", "OK", 1, false},
		{"mia", "customers/c1", "OK", 1, false},
	}
	if diff := cmp.Diff(want, rows()); diff != "" {
		t.Errorf("entries before the window ended (-want +got):\n%s", diff)
	}
	h.rec.endWindows(time.Now().Add(ReadWindow))
	// A summary is dated by the last call it stands for.
	want = []row{
		{"mia", "customers/c1", "NOT_FOUND", 1, false}, // one repeat: a summary of one call
		{"mia", "customers/c1", "NOT_FOUND", 1, false},
		{"max", "customers/c1", "OK", 1, false},
		{"mia", "customers/c2", "OK", 1, false},
		{"mia", "customers/c1", "OK", 4, true},
		{"mia", "customers/c1", "OK", 1, false},
	}
	if diff := cmp.Diff(want, rows()); diff != "" {
		t.Errorf("entries after the window ended (-want +got):\n%s", diff)
	}

	// A repeat after the window is recorded on its own and closes the
	// window's summary; the summaries still open are written at shutdown.
	base := time.Now().Add(time.Hour)
	entry := func(at time.Duration, requestID string) Entry {
		return Entry{Time: base.Add(at), Service: "customer", Method: "GetCustomer", Kind: KindPersonalDataRead,
			Actor: "ivy", Roles: []string{"admin"}, Resource: "customers/c3", Result: "OK", RequestID: requestID}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.rec.Run(ctx); close(done) }()
	for i, at := range []time.Duration{0, 10 * time.Second, 30 * time.Second, ReadWindow + time.Second, ReadWindow + 2*time.Second} {
		h.rec.Record(entry(at, fmt.Sprint("r", i)))
	}
	cancel()
	<-done
	type call struct {
		RequestID string
		Calls     int
		At, First time.Duration
	}
	var calls []call
	r, err := h.pool.Query(context.Background(), `SELECT request_id, call_count, time, coalesce(first_call_time, time) FROM audit.entries WHERE actor = 'ivy' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var c call
		var at, first time.Time
		if err := r.Scan(&c.RequestID, &c.Calls, &at, &first); err != nil {
			t.Fatal(err)
		}
		c.At, c.First = at.Sub(base).Round(time.Second), first.Sub(base).Round(time.Second)
		calls = append(calls, c)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	wantCalls := []call{
		{"r0", 1, 0, 0},
		{"r2", 2, 30 * time.Second, 10 * time.Second},
		{"r3", 1, ReadWindow + time.Second, ReadWindow + time.Second},
		{"r4", 1, ReadWindow + 2*time.Second, ReadWindow + 2*time.Second},
	}
	if diff := cmp.Diff(wantCalls, calls); diff != "" {
		t.Errorf("ivy's entries (-want +got):\n%s", diff)
	}
}
