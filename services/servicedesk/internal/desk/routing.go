package desk

import (
	"context"
	"slices"
	"time"
)

// matches reports whether a routing or policy list admits value: an empty
// list admits anything.
func matches(list []string, value string) bool {
	return len(list) == 0 || slices.Contains(list, value)
}

// route picks the queue of a new ticket: the first queue in routing order
// whose rule matches; else, for a complaint, the complaint queue; else the
// first queue without a rule (the catch-all); else none.
func route(queues []*Queue, t *Ticket) string {
	for _, q := range queues {
		if q.Routes() && matches(q.RouteTypes, t.Type) && matches(q.RouteChannels, t.Channel) && matches(q.RouteValueTiers, t.ValueTier) {
			return q.ID
		}
	}
	if t.Type == TypeComplaint {
		for _, q := range queues {
			if q.ComplaintQueue {
				return q.ID
			}
		}
	}
	for _, q := range queues {
		if !q.Routes() && !q.ComplaintQueue {
			return q.ID
		}
	}
	return ""
}

// autoAssign picks the available member of a queue with the fewest active
// tickets; among equals, the next one after the member last picked (round
// robin). The queue row is locked for the rest of the transaction, so
// concurrent creates on any replica take turns and counts stay true.
func autoAssign(ctx context.Context, tx Tx, queueID string) (string, error) {
	q, err := tx.LockQueue(ctx, queueID)
	if err != nil {
		return "", err
	}
	var available []string
	for _, m := range q.Members {
		if m.Available {
			available = append(available, m.User)
		}
	}
	if len(available) == 0 {
		return "", nil
	}
	counts, err := tx.OpenTickets(ctx, available)
	if err != nil {
		return "", err
	}
	fewest := counts[available[0]]
	for _, u := range available {
		fewest = min(fewest, counts[u])
	}
	last, err := tx.LastAssigned(ctx, queueID)
	if err != nil {
		return "", err
	}
	// Start after the last pick, wrapping around.
	start := slices.Index(available, last) + 1
	for i := range available {
		u := available[(start+i)%len(available)]
		if counts[u] == fewest {
			return u, tx.SetLastAssigned(ctx, queueID, u)
		}
	}
	// Unreachable: some member has the fewest tickets.
	return available[0], tx.SetLastAssigned(ctx, queueID, available[0])
}

// policyFor returns the policy covering t: the matching one of lowest
// precedence (policies come sorted), or nil.
func policyFor(policies []*Policy, t *Ticket) *Policy {
	for _, p := range policies {
		if matches(p.Priorities, t.Priority) && matches(p.Types, t.Type) && matches(p.ValueTiers, t.ValueTier) {
			return p
		}
	}
	return nil
}

// applyPolicy (re)targets t's clocks to the policy now covering it,
// keeping business time already spent: a new priority re-targets the
// open clocks. old is the calendar the clocks ran on so far (nil for a
// new ticket).
func applyPolicy(t *Ticket, p *Policy, old *Calendar, now time.Time) error {
	for _, c := range []*Clock{&t.FirstResponse, &t.Resolution} {
		if old != nil {
			c.settle(old, now)
		}
	}
	if p == nil {
		t.PolicyID = ""
		t.FirstResponse = Clock{Elapsed: t.FirstResponse.Elapsed, Stop: t.FirstResponse.Stop}
		t.Resolution = Clock{Elapsed: t.Resolution.Elapsed, Stop: t.Resolution.Stop}
		return nil
	}
	t.PolicyID = p.ID
	paused := t.Status == StatusPendingCustomer
	for c, target := range map[*Clock]time.Duration{&t.FirstResponse: p.FirstResponseTarget, &t.Resolution: p.ResolutionTarget} {
		// A clock that had no target runs from now, like a new one.
		wasRunning := c.running() || !c.set()
		c.Target = target
		c.Since, c.Due, c.Risk = nil, nil, nil
		if c.Stop == nil && wasRunning && !paused {
			if err := c.start(&p.Calendar, now); err != nil {
				return err
			}
		}
	}
	return nil
}
