package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
)

// The synthetic customer base of `kehuctl seed`. Every customer is a pure
// function of the run's seed and its index, so the customers, their
// interactions and tickets can be generated in separate passes (and
// again on a re-run, which the services then skip by external id) without
// holding a million histories in memory.

// seedHistory is how far back the generated history reaches.
const seedHistory = 2 * 365 * 24 * time.Hour

// seedTouchpoint is one of the touchpoints the interaction service ships
// with: its channel and the journey stage it serves.
type seedTouchpoint struct {
	id      string
	channel interactionv1.Channel
	stage   string
}

var seedTouchpoints = []seedTouchpoint{
	{"trade-show", interactionv1.Channel_CHANNEL_EVENT, "PROSPECT"},
	{"website", interactionv1.Channel_CHANNEL_WEBSITE, "PROSPECT"},
	{"wechat-official-account", interactionv1.Channel_CHANNEL_SOCIAL_MEDIA, "PROSPECT"},
	{"hotline", interactionv1.Channel_CHANNEL_PHONE, "FIRST_PURCHASE"},
	{"online-store", interactionv1.Channel_CHANNEL_WEBSITE, "FIRST_PURCHASE"},
	{"store-visit", interactionv1.Channel_CHANNEL_MEETING, "FIRST_PURCHASE"},
	{"live-chat", interactionv1.Channel_CHANNEL_CHAT, "REPEAT"},
	{"after-sales-service", interactionv1.Channel_CHANNEL_PHONE, "REPEAT"},
	{"email-newsletter", interactionv1.Channel_CHANNEL_EMAIL, "REPEAT"},
	{"quarterly-business-review", interactionv1.Channel_CHANNEL_MEETING, "LOYAL"},
	{"loyalty-program", interactionv1.Channel_CHANNEL_OTHER, "LOYAL"},
	{"retention-call", interactionv1.Channel_CHANNEL_PHONE, "AT_RISK"},
}

// seedMonthWeight is the seasonal rhythm of activity by month: Spring
// Festival shopping in January and February, the 618 sale in June,
// Singles' Day in November and the year's end in December.
var seedMonthWeight = [13]float64{0, 1.5, 1.3, 0.8, 0.8, 0.9, 1.4, 0.8, 0.8, 0.9, 1.0, 2.0, 1.6}

var seedManagers = []string{"", "alice", "bob", "carol", "dave"}

// seedProfile is one generated customer's traits.
type seedProfile struct {
	index    int
	since    time.Time // first known
	until    time.Time // last activity: now, or when they went quiet
	churned  bool
	spend    float64 // Pareto-distributed spending weight, ≥ 1
	currency string
	manager  string
}

// seedGenerator derives customers and their histories from a seed.
type seedGenerator struct {
	seed uint64
	now  time.Time
	// interactions[i] is how many interactions customer i gets: their
	// share of the total by activity weight, summing to it exactly.
	interactions []int32
}

func newSeedGenerator(seed uint64, now time.Time, customers, interactions int) *seedGenerator {
	g := &seedGenerator{seed: seed, now: now.UTC().Truncate(time.Second), interactions: make([]int32, customers)}
	if customers == 0 {
		return g
	}
	weights := make([]float64, customers)
	var sum float64
	for i := range weights {
		p := g.profile(i)
		// Longer histories hold more contacts (churners' end early), some
		// customers are chattier than others; how much they spend per
		// order is the Pareto part.
		w := (0.5 + g.rng(i, 6).Float64()) * p.until.Sub(p.since).Hours()
		weights[i], sum = w, sum+w
	}
	left := interactions
	for i, w := range weights {
		n := int32(float64(interactions) * w / sum)
		g.interactions[i], left = n, left-int(n)
	}
	// Rounding leaves a remainder: one more each for the first customers.
	for i := 0; left > 0; i = (i + 1) % customers {
		g.interactions[i]++
		left--
	}
	return g
}

// rng is customer i's own random source for one purpose.
func (g *seedGenerator) rng(i int, purpose uint64) *rand.Rand {
	return rand.New(rand.NewPCG(g.seed^purpose, uint64(i)))
}

