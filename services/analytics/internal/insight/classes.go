package insight

import (
	"fmt"
	"math/big"
	"strings"
)

// Class is a classification with the reasons behind it.
type Class struct {
	Value   string
	Reasons []string
}

// RFMLabel names the R and F scores (see the README's mapping).
func RFMLabel(r, f int) string {
	switch {
	case r == 0 || f == 0:
		return "NO_PURCHASES"
	case r >= 4 && f >= 4:
		return "CHAMPIONS"
	case r >= 3 && f >= 3:
		return "LOYAL"
	case r >= 4:
		return "PROMISING"
	case r == 3:
		return "NEEDS_ATTENTION"
	case f >= 3:
		return "AT_RISK"
	}
	return "HIBERNATING"
}

// valueLevel is the seed's naming of the ABC tiers.
func valueLevel(abc string) string {
	switch abc {
	case "A":
		return "HIGH"
	case "B":
		return "MEDIUM"
	}
	return "LOW"
}

func valueTier(s Scores, currency string, shareA, shareB float64) Class {
	if s.ABC == "" {
		return Class{Value: "C", Reasons: []string{"not scored yet"}}
	}
	pct := func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }
	reason := fmt.Sprintf("%s of 12-month %s revenue; with the customers above, %s (A up to %s, B up to %s)",
		pct(s.Share12m), currency, pct(s.Cumulative), pct(shareA), pct(shareB))
	if s.Share12m == 0 {
		reason = "no purchases in " + currency + " in the last 12 months"
	}
	return Class{Value: s.ABC, Reasons: []string{reason}}
}

// satisfaction classes a customer HIGH, MEDIUM or LOW from surveys and
// complaints.
func satisfaction(f *Facts) Class {
	var reasons []string
	low, high := false, false
	if f.CSATAnswers > 0 {
		reasons = append(reasons, fmt.Sprintf("average CSAT %.1f over %d surveys", f.AverageCSAT, f.CSATAnswers))
		low = low || f.AverageCSAT <= 2.5
		high = f.AverageCSAT >= 4
	}
	if f.LastNPS >= 0 {
		reasons = append(reasons, fmt.Sprintf("last NPS %d", f.LastNPS))
		low = low || f.LastNPS <= 6
		high = high || f.LastNPS >= 9
	}
	if f.Complaints90d > 0 {
		reasons = append(reasons, fmt.Sprintf("%d complaints in 90 days", f.Complaints90d))
		low = low || f.Complaints90d >= 2
		high = false
	}
	switch {
	case len(reasons) == 0:
		return Class{Value: "MEDIUM", Reasons: []string{"no surveys answered and no complaints"}}
	case low:
		return Class{Value: "LOW", Reasons: reasons}
	case high:
		return Class{Value: "HIGH", Reasons: reasons}
	}
	return Class{Value: "MEDIUM", Reasons: reasons}
}

// behaviour classes a customer FREQUENT, OCCASIONAL or DORMANT from the
// rhythm of purchases and contacts.
func behaviour(f *Facts) Class {
	var p90 int64
	for _, p := range f.Purchases {
		p90 += p.Count90d
	}
	switch {
	case p90 >= 3 || f.Contacts30d >= 4:
		return Class{Value: "FREQUENT", Reasons: []string{fmt.Sprintf("%d purchases in 90 days, %d contacts in 30 days", p90, f.Contacts30d)}}
	case f.DaysSincePurchase < 0 && f.LastContact == nil:
		return Class{Value: "DORMANT", Reasons: []string{"no purchase and no contact yet"}}
	case (f.DaysSincePurchase < 0 || f.DaysSincePurchase > 180) && (f.LastContact == nil || daysSince(f, *f.LastContact) > 180):
		return Class{Value: "DORMANT", Reasons: []string{"no purchase and no contact for over 180 days"}}
	}
	return Class{Value: "OCCASIONAL", Reasons: []string{fmt.Sprintf("%d purchases in 90 days", p90)}}
}

// trend compares the spend of the last 90 days with the 90 before.
func trend(last, previous, currency string) Class {
	l, okL := new(big.Rat).SetString(orZero(last))
	p, okP := new(big.Rat).SetString(orZero(previous))
	if !okL || !okP {
		return Class{Value: "FLAT", Reasons: []string{"no spend data"}}
	}
	reason := fmt.Sprintf("%s %s in the last 90 days against %s before", trimRat(l), currency, trimRat(p))
	switch l.Cmp(p) {
	case 1:
		return Class{Value: "RISING", Reasons: []string{reason}}
	case -1:
		return Class{Value: "FALLING", Reasons: []string{reason}}
	}
	return Class{Value: "FLAT", Reasons: []string{reason}}
}

func orZero(s string) string {
	if strings.TrimSpace(s) == "" {
		return "0"
	}
	return s
}

func trimRat(r *big.Rat) string {
	s := r.FloatString(2)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
