package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/sync/errgroup"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/dial"
)

// seedOptions are the flags of `kehuctl seed`.
type seedOptions struct {
	customers, interactions, tickets int
	seed                             uint64
	streams, workers                 int
	customerAddr, interactionAddr    string
	deskAddr                         string
	quiet                            bool
}

// seedResult is what a seed run measured, per phase.
type seedResult struct {
	customersPerSecond, interactionsPerSecond, ticketsPerSecond float64
	customers, interactions, tickets                            time.Duration
	resolve, projection                                         time.Duration
}

func runSeed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	var o seedOptions
	fs.IntVar(&o.customers, "customers", 10_000, "customers to import")
	fs.IntVar(&o.interactions, "interactions", -1, "interactions to import (default 10 per customer)")
	fs.IntVar(&o.tickets, "tickets", -1, "service desk tickets to open (default 1 per 100 customers)")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed: the same seed generates the same data, which a re-run skips")
	fs.IntVar(&o.streams, "streams", 2, "concurrent import streams per service")
	fs.IntVar(&o.workers, "workers", 16, "concurrent ticket callers")
	fs.StringVar(&o.customerAddr, "customer", envOr("KEHU_CUSTOMER_ADDR", "127.0.0.1:9101"), "customer service gRPC address")
	fs.StringVar(&o.interactionAddr, "interaction", envOr("KEHU_INTERACTION_ADDR", "127.0.0.1:9102"), "interaction service gRPC address")
	fs.StringVar(&o.deskAddr, "servicedesk", envOr("KEHU_SERVICEDESK_ADDR", "127.0.0.1:9103"), "service desk gRPC address")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if o.interactions < 0 {
		o.interactions = 10 * o.customers
	}
	if o.tickets < 0 {
		o.tickets = o.customers / 100
	}
	if o.customers <= 0 || o.streams <= 0 || o.workers <= 0 {
		return fmt.Errorf("%w: seed needs --customers, --streams and --workers above 0", errUsage)
	}
	res, err := seed(ctx, o)
	if err != nil {
		return err
	}
	logf("seed: %d customers in %s (%.0f rows/s), names resolved in %s, interaction service caught up %s later",
		o.customers, res.customers.Round(100*time.Millisecond), res.customersPerSecond, res.resolve.Round(100*time.Millisecond), res.projection.Round(100*time.Millisecond))
	logf("seed: %d interactions in %s (%.0f rows/s), %d tickets in %s (%.0f tickets/s)",
		o.interactions, res.interactions.Round(100*time.Millisecond), res.interactionsPerSecond, o.tickets, res.tickets.Round(100*time.Millisecond), res.ticketsPerSecond)
	return nil
}

// seed loads the generated data set through the services' bulk paths:
// customers by ImportCustomers, interactions by ImportInteractions once the
// interaction service knows the customers, tickets by the desk's own calls.
func seed(ctx context.Context, o seedOptions) (seedResult, error) {
	var res seedResult
	token, err := signToken("kehuctl-seed", []auth.Role{auth.RoleManager, auth.RoleService, auth.RoleAdmin}, 12*time.Hour)
	if err != nil {
		return res, err
	}
	conns := map[string]dial.Conn{}
	for _, addr := range []string{o.customerAddr, o.interactionAddr, o.deskAddr} {
		if conns[addr] != nil {
			continue
		}
		c, err := dial.Dial(addr, dial.WithTokenSource(auth.StaticToken(token)))
		if err != nil {
			return res, err
		}
		defer c.Close()
		conns[addr] = c
	}
	customers := customerv1.NewCustomerServiceClient(conns[o.customerAddr])
	interactions := interactionv1.NewInteractionServiceClient(conns[o.interactionAddr])
	desk := sdv1.NewServiceDeskServiceClient(conns[o.deskAddr])
	g := newSeedGenerator(o.seed, time.Now(), o.customers, o.interactions)

	start := time.Now()
	if err := seedCustomers(ctx, o, g, customers); err != nil {
		return res, err
	}
	res.customers = time.Since(start)
	res.customersPerSecond = float64(o.customers) / res.customers.Seconds()
	start = time.Now()
	names, err := seedNames(ctx, o, customers)
	if err != nil {
		return res, err
	}
	res.resolve = time.Since(start)
	start = time.Now()
	if o.interactions > 0 {
		if err := awaitProjection(ctx, g, names, interactions); err != nil {
			return res, err
		}
	}
	res.projection = time.Since(start)
	start = time.Now()
	if err := seedInteractions(ctx, o, g, names, interactions); err != nil {
		return res, err
	}
	res.interactions = time.Since(start)
	res.interactionsPerSecond = float64(o.interactions) / res.interactions.Seconds()
	start = time.Now()
	if err := seedTickets(ctx, o, names, desk); err != nil {
		return res, err
	}
	res.tickets = time.Since(start)
	res.ticketsPerSecond = float64(o.tickets) / res.tickets.Seconds()
	return res, nil
}