func (g *seedGenerator) profile(i int) seedProfile {
	r := g.rng(i, 1)
	// Newer customers are more numerous: the base grows.
	age := time.Duration(math.Sqrt(r.Float64()) * float64(seedHistory))
	p := seedProfile{index: i, since: g.now.Add(-seedHistory + age), until: g.now, currency: "CNY",
		manager: seedManagers[r.IntN(len(seedManagers))]}
	// Pareto with α = 1.16: the top fifth of customers spends about four
	// fifths of the money. Capped so one customer cannot be the whole
	// revenue of a small run.
	p.spend = math.Min(1/math.Pow(1-r.Float64(), 1/1.16), 500)
	if r.IntN(20) == 0 {
		p.currency = "USD"
	}
	// A quarter of the customers go quiet at some point and never return.
	if r.IntN(4) == 0 {
		p.churned = true
		p.until = p.since.Add(time.Duration(r.Float64() * float64(g.now.Sub(p.since))))
	}
	return p
}

// stage is where a customer with bought purchases so far stands at t.
func (p seedProfile) stage(bought int, t time.Time) string {
	if p.churned && t.After(p.until.Add(-60*24*time.Hour)) {
		return "AT_RISK"
	}
	switch {
	case bought == 0:
		return "PROSPECT"
	case bought == 1:
		return "FIRST_PURCHASE"
	case bought < 6:
		return "REPEAT"
	}
	return "LOYAL"
}

// currentStage is the customer's stage today: churned when quiet for half
// a year.
func (p seedProfile) currentStage(bought int, now time.Time) string {
	if p.churned && now.Sub(p.until) > 180*24*time.Hour {
		return "CHURNED"
	}
	return p.stage(bought, now)
}

func (g *seedGenerator) customerExternalID(i int) string { return fmt.Sprintf("seed-%08d", i) }

// customer is customer i as ImportCustomers takes it.
func (g *seedGenerator) customer(i int) *customerv1.Customer {
	p := g.profile(i)
	r := g.rng(i, 2)
	stage := p.currentStage(g.purchases(i), g.now)
	c := &customerv1.Customer{
		ExternalId:  g.customerExternalID(i),
		DisplayName: benchSurnames[r.IntN(len(benchSurnames))] + benchGiven[r.IntN(len(benchGiven))],
		Emails:      []string{fmt.Sprintf("seed%08d@example.com", i)},
		Phones:      []string{fmt.Sprintf("+86137%08d", i)},
		Company:     benchCompanies[r.IntN(len(benchCompanies))],
		Tags:        []string{benchTags[r.IntN(len(benchTags))]},
		CreateTime:  timestamppb.New(p.since),
		LifecycleStage: customerv1.LifecycleStage(
			customerv1.LifecycleStage_value["LIFECYCLE_STAGE_"+stage]),
		AccountManager: p.manager,
	}
	return c
}

// seedEvent is one generated interaction before it becomes a message.
type seedEvent struct {
	at   time.Time
	kind interactionv1.InteractionKind
}

// history is customer i's interactions in time order: times drawn with the
// seasonal rhythm between since and until, each a purchase, refund,
// contact, feedback, complaint, follow-up visit, care greeting or note.
func (g *seedGenerator) history(i int) (seedProfile, []seedEvent) {
	p := g.profile(i)
	r := g.rng(i, 3)
	n := int(g.interactions[i])
	events := make([]seedEvent, 0, n)
	span := p.until.Sub(p.since)
	for len(events) < n {
		t := p.since.Add(time.Duration(r.Float64() * float64(span)))
		if r.Float64()*2 > seedMonthWeight[t.Month()] {
			continue // off season: fewer contacts
		}
		var k interactionv1.InteractionKind
		switch x := r.IntN(100); {
		case x < 30:
			k = interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE
		case x < 33:
			k = interactionv1.InteractionKind_INTERACTION_KIND_REFUND
		case x < 63:
			k = interactionv1.InteractionKind_INTERACTION_KIND_CONTACT
		case x < 71:
			k = interactionv1.InteractionKind_INTERACTION_KIND_FEEDBACK
		case x < 77:
			k = interactionv1.InteractionKind_INTERACTION_KIND_COMPLAINT_MENTION
		case x < 87:
			k = interactionv1.InteractionKind_INTERACTION_KIND_FOLLOW_UP_VISIT
		case x < 93:
			k = interactionv1.InteractionKind_INTERACTION_KIND_CARE_GREETING
		default:
			k = interactionv1.InteractionKind_INTERACTION_KIND_NOTE
		}
		events = append(events, seedEvent{at: t, kind: k})
	}
	slices.SortFunc(events, func(a, b seedEvent) int { return a.at.Compare(b.at) })
	return p, events
}

