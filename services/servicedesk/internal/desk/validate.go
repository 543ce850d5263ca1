package desk

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Limits of free text.
const (
	maxSubject     = 200
	maxDescription = 20000
	maxCommentBody = 20000
	maxTags        = 20
	maxTag         = 50
	maxNote        = 4000
	maxMembers     = 200
)

func checkText(v *errs.Violations, field, s string, max int, required bool) {
	switch n := utf8.RuneCountInString(s); {
	case required && strings.TrimSpace(s) == "":
		v.Add(field, "is required")
	case n > max:
		v.Add(field, "must be at most %d characters, got %d", max, n)
	}
}

func checkEnum(v *errs.Violations, field, value string, allowed []string, required bool) {
	switch {
	case value == "" && required:
		v.Add(field, "is required")
	case value != "" && !slices.Contains(allowed, value):
		v.Add(field, "must be one of %s, got %q", strings.Join(allowed, ", "), value)
	}
}

func checkEnums(v *errs.Violations, field string, values, allowed []string) {
	for n, value := range values {
		checkEnum(v, fmt.Sprintf("%s[%d]", field, n), value, allowed, true)
	}
}

// normalizeTicket checks the client-settable fields of t, reporting every
// problem at once, and fills defaults.
func normalizeTicket(v *errs.Violations, t *Ticket, prefix string) {
	t.Subject = strings.TrimSpace(t.Subject)
	checkText(v, prefix+".subject", t.Subject, maxSubject, true)
	checkText(v, prefix+".description", t.Description, maxDescription, false)
	checkEnum(v, prefix+".type", t.Type, Types, true)
	checkEnum(v, prefix+".channel", t.Channel, Channels, true)
	if t.Priority == "" {
		t.Priority = "NORMAL"
	}
	checkEnum(v, prefix+".priority", t.Priority, Priorities, true)
	if len(t.Tags) > maxTags {
		v.Add(prefix+".tags", "must have at most %d tags, got %d", maxTags, len(t.Tags))
	}
	seen := map[string]bool{}
	tags := t.Tags[:0:0]
	for n, tag := range t.Tags {
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "" || utf8.RuneCountInString(tag) > maxTag {
			v.Add(fmt.Sprintf("%s.tags[%d]", prefix, n), "must be 1-%d characters", maxTag)
		}
		if !seen[tag] {
			seen[tag] = true
			tags = append(tags, tag)
		}
	}
	t.Tags = tags
}

// checkPolicy validates a policy and prepares its calendar.
func checkPolicy(p *Policy, prefix string) error {
	var v errs.Violations
	checkText(&v, prefix+".display_name", p.DisplayName, 200, true)
	checkEnums(&v, prefix+".priorities", p.Priorities, Priorities)
	checkEnums(&v, prefix+".types", p.Types, Types)
	checkEnums(&v, prefix+".value_tiers", p.ValueTiers, ValueTiers)
	for field, d := range map[string]time.Duration{"first_response_target": p.FirstResponseTarget, "resolution_target": p.ResolutionTarget} {
		if d <= 0 {
			v.Add(prefix+"."+field, "must be a positive duration, got %s", d)
		} else if d > 365*24*time.Hour {
			v.Add(prefix+"."+field, "must be at most a year of business time, got %s", d)
		}
	}
	if err := p.Calendar.Check(prefix + ".calendar"); err != nil {
		if e, ok := errs.As(err); ok {
			for _, fv := range e.Violations {
				v.Add(fv.Field, "%s", fv.Description)
			}
		}
	}
	return v.Err()
}

// checkQueue validates a queue.
func checkQueue(q *Queue, prefix string) error {
	var v errs.Violations
	checkText(&v, prefix+".display_name", q.DisplayName, 200, true)
	checkText(&v, prefix+".description", q.Description, maxNote, false)
	checkEnums(&v, prefix+".route_types", q.RouteTypes, Types)
	checkEnums(&v, prefix+".route_channels", q.RouteChannels, Channels)
	checkEnums(&v, prefix+".route_value_tiers", q.RouteValueTiers, ValueTiers)
	if len(q.Members) > maxMembers {
		v.Add(prefix+".members", "must have at most %d members, got %d", maxMembers, len(q.Members))
	}
	seen := map[string]bool{}
	for n, m := range q.Members {
		field := fmt.Sprintf("%s.members[%d].user", prefix, n)
		switch {
		case m.User == "" || len(m.User) > 128:
			v.Add(field, "must be a user id of 1-128 characters")
		case seen[m.User]:
			v.Add(field, "%q is listed twice", m.User)
		}
		seen[m.User] = true
	}
	return v.Err()
}
