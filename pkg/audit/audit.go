// Package audit keeps the audit trail of the whole suite: who changed
// what, when and from where, in every service, and who read personal data
// with a privileged role.
//
// pkg/service installs the Recorder's interceptors in every service, in
// front of authentication, so a call is recorded even when it is denied.
// After each call the Recorder decides from the method name whether it is
// a mutation (anything that is not a Get, List, Search, Check, Find,
// Stream, Export or BatchGet: a new RPC is audited until someone says it
// only reads) or a read of personal data by an admin or manager (the
// service names those reads, see Methods), and appends an Entry: time,
// service, method, caller and roles, the resource named by the request or
// the answer, the NAMES of the fields the call set (never their values, so
// masked and personal data never reach the trail), the request ids, the
// gRPC code, and where the call came from.
//
// The entries of every service go to one table, audit.entries, in a
// schema no service owns (Migrations, shared by every service's
// migrations). The database keeps it append-only: a trigger refuses
// UPDATE, TRUNCATE and any DELETE but the retention pruner's (Prune), for
// any role, superusers included.
//
// A privileged caller who reads the same record again and again (a
// console refreshing, a script walking the same customers) would fill the
// trail with copies of one fact. So the first read of a resource is an
// entry of its own, as above, and the same caller's further reads of it
// through the same method, with the same result, from the same client
// address and peer, within ReadWindow of that first one are summed up in
// one more entry that says how many calls it stands for and when the first
// and the last of them finished (request ids: the last call's). That entry
// is written when the window ends, or at shutdown. Nothing is dropped: a
// read that cannot join a window (a different resource, caller, method,
// result or client; a read naming no resource, such as a list; more open
// windows than maxReadWindows) is an entry of its own.
//
// Entries are written in batches, at least every second and on shutdown,
// after the call returned: the call has committed by then, so a failed
// write cannot undo it. Failing the caller would only make them retry a
// change that happened. A batch that cannot be written is retried at the
// next flush, logged, and counted (kehu_audit_write_errors_total); entries
// that do not fit the buffer are dropped and counted
// (kehu_audit_dropped_entries_total) so that alerting sees any gap.
package audit

import (
	"embed"
	"strings"
	"time"

	"github.com/kehu-crm/kehu/pkg/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Schema holds the audit trail of every service.
const Schema = "audit"

// Migrations create the audit schema. Every service's migrations name
// them as shared (pg.Migrations.Shared), so whichever migrates first
// creates them and the others find them applied.
var Migrations = pg.Migrations{Schema: Schema, Sources: []pg.Source{{Name: "audit", FS: pg.Sub(migrationFiles, "migrations")}}}

// Kind says why a call is in the trail.
type Kind string

// The kinds, as stored.
const (
	KindMutation         Kind = "MUTATION"
	KindPersonalDataRead Kind = "PERSONAL_DATA_READ"
)

// Entry is one audited call.
type Entry struct {
	ID      int64
	Time    time.Time
	Service string
	// Method is the RPC's name, e.g. "UpdateCustomer".
	Method string
	Kind   Kind
	Actor  string
	Roles  []string
	// Resource is the resource name the call acted on, if one is known.
	Resource string
	// Fields are the names of the fields the call set; never values.
	Fields []string
	// Result is the gRPC code's name, e.g. "OK".
	Result string
	// RequestID is the call's x-request-id (as logged).
	RequestID string
	// ClientRequestID is the request's request_id field (AIP-155).
	ClientRequestID string
	// ClientAddress is the x-forwarded-for chain the gateway passed on.
	ClientAddress string
	// Peer is the network peer of the call ("inproc" in-process).
	Peer string
	// Calls is how many calls the entry stands for (0 is read as 1): more
	// for a summary of repeated personal-data reads (see coalesce.go),
	// whose first call finished at FirstCallTime and last at Time.
	Calls         int
	FirstCallTime time.Time
}

// Methods are full gRPC method names ("/kehu.customer.v1.CustomerService/
// GetCustomer"): a service's reads that answer admins and managers with
// personal data unmasked, beside its permission table.
type Methods map[string]bool

// NewMethods names methods of the gRPC service named service.
func NewMethods(service string, names ...string) Methods {
	m := make(Methods, len(names))
	for _, n := range names {
		m["/"+service+"/"+n] = true
	}
	return m
}

// readPrefixes begin the names of methods that only read (AIP-131 to 136
// and Kehu's own conventions). BatchCreate and BatchAssign are writes,
// hence the two Batch prefixes.
var readPrefixes = []string{"Get", "List", "Search", "Check", "Find", "Stream", "Watch", "Export", "BatchGet", "BatchCheck"}

// IsMutation reports whether the RPC named method (e.g. "UpdateCustomer")
// may change data. Unknown verbs count as mutations, so a new RPC is
// audited until it is named as a read.
func IsMutation(method string) bool {
	for _, p := range readPrefixes {
		if rest, ok := strings.CutPrefix(method, p); ok && (rest == "" || rest[0] >= 'A' && rest[0] <= 'Z') {
			return false
		}
	}
	return true
}
