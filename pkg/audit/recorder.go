package audit

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"

	"github.com/kehu-crm/kehu/pkg/auth"
	kehulog "github.com/kehu-crm/kehu/pkg/log"
	"github.com/kehu-crm/kehu/pkg/server"
)

// Config says what a Recorder records.
type Config struct {
	// Service names the Kehu service in its entries, e.g. "customer".
	Service string
	// PersonalReads are the reads recorded when an admin or manager
	// makes them.
	PersonalReads Methods
}

// Buffering: entries wait at most FlushInterval (or until a batch is
// full) before they are written; at most bufferSize wait at once.
const (
	FlushInterval = time.Second
	batchSize     = 500
	bufferSize    = 10000
	writeTimeout  = 5 * time.Second
)

// anonymous is the actor of calls a link authorises without a token.
const anonymous = "anonymous"

// Recorder records audited calls through its interceptors and writes them
// in batches (Run).
type Recorder struct {
	pool   *pgxpool.Pool
	cfg    Config
	logger *slog.Logger

	queue chan Entry
	kick  chan struct{}
	// mu orders Record against the end of Run: once stopped, entries are
	// written one by one, so calls that still arrive in-process during
	// shutdown are not lost.
	mu      sync.Mutex
	stopped bool
	// windows are the open windows of repeated reads (coalesce.go),
	// guarded by mu.
	windows map[readKey]*readWindow
	// flushMu serialises writes; pending holds entries a failed write
	// kept for the next one.
	flushMu sync.Mutex
	pending []Entry

	classes sync.Map // full method → class

	recorded    *prometheus.CounterVec
	writeErrors prometheus.Counter
	dropped     prometheus.Counter
}

// New returns a Recorder writing through pool; its metrics go to reg.
func New(pool *pgxpool.Pool, cfg Config, logger *slog.Logger, reg prometheus.Registerer) *Recorder {
	r := &Recorder{
		pool: pool, cfg: cfg, logger: logger,
		queue: make(chan Entry, bufferSize), kick: make(chan struct{}, 1), windows: map[readKey]*readWindow{},
		recorded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kehu_audit_entries_total", Help: "Audit entries recorded, by kind.",
		}, []string{"kind"}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kehu_audit_write_errors_total", Help: "Failed writes of audit entries (each retried at the next flush).",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kehu_audit_dropped_entries_total", Help: "Audit entries lost: the buffer was full or the last write at shutdown failed.",
		}),
	}
	reg.MustRegister(r.recorded, r.writeErrors, r.dropped)
	return r
}

// class is how a method is audited, decided once per method.
type class struct {
	name     string // "UpdateCustomer"
	mutation bool
	personal bool
	skip     bool
}

func (r *Recorder) classify(fullMethod string) class {
	if c, ok := r.classes.Load(fullMethod); ok {
		return c.(class)
	}
	service, method, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	c := class{
		name: method, mutation: IsMutation(method), personal: r.cfg.PersonalReads[fullMethod],
		// Health checks and reflection are the platform's, not data.
		skip: !strings.HasPrefix(service, "kehu."),
	}
	r.classes.Store(fullMethod, c)
	return c
}

// UnaryServerInterceptor records audited unary calls. It must run before
// authentication (which it asks who the caller was, auth.Observe).
func (r *Recorder) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		c := r.classify(info.FullMethod)
		if c.skip || !c.mutation && !c.personal {
			return handler(ctx, req)
		}
		var caller auth.Principal
		resp, err := handler(auth.Observe(ctx, &caller), req)
		reqMsg, _ := req.(proto.Message)
		var respMsg proto.Message
		if err == nil {
			respMsg, _ = resp.(proto.Message)
		}
		r.record(ctx, c, caller, err, reqMsg, respMsg, true)
		return resp, err
	}
}

// StreamServerInterceptor records audited streaming calls (an import, an
// export); the resource comes from the first message received.
func (r *Recorder) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		c := r.classify(info.FullMethod)
		if c.skip || !c.mutation && !c.personal {
			return handler(srv, ss)
		}
		var caller auth.Principal
		w := &firstMessage{ServerStream: ss, ctx: auth.Observe(ss.Context(), &caller)}
		err := handler(srv, w)
		r.record(ss.Context(), c, caller, err, w.first, nil, false)
		return err
	}
}

// firstMessage keeps the first message a stream receives.
type firstMessage struct {
	grpc.ServerStream
	ctx   context.Context
	first proto.Message
}

func (s *firstMessage) Context() context.Context { return s.ctx }

func (s *firstMessage) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil && s.first == nil {
		s.first, _ = m.(proto.Message)
	}
	return err
}