// newBar is a progress bar on stderr.
func newBar(o seedOptions, total int, what string) *progressbar.ProgressBar {
	var w io.Writer = os.Stderr
	if o.quiet {
		w = io.Discard
	}
	return progressbar.NewOptions64(int64(total), progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("kehuctl: "+what),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetWidth(30),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
}

// seedBatch is how many rows one import message carries.
const seedBatch = 1000

// seedCustomers imports the customers over o.streams concurrent streams,
// each a contiguous range of them.
func seedCustomers(ctx context.Context, o seedOptions, g *seedGenerator, client customerv1.CustomerServiceClient) error {
	bar := newBar(o, o.customers, "customers")
	defer bar.Close()
	return inRanges(ctx, o.customers, o.streams, customersPerStream, func(ctx context.Context, from, to int) error {
		stream, err := client.ImportCustomers(ctx)
		if err != nil {
			return err
		}
		for lo := from; lo < to; lo += seedBatch {
			batch := make([]*customerv1.Customer, 0, seedBatch)
			for i := lo; i < min(lo+seedBatch, to); i++ {
				batch = append(batch, g.customer(i))
			}
			if err := stream.Send(&customerv1.ImportCustomersRequest{Customers: batch}); err != nil {
				_, err = stream.CloseAndRecv() // the server's reason
				return err
			}
			_ = bar.Add(len(batch))
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			return err
		}
		return importFailed("customers", resp.GetFailedCount(), len(resp.GetErrors()), func(k int) string {
			e := resp.GetErrors()[k]
			return fmt.Sprintf("row %d (%s): %s: %s", e.GetRow(), e.GetExternalId(), e.GetField(), e.GetDescription())
		})
	})
}

// importFailed turns rejected rows into an error naming the first few:
// generated rows that fail are a defect of the generator or the service.
func importFailed(what string, failed int64, reported int, describe func(int) string) error {
	if failed == 0 {
		return nil
	}
	var first []string
	for k := range min(reported, 3) {
		first = append(first, describe(k))
	}
	return fmt.Errorf("%d %s rejected, e.g. %s", failed, what, strings.Join(first, "; "))
}

// inRanges splits [0, n) into contiguous ranges of at most most items and
// runs fn on each, parts at a time; the first error cancels the others.
// Each range is one import stream: a stream is bounded in rows and time
// (importstream.Limits), so a large seed takes several.
func inRanges(ctx context.Context, n, parts, most int, fn func(ctx context.Context, from, to int) error) error {
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(parts)
	size := min(most, (n+parts-1)/parts)
	for from := 0; from < n; from += size {
		eg.Go(func() error { return fn(ctx, from, min(from+size, n)) })
	}
	return eg.Wait()
}

// Customers per import stream: at the rates measured, a stream of either
// kind stays well within the services' default limits (a million rows,
// 30 minutes).
const (
	customersPerStream            = 100_000
	interactionCustomersPerStream = 20_000
)

// seedNames reads back the names the customer service gave the generated
// customers, by index.
func seedNames(ctx context.Context, o seedOptions, client customerv1.CustomerServiceClient) ([]string, error) {
	bar := newBar(o, o.customers, "resolving names")
	defer bar.Close()
	names := make([]string, o.customers)
	stream, err := client.ExportCustomers(ctx, &customerv1.ExportCustomersRequest{Filter: `external_id = "seed-*"`})
	if err != nil {
		return nil, err
	}
	found := 0
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, c := range chunk.GetCustomers() {
			i, err := strconv.Atoi(strings.TrimPrefix(c.GetExternalId(), "seed-"))
			if err != nil || i >= len(names) {
				continue // another run's (larger) data set
			}
			names[i] = c.GetName()
			found++
		}
		_ = bar.Add(len(chunk.GetCustomers()))
	}
	if found < len(names) {
		return nil, fmt.Errorf("the customer service knows %d of the %d generated customers", found, len(names))
	}
	return names, nil
}

