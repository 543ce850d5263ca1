package interaction

import (
	"strings"
	"testing"
	"time"

	"github.com/kehu-crm/kehu/pkg/errs"
)

func TestNormalizeMoney(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"cny", "1299.90"}: "CNY 1299.9",
		{"USD", "0010.5"}:  "USD 10.5",
		{"JPY", "1000"}:    "JPY 1000",
		{"EUR", "0.0001"}:  "EUR 0.0001",
	} {
		m := Money{Currency: in[0], Amount: in[1]}
		var v errs.Violations
		NormalizeMoney(&v, "amount", &m)
		if err := v.Err(); err != nil || m.Currency+" "+m.Amount != want {
			t.Errorf("%v: got %s %s, %v; want %s", in, m.Currency, m.Amount, err, want)
		}
	}
	for _, in := range [][2]string{{"CNY", "-1"}, {"CNY", "0"}, {"CNY", "1.00001"}, {"CNY", "1e3"}, {"XYZ", "1"}, {"", "1"}, {"CNY", ""}, {"CNY", "NaN"}} {
		m := Money{Currency: in[0], Amount: in[1]}
		var v errs.Violations
		NormalizeMoney(&v, "amount", &m)
		if v.Err() == nil {
			t.Errorf("%v accepted", in)
		}
	}
}

func TestRecurrenceNext(t *testing.T) {
	jan31 := time.Date(2027, 1, 31, 9, 0, 0, 0, time.UTC)
	cases := map[Recurrence]time.Time{
		{Interval: 2, Unit: UnitDay}:   time.Date(2027, 2, 2, 9, 0, 0, 0, time.UTC),
		{Interval: 1, Unit: UnitWeek}:  time.Date(2027, 2, 7, 9, 0, 0, 0, time.UTC),
		{Interval: 1, Unit: UnitMonth}: time.Date(2027, 3, 3, 9, 0, 0, 0, time.UTC), // Go normalises Feb 31
		{Interval: 3, Unit: UnitMonth}: time.Date(2027, 5, 1, 9, 0, 0, 0, time.UTC),
	}
	for r, want := range cases {
		if got := r.Next(jan31); !got.Equal(want) {
			t.Errorf("%+v: %v, want %v", r, got, want)
		}
	}
}

// A recurring follow-up closed late does not leave a backlog of past
// occurrences: the next one is the first still in the future.
func TestRecurSkipsPastOccurrences(t *testing.T) {
	due := time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)
	now := due.AddDate(0, 0, 17)
	f := &FollowUp{ID: "f1", CustomerID: "c1", DueTime: due, Recurrence: Recurrence{Interval: 1, Unit: UnitWeek}, State: StateMissed}
	next := recur(f, now)
	if want := due.AddDate(0, 0, 21); next == nil || !next.DueTime.Equal(want) || next.PreviousID != "f1" || next.State != StatePlanned {
		t.Fatalf("next = %+v, want due %v", next, want)
	}
	if recur(&FollowUp{DueTime: due}, now) != nil {
		t.Fatal("one-off follow-up recurred")
	}
}

func TestNormalizeInteractionRules(t *testing.T) {
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		in    Interaction
		field string
	}{
		{"purchase needs amount", Interaction{Channel: ChannelWebsite, Kind: KindPurchase}, "i.amount"},
		{"refund needs amount", Interaction{Channel: ChannelWebsite, Kind: KindRefund}, "i.amount"},
		{"contact has no amount", Interaction{Channel: ChannelPhone, Kind: KindContact, Amount: &Money{"CNY", "1"}}, "i.amount"},
		{"order reference only for purchases", Interaction{Channel: ChannelPhone, OrderReference: "SO-1"}, "i.order_reference"},
		{"future", Interaction{Channel: ChannelPhone, OccurTime: now.Add(48 * time.Hour)}, "i.occur_time"},
		{"negative duration", Interaction{Channel: ChannelPhone, Duration: -time.Second}, "i.duration"},
		{"bad agent", Interaction{Channel: ChannelPhone, Agent: "a b"}, "i.agent"},
		{"long subject", Interaction{Channel: ChannelPhone, Subject: strings.Repeat("x", 301)}, "i.subject"},
	}
	for _, tc := range cases {
		err := normalizeInteraction(&tc.in, "i", now)
		e, ok := errs.As(err)
		if !ok || len(e.Violations) == 0 || e.Violations[0].Field != tc.field {
			t.Errorf("%s: %v, want a violation of %s", tc.name, err, tc.field)
		}
	}
	ok := Interaction{Channel: ChannelPhone, ProductCategories: []string{" tea ", "Tea", "gifts"}}
	if err := normalizeInteraction(&ok, "i", now); err != nil {
		t.Fatal(err)
	}
	if ok.Kind != KindContact || !ok.OccurTime.Equal(now) || len(ok.ProductCategories) != 2 {
		t.Fatalf("defaults: %+v", ok)
	}
}

func TestParseNames(t *testing.T) {
	const c, i = "01a203ab-cb67-7a27-bac7-2d35cd3497e2", "01a203ab-cb67-7a27-bac7-2d35cd3497e3"
	if id, err := ParseParent("parent", "customers/-", true); err != nil || id != AnyCustomer {
		t.Fatalf("wildcard: %q %v", id, err)
	}
	if _, err := ParseParent("parent", "customers/-", false); err == nil {
		t.Fatal("wildcard accepted where a customer is needed")
	}
	if cid, id, err := ParseInteractionName("name", "customers/"+c+"/interactions/"+i); err != nil || cid != c || id != i {
		t.Fatalf("interaction name: %q %q %v", cid, id, err)
	}
	for _, bad := range []string{"customers/" + c + "/followUps/" + i, "interactions/" + i, "customers/x/interactions/" + i, ""} {
		if _, _, err := ParseInteractionName("name", bad); !errs.Is(err, errs.KindInvalidArgument) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := ParseTouchpointName("name", "touchpoints/hotline"); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCareRuleName("name", "careRules/X"); err == nil {
		t.Fatal("upper-case rule id accepted")
	}
}
