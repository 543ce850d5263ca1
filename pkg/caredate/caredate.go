// Package caredate validates the dates of customer-care rules: yearly
// month-days ("MM-DD", e.g. Mid-Autumn moved by hand) and specific dates
// ("YYYY-MM-DD", for lunar holidays whose Gregorian date changes).
package caredate

import (
	"fmt"
	"time"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// MaxSpecs bounds the dates of one rule.
const MaxSpecs = 50

// Spec is one date entry: a yearly month-day, or a specific date.
type Spec struct {
	Month time.Month
	Day   int
	// Year is 0 for every year.
	Year int
}

// ParseSpecs validates "MM-DD" and "YYYY-MM-DD" entries; each bad entry is
// a violation of field[i]. 02-29 is a valid yearly date (greeted on 28
// February in other years); 2026-02-29 is not a date.
func ParseSpecs(field string, in []string) ([]Spec, error) {
	var v errs.Violations
	switch {
	case len(in) == 0:
		v.Add(field, "at least one date is required")
	case len(in) > MaxSpecs:
		v.Add(field, "must have at most %d dates, got %d", MaxSpecs, len(in))
	}
	seen := map[Spec]bool{}
	var out []Spec
	for i, s := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		var sp Spec
		switch len(s) {
		case 5:
			t, err := time.Parse("01-02", s)
			if err != nil && s != "02-29" {
				v.Add(f, "%q is not a valid month-day (MM-DD)", s)
				continue
			}
			if s == "02-29" {
				sp = Spec{Month: time.February, Day: 29}
			} else {
				sp = Spec{Month: t.Month(), Day: t.Day()}
			}
		case 10:
			t, err := time.Parse("2006-01-02", s)
			if err != nil {
				v.Add(f, "%q is not a valid date (YYYY-MM-DD)", s)
				continue
			}
			sp = Spec{Month: t.Month(), Day: t.Day(), Year: t.Year()}
		default:
			v.Add(f, "%q must be MM-DD (every year) or YYYY-MM-DD (one date)", s)
			continue
		}
		if seen[sp] {
			v.Add(f, "%q is listed twice", s)
			continue
		}
		seen[sp] = true
		out = append(out, sp)
	}
	return out, v.Err()
}

// MaxLeadDays bounds how far ahead of an occasion care is planned.
const MaxLeadDays = 365

// CheckLeadDays validates a lead time in days.
func CheckLeadDays(field string, n int32) error {
	if n < 0 || n > MaxLeadDays {
		return errs.InvalidField(field, "must be between 0 and %d, got %d", MaxLeadDays, n)
	}
	return nil
}