// purchases counts customer i's purchases.
func (g *seedGenerator) purchases(i int) int {
	if len(g.interactions) <= i {
		return 0
	}
	_, events := g.history(i)
	n := 0
	for _, e := range events {
		if e.kind == interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE {
			n++
		}
	}
	return n
}

// interactions are customer i's interactions as ImportInteractions takes
// them, for the customer named parent.
func (g *seedGenerator) interactionRows(i int, parent string) []*interactionv1.ImportedInteraction {
	p, events := g.history(i)
	r := g.rng(i, 4)
	agent := p.manager
	if agent == "" {
		agent = "alice"
	}
	rows := make([]*interactionv1.ImportedInteraction, len(events))
	bought := 0
	for k, e := range events {
		stage := p.stage(bought, e.at)
		// Mostly a touchpoint of the stage the customer is in.
		tp := seedTouchpoints[r.IntN(len(seedTouchpoints))]
		if r.IntN(3) > 0 {
			var fit []seedTouchpoint
			for _, t := range seedTouchpoints {
				if t.stage == stage {
					fit = append(fit, t)
				}
			}
			if len(fit) > 0 {
				tp = fit[r.IntN(len(fit))]
			}
		}
		in := &interactionv1.Interaction{
			Channel: tp.channel, Kind: e.kind, OccurTime: timestamppb.New(e.at), Agent: agent,
			Touchpoint: "touchpoints/" + tp.id, Direction: interactionv1.Direction(1 + r.IntN(2)),
			Duration: durationpb.New(time.Duration(1+r.IntN(30)) * time.Minute),
			Subject:  seedSubjects[e.kind],
		}
		switch e.kind {
		case interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE, interactionv1.InteractionKind_INTERACTION_KIND_REFUND:
			amount := p.spend * (20 + r.ExpFloat64()*180)
			in.Amount = &interactionv1.Money{CurrencyCode: p.currency, Amount: fmt.Sprintf("%.2f", amount)}
			in.OrderReference = fmt.Sprintf("SO-%08d-%04d", i, k)
			in.ProductCategories = []string{seedCategories[r.IntN(len(seedCategories))]}
			if e.kind == interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE {
				bought++
			}
		case interactionv1.InteractionKind_INTERACTION_KIND_COMPLAINT_MENTION:
			in.Satisfaction, in.Sentiment = int32(1+r.IntN(2)), interactionv1.Sentiment_SENTIMENT_NEGATIVE
		case interactionv1.InteractionKind_INTERACTION_KIND_CONTACT, interactionv1.InteractionKind_INTERACTION_KIND_FEEDBACK,
			interactionv1.InteractionKind_INTERACTION_KIND_FOLLOW_UP_VISIT:
			if r.IntN(2) == 0 {
				in.Satisfaction = int32(3 + r.IntN(3))
				in.Sentiment = interactionv1.Sentiment(1 + r.IntN(2))
			}
		}
		rows[k] = &interactionv1.ImportedInteraction{
			Parent: parent, Interaction: in, ExternalId: fmt.Sprintf("seed-%08d-%05d", i, k),
			LifecycleStage: customerv1.LifecycleStage(customerv1.LifecycleStage_value["LIFECYCLE_STAGE_"+stage]),
		}
	}
	return rows
}

var seedSubjects = map[interactionv1.InteractionKind]string{
	interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE:          "Order",
	interactionv1.InteractionKind_INTERACTION_KIND_REFUND:            "Refund",
	interactionv1.InteractionKind_INTERACTION_KIND_CONTACT:           "Product question",
	interactionv1.InteractionKind_INTERACTION_KIND_FEEDBACK:          "Feedback",
	interactionv1.InteractionKind_INTERACTION_KIND_COMPLAINT_MENTION: "Unhappy with delivery",
	interactionv1.InteractionKind_INTERACTION_KIND_FOLLOW_UP_VISIT:   "Follow-up visit 回访",
	interactionv1.InteractionKind_INTERACTION_KIND_CARE_GREETING:     "Season's greetings",
	interactionv1.InteractionKind_INTERACTION_KIND_NOTE:              "Note",
}

var seedCategories = []string{"tea", "tea-ware", "gift-box", "snacks", "accessories"}
