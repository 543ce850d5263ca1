package interaction

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/currency"

	"github.com/kehu-crm/kehu/pkg/caredate"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// Limits on text fields.
const (
	maxSubject     = 300
	maxSummary     = 10000
	maxShortText   = 200
	maxCategories  = 20
	maxTemplate    = 2000
	maxDuration    = 24 * time.Hour
	maxFuture      = 24 * time.Hour // interactions happen in the past
	maxRecurrence  = 366
	maxBatchCreate = 500
)

func checkText(v *errs.Violations, field, s string, max int, required bool) string {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case n == 0 && required:
		v.Add(field, "is required")
	case n > max:
		v.Add(field, "must be at most %d characters, got %d", max, n)
	}
	return s
}

func checkSubject(v *errs.Violations, field, s string) {
	if s != "" && !subjectPattern.MatchString(s) {
		v.Add(field, "must be a user id of 1 to 128 letters, digits or @._:-, got %q", s)
	}
}

// NormalizeMoney validates an amount: a known ISO 4217 currency and a
// positive decimal with at most 4 fraction digits.
func NormalizeMoney(v *errs.Violations, field string, m *Money) {
	m.Currency = strings.ToUpper(strings.TrimSpace(m.Currency))
	if unit, err := currency.ParseISO(m.Currency); err != nil || unit.String() != m.Currency {
		v.Add(field+".currency_code", "must be an ISO 4217 currency code like \"CNY\", got %q", m.Currency)
	}
	m.Amount = strings.TrimSpace(m.Amount)
	if !decimalPattern.MatchString(m.Amount) {
		v.Add(field+".amount", "must be a positive decimal like \"1299.90\" with at most 4 decimals, got %q", m.Amount)
		return
	}
	m.Amount = canonicalDecimal(m.Amount)
	if strings.Trim(m.Amount, "0.") == "" {
		v.Add(field+".amount", "must be greater than zero")
	}
}