// awaitProjection waits until the interaction service has followed the
// customer service's events up to the last generated customer, by
// importing that customer's first interaction until it is accepted (the
// service refuses rows of customers it does not know yet; the row is part
// of the data set, so the real import later skips it).
func awaitProjection(ctx context.Context, g *seedGenerator, names []string, client interactionv1.InteractionServiceClient) error {
	last := len(names) - 1
	for last > 0 && g.interactions[last] == 0 {
		last--
	}
	probe := g.interactionRows(last, names[last])[:1]
	deadline := time.Now().Add(30 * time.Minute)
	for {
		stream, err := client.ImportInteractions(ctx)
		if err != nil {
			return err
		}
		if err := stream.Send(&interactionv1.ImportInteractionsRequest{Interactions: probe}); err != nil {
			return err
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			return err
		}
		if resp.GetFailedCount() == 0 {
			return nil
		}
		if e := resp.GetErrors(); len(e) > 0 && e[0].GetField() != "parent" {
			return fmt.Errorf("probe interaction rejected: %s: %s", e[0].GetField(), e[0].GetDescription())
		}
		if time.Now().After(deadline) {
			return errors.New("the interaction service has not seen the imported customers after 30 minutes")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// seedInteractions imports every customer's interactions over o.streams
// concurrent streams, each for a contiguous range of customers.
func seedInteractions(ctx context.Context, o seedOptions, g *seedGenerator, names []string, client interactionv1.InteractionServiceClient) error {
	if o.interactions == 0 {
		return nil
	}
	bar := newBar(o, o.interactions, "interactions")
	defer bar.Close()
	return inRanges(ctx, len(names), o.streams, interactionCustomersPerStream, func(ctx context.Context, from, to int) error {
		stream, err := client.ImportInteractions(ctx)
		if err != nil {
			return err
		}
		batch := make([]*interactionv1.ImportedInteraction, 0, 2*seedBatch)
		send := func() error {
			if err := stream.Send(&interactionv1.ImportInteractionsRequest{Interactions: batch}); err != nil {
				_, err = stream.CloseAndRecv()
				return err
			}
			_ = bar.Add(len(batch))
			batch = batch[:0]
			return nil
		}
		for i := from; i < to; i++ {
			batch = append(batch, g.interactionRows(i, names[i])...)
			if len(batch) >= seedBatch {
				if err := send(); err != nil {
					return err
				}
			}
		}
		if len(batch) > 0 {
			if err := send(); err != nil {
				return err
			}
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			return err
		}
		return importFailed("interactions", resp.GetFailedCount(), len(resp.GetErrors()), func(k int) string {
			e := resp.GetErrors()[k]
			return fmt.Sprintf("row %d (%s): %s: %s", e.GetRow(), e.GetExternalId(), e.GetField(), e.GetDescription())
		})
	})
}

// seedTicketPlan is how one generated ticket goes: the desk's own calls
// decide its SLA outcome. Answered and resolved at once, its targets are
// met; left unanswered at urgent priority (targets of seconds), the SLA
// worker breaches it.
type seedTicketPlan struct {
	priority sdv1.Priority
	reply    bool
	steps    []sdv1.Status
}

var seedTicketPlans = []seedTicketPlan{
	{sdv1.Priority_PRIORITY_NORMAL, true, []sdv1.Status{sdv1.Status_STATUS_RESOLVED}},
	{sdv1.Priority_PRIORITY_HIGH, true, []sdv1.Status{sdv1.Status_STATUS_RESOLVED, sdv1.Status_STATUS_CLOSED}},
	{sdv1.Priority_PRIORITY_LOW, true, []sdv1.Status{sdv1.Status_STATUS_PENDING_CUSTOMER}},
	{sdv1.Priority_PRIORITY_URGENT, false, nil},
	{sdv1.Priority_PRIORITY_NORMAL, true, []sdv1.Status{sdv1.Status_STATUS_RESOLVED}},
	{sdv1.Priority_PRIORITY_NORMAL, false, nil},
	{sdv1.Priority_PRIORITY_URGENT, true, nil},
}

var seedTicketChannels = []sdv1.Channel{sdv1.Channel_CHANNEL_HOTLINE, sdv1.Channel_CHANNEL_EMAIL, sdv1.Channel_CHANNEL_ONLINE_CHAT,
	sdv1.Channel_CHANNEL_WEB_FORM, sdv1.Channel_CHANNEL_SOCIAL_MEDIA, sdv1.Channel_CHANNEL_IN_PERSON}

// seedTickets sets the desk up (as the demo does) and opens o.tickets
// tickets of every type from o.workers callers, each taken through its
// plan. Request ids make a re-run find the tickets it opened before, which
// it then leaves as they are.
func seedTickets(ctx context.Context, o seedOptions, names []string, desk sdv1.ServiceDeskServiceClient) error {
	if o.tickets == 0 {
		return nil
	}
	if err := setUpDesk(ctx, desk); err != nil {
		return err
	}
	bar := newBar(o, o.tickets, "tickets")
	defer bar.Close()
	var next atomic.Int64
	eg, ctx := errgroup.WithContext(ctx)
	for range o.workers {
		eg.Go(func() error {
			for n := int(next.Add(1) - 1); n < o.tickets; n = int(next.Add(1) - 1) {
				if err := seedTicket(ctx, o.seed, n, names, desk); err != nil {
					return err
				}
				_ = bar.Add(1)
			}
			return nil
		})
	}
	return eg.Wait()
}

func seedTicket(ctx context.Context, seed uint64, n int, names []string, desk sdv1.ServiceDeskServiceClient) error {
	g := seedGenerator{seed: seed}
	r := g.rng(n, 5)
	p := seedTicketPlans[n%len(seedTicketPlans)]
	kind := sdv1.TicketType(1 + n%5)
	subject := seedTicketSubjects[kind]
	tk, err := desk.CreateTicket(ctx, &sdv1.CreateTicketRequest{RequestId: fmt.Sprintf("seed-%d-ticket-%d", seed, n), Ticket: &sdv1.Ticket{
		Customer: names[r.IntN(len(names))], Type: kind, Channel: seedTicketChannels[r.IntN(len(seedTicketChannels))],
		Priority: p.priority, Subject: subject, Description: "Generated ticket: " + subject, Tags: []string{"seed"},
	}})
	if err != nil {
		return fmt.Errorf("ticket %d: %w", n, err)
	}
	if tk.GetTicket().GetStatus() != sdv1.Status_STATUS_NEW {
		return nil // taken through its plan by an earlier run
	}
	name := tk.GetTicket().GetName()
	if p.reply {
		if _, err := desk.CreateComment(ctx, &sdv1.CreateCommentRequest{Parent: name, Comment: &sdv1.Comment{
			Visibility: sdv1.Visibility_VISIBILITY_PUBLIC, Body: "Thank you for reaching out; we are on it."}}); err != nil {
			return fmt.Errorf("reply to %s: %w", name, err)
		}
	}
	for _, s := range p.steps {
		req := &sdv1.TransitionTicketRequest{Name: name, Status: s, ResolutionSummary: "Solved with the customer"}
		if kind == sdv1.TicketType_TICKET_TYPE_COMPLAINT {
			req.RootCause = "logistics"
		}
		if _, err := desk.TransitionTicket(ctx, req); err != nil {
			return fmt.Errorf("%s of %s: %w", s, name, err)
		}
	}
	return nil
}

var seedTicketSubjects = map[sdv1.TicketType]string{
	sdv1.TicketType_TICKET_TYPE_INQUIRY:           "Where is my order?",
	sdv1.TicketType_TICKET_TYPE_COMPLAINT:         "Late delivery again",
	sdv1.TicketType_TICKET_TYPE_AFTER_SALES:       "Tea set arrived chipped",
	sdv1.TicketType_TICKET_TYPE_TECHNICAL_SUPPORT: "Cannot log in to the shop",
	sdv1.TicketType_TICKET_TYPE_FEEDBACK:          "Loved the gift box",
}