func (r *Recorder) record(ctx context.Context, c class, caller auth.Principal, err error, req, resp proto.Message, fields bool) {
	code := codes.OK
	if err != nil {
		code = server.ToStatus(err).Code()
	}
	kind := KindMutation
	if !c.mutation {
		// A read is audited only when it showed personal data to a
		// privileged caller.
		if !caller.HasAny(auth.RoleAdmin, auth.RoleManager) {
			return
		}
		kind = KindPersonalDataRead
	}
	actor := caller.Subject
	if actor == "" {
		if code == codes.Unauthenticated {
			return // nobody to attribute it to; the call log has it
		}
		actor = anonymous
	}
	roles := make([]string, len(caller.Roles))
	for i, role := range caller.Roles {
		roles[i] = string(role)
	}
	e := Entry{
		Time: time.Now(), Service: r.cfg.Service, Method: c.name, Kind: kind,
		Actor: clip(actor, maxText), Roles: roles, Resource: resourceName(req, resp),
		Result: codeName(code), RequestID: kehulog.RequestID(ctx),
		ClientRequestID: clip(stringField(req, "request_id"), maxText),
		ClientAddress:   clip(forwardedFor(ctx), maxText), Peer: peerAddr(ctx),
	}
	if kind == KindMutation && fields {
		e.Fields = changedFields(req)
	}
	r.Record(e)
}

// codeName names a code as google.rpc.Code does: "PERMISSION_DENIED".
func codeName(c codes.Code) string {
	var b strings.Builder
	prev := ' '
	for _, r := range c.String() {
		if unicode.IsUpper(r) && unicode.IsLower(prev) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
		prev = r
	}
	return b.String()
}

// forwardedFor is the x-forwarded-for chain the REST gateway sets: what
// the HTTP client claimed, then the address the gateway saw.
func forwardedFor(ctx context.Context) string {
	return strings.Join(metadata.ValueFromIncomingContext(ctx, "x-forwarded-for"), ", ")
}

func peerAddr(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	if p.Addr.Network() == "inproc" {
		return "inproc"
	}
	if host, _, err := net.SplitHostPort(p.Addr.String()); err == nil {
		return host
	}
	return p.Addr.String()
}

// Record queues e for the next write, or counts it into the window of a
// read it repeats (coalesce.go). It never blocks the call: when the
// buffer is full, e is dropped and counted.
func (r *Recorder) Record(e Entry) {
	r.recorded.WithLabelValues(string(e.Kind)).Inc()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		defer cancel()
		r.write(ctx, []Entry{e})
		return
	}
	absorbed, closed := r.absorb(e)
	for _, c := range closed {
		r.enqueue(c)
	}
	if !absorbed {
		r.enqueue(e)
	}
}

// enqueue puts e in the buffer, or drops and counts it when the buffer is
// full. Callers hold r.mu.
func (r *Recorder) enqueue(e Entry) {
	select {
	case r.queue <- e:
		if len(r.queue) >= batchSize {
			select {
			case r.kick <- struct{}{}:
			default:
			}
		}
	default:
		r.dropped.Inc()
		r.logger.Error("audit buffer full; entry dropped", "method", e.Method, "actor", e.Actor)
	}
}

// Run writes queued entries every FlushInterval, or sooner when a batch
// is full, until ctx is done; then it writes what is left, the summaries
// of the open windows of repeated reads included. Calls after that are
// written as they come.
func (r *Recorder) Run(ctx context.Context) {
	ticker := time.NewTicker(FlushInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			r.mu.Lock()
			r.stopped = true
			r.mu.Unlock()
			r.endWindows(time.Time{})
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
			defer cancel()
			if err := r.Flush(final); err != nil {
				r.flushMu.Lock()
				r.dropped.Add(float64(len(r.pending)))
				r.logger.Error("audit entries lost at shutdown", "entries", len(r.pending), "error", err)
				r.pending = nil
				r.flushMu.Unlock()
			}
			return
		case now := <-ticker.C:
			r.endWindows(now)
		case <-r.kick:
		}
		_ = r.Flush(ctx)
	}
}

// Flush writes every queued entry now. On error the entries stay queued
// for the next flush (up to the buffer's size; older ones are dropped).
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	for {
		batch := r.pending
	drain:
		for len(batch) < batchSize {
			select {
			case e := <-r.queue:
				batch = append(batch, e)
			default:
				break drain
			}
		}
		if len(batch) == 0 {
			return nil
		}
		if err := r.write(ctx, batch); err != nil {
			if over := len(batch) - bufferSize; over > 0 {
				r.dropped.Add(float64(over))
				batch = batch[over:]
			}
			r.pending = batch
			return err
		}
		r.pending = nil
	}
}

// write inserts entries, logging and counting a failure.
func (r *Recorder) write(ctx context.Context, entries []Entry) error {
	err := Insert(ctx, r.pool, entries)
	if err != nil {
		r.writeErrors.Inc()
		r.logger.Error("writing audit entries failed", "entries", len(entries), "error", err)
	}
	return err
}