// canonicalDecimal drops leading zeros and trailing fraction zeros, so equal
// amounts compare and fingerprint equal.
func canonicalDecimal(s string) string {
	whole, frac, _ := strings.Cut(s, ".")
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	frac = strings.TrimRight(frac, "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

// normalizeInteraction validates an interaction for storage. now is the
// time of recording.
func normalizeInteraction(i *Interaction, prefix string, now time.Time) error {
	var v errs.Violations
	f := func(s string) string { return prefix + "." + s }
	if i.Channel == "" {
		v.Add(f("channel"), "is required")
	}
	if i.Kind == "" {
		i.Kind = KindContact
	}
	if i.OccurTime.IsZero() {
		i.OccurTime = now
	} else if i.OccurTime.After(now.Add(maxFuture)) {
		v.Add(f("occur_time"), "must not be in the future (it records what happened)")
	}
	if i.Duration < 0 || i.Duration > maxDuration {
		v.Add(f("duration"), "must be between 0 and 24h")
	}
	i.Subject = checkText(&v, f("subject"), i.Subject, maxSubject, false)
	i.Summary = checkText(&v, f("summary"), i.Summary, maxSummary, false)
	checkSubject(&v, f("agent"), i.Agent)
	if i.Satisfaction < 0 || i.Satisfaction > 5 {
		v.Add(f("satisfaction"), "must be 1 to 5, or 0 when not rated; got %d", i.Satisfaction)
	}
	money := i.Kind == KindPurchase || i.Kind == KindRefund
	switch {
	case money && i.Amount == nil:
		v.Add(f("amount"), "is required for a %s", strings.ToLower(i.Kind))
	case !money && i.Amount != nil:
		v.Add(f("amount"), "is only for purchases and refunds")
	case i.Amount != nil:
		NormalizeMoney(&v, f("amount"), i.Amount)
	}
	i.OrderReference = checkText(&v, f("order_reference"), i.OrderReference, maxShortText, false)
	if i.OrderReference != "" && !money {
		v.Add(f("order_reference"), "is only for purchases and refunds")
	}
	if len(i.ProductCategories) > maxCategories {
		v.Add(f("product_categories"), "must have at most %d entries", maxCategories)
	}
	seen := map[string]bool{}
	cats := i.ProductCategories[:0:0]
	for n, c := range i.ProductCategories {
		c = checkText(&v, fmt.Sprintf("%s[%d]", f("product_categories"), n), c, 64, true)
		if c != "" && !seen[strings.ToLower(c)] {
			seen[strings.ToLower(c)] = true
			cats = append(cats, c)
		}
	}
	i.ProductCategories = cats
	return v.Err()
}

// normalizeFollowUp validates a follow-up. New ones must be due in the
// future (with a minute's slack for clock skew).
func normalizeFollowUp(fu *FollowUp, prefix string, now time.Time, isNew bool) error {
	var v errs.Violations
	f := func(s string) string { return prefix + "." + s }
	fu.Purpose = checkText(&v, f("purpose"), fu.Purpose, maxShortText*5, true)
	if fu.Channel == "" {
		v.Add(f("channel"), "is required")
	}
	checkSubject(&v, f("assignee"), fu.Assignee)
	switch {
	case fu.DueTime.IsZero():
		v.Add(f("due_time"), "is required")
	case isNew && fu.DueTime.Before(now.Add(-time.Minute)):
		v.Add(f("due_time"), "must not be in the past for a new follow-up, got %s", fu.DueTime.Format(time.RFC3339))
	}
	r := fu.Recurrence
	switch {
	case r.Unit == "" && r.Interval == 0:
	case r.Unit == "":
		v.Add(f("recurrence.unit"), "is required when recurrence.interval is set")
	case r.Interval <= 0:
		v.Add(f("recurrence.interval"), "must be at least 1, got %d", r.Interval)
	case r.Interval > maxRecurrence:
		v.Add(f("recurrence.interval"), "must be at most %d", maxRecurrence)
	}
	fu.Message = checkText(&v, f("message"), fu.Message, maxTemplate, false)
	return v.Err()
}

func normalizeTouchpoint(t *Touchpoint, prefix string) error {
	var v errs.Violations
	f := func(s string) string { return prefix + "." + s }
	t.DisplayName = checkText(&v, f("display_name"), t.DisplayName, maxShortText, true)
	if t.Channel == "" {
		v.Add(f("channel"), "is required")
	}
	t.Description = checkText(&v, f("description"), t.Description, 1000, false)
	return v.Err()
}

// normalizeCareRule validates a care rule; filterCheck compiles its
// customer filter.
func normalizeCareRule(r *CareRule, prefix string, filterCheck func(string) error) error {
	var v errs.Violations
	f := func(s string) string { return prefix + "." + s }
	r.DisplayName = checkText(&v, f("display_name"), r.DisplayName, maxShortText, true)
	switch r.Occasion {
	case "":
		v.Add(f("occasion"), "is required")
	case OccasionFixedDate:
		if _, err := caredate.ParseSpecs(f("dates"), r.Dates); err != nil {
			if e, ok := errs.As(err); ok && len(e.Violations) > 0 {
				for _, fv := range e.Violations {
					v.Add(fv.Field, "%s", fv.Description)
				}
			} else {
				v.Add(f("dates"), "%v", err)
			}
		}
	default:
		if len(r.Dates) > 0 {
			v.Add(f("dates"), "are only for FIXED_DATE rules")
		}
	}
	if err := caredate.CheckLeadDays(f("lead_days"), r.LeadDays); err != nil {
		v.Add(f("lead_days"), "must be between 0 and 365, got %d", r.LeadDays)
	}
	if r.Channel == "" {
		v.Add(f("channel"), "is required")
	}
	r.MessageTemplate = checkText(&v, f("message_template"), r.MessageTemplate, maxTemplate, false)
	checkSubject(&v, f("fallback_assignee"), r.FallbackAssignee)
	if r.CustomerFilter != "" {
		if err := filterCheck(r.CustomerFilter); err != nil {
			desc := err.Error()
			if e, ok := errs.As(err); ok && len(e.Violations) > 0 {
				desc = e.Violations[0].Description
			}
			v.Add(f("customer_filter"), "%s", desc)
		}
	}
	return v.Err()
}
