package insight

import "time"

// PurchaseFacts are a customer's purchases in one currency; amounts are
// exact decimals.
type PurchaseFacts struct {
	Currency                          string
	Count90d, Count12m, CountLifetime int64
	Amount90d, Amount12m, AmountTotal string
	Refunds12m                        int64
	Refunded12m                       string
}

// Facts are what happened with one customer, as of Now.
type Facts struct {
	Now               time.Time
	Customer          Customer
	FirstPurchase     *time.Time
	LastPurchase      *time.Time
	PurchaseCount     int64
	Purchases         []PurchaseFacts
	ByChannel         map[string]int64
	LastContact       *time.Time
	Contacts30d       int64
	OpenTickets       int64
	Complaints90d     int64
	CSATAnswers       int64
	AverageCSAT       float64
	LastNPS           int // -1 without an answer
	AverageInterval   time.Duration
	DaysSincePurchase int // -1 without a purchase
}

// Scores are the results of the latest scoring pass for a customer.
type Scores struct {
	Recency, Frequency, Monetary int
	// ABC is "A", "B" or "C"; Share12m is the customer's share of
	// 12-month revenue and Cumulative the share of the customers before
	// them plus theirs, in the scoring currency.
	ABC                  string
	Share12m, Cumulative float64
	Time                 time.Time
}

// daysSince is the number of whole days from t to the facts' now.
func daysSince(f *Facts, t time.Time) int { return int(f.Now.Sub(t) / (24 * time.Hour)) }

// Spend is a customer's spend in the scoring currency over the 90 days to
// now (Last) and the 90 days before (Previous), as decimal strings.
type Spend struct{ Last, Previous string }
