package customer

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
)

var fixedNow = func() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }

func violations(t *testing.T, err error) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	if err == nil {
		return out
	}
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.KindInvalidArgument {
		t.Fatalf("got %v, want an invalid argument error", err)
	}
	for _, v := range e.Violations {
		out[v.Field] = true
	}
	return out
}

func TestNormalizeCanonicalises(t *testing.T) {
	t.Parallel()
	n := Normalizer{DefaultRegion: "CN", Now: fixedNow}
	c := &Customer{
		DisplayName: "  Li Na ",
		Emails:      []string{"Li.Na@Example.COM", "li.na@example.com"},
		Phones:      []string{"138 1234 5678", "+44 20 7946 0958"},
		Tags:        []string{"VIP", "vip", " Wholesale "},
		Address:     Address{CountryCode: "cn"},
		Birthday:    "1990-02-28",
	}
	if err := n.Normalize(c, "customer"); err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	want := &Customer{
		Kind:        KindPerson,
		DisplayName: "Li Na",
		Emails:      []string{"li.na@example.com"},
		Phones:      []string{"+8613812345678", "+442079460958"},
		Tags:        []string{"vip", "wholesale"},
		Address:     Address{CountryCode: "CN"},
		Birthday:    "1990-02-28",
		Source:      SourceOther,
		Stage:       StageProspect,
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("normalised customer (-want +got):\n%s", diff)
	}
}

func TestNormalizeRejects(t *testing.T) {
	t.Parallel()
	long := make([]byte, 201)
	for i := range long {
		long[i] = 'x'
	}
	tests := []struct {
		name  string
		c     Customer
		field string
	}{
		{"empty name", Customer{DisplayName: "  "}, "customer.display_name"},
		{"overlong name", Customer{DisplayName: string(long)}, "customer.display_name"},
		{"bad email", Customer{DisplayName: "a", Emails: []string{"ok@example.com", "not-an-email"}}, "customer.emails[1]"},
		{"email without domain dot", Customer{DisplayName: "a", Emails: []string{"a@localhost"}}, "customer.emails[0]"},
		{"display-name email", Customer{DisplayName: "a", Emails: []string{"Bob <bob@example.com>"}}, "customer.emails[0]"},
		{"bad phone", Customer{DisplayName: "a", Phones: []string{"12"}}, "customer.phones[0]"},
		{"phone letters", Customer{DisplayName: "a", Phones: []string{"call me"}}, "customer.phones[0]"},
		{"impossible birthday", Customer{DisplayName: "a", Birthday: "1990-02-30"}, "customer.birthday"},
		{"future birthday", Customer{DisplayName: "a", Birthday: "2030-01-01"}, "customer.birthday"},
		{"birthday format", Customer{DisplayName: "a", Birthday: "01/02/1990"}, "customer.birthday"},
		{"partial birthday impossible", Customer{DisplayName: "a", Birthday: "--02-30"}, "customer.birthday"},
		{"country code", Customer{DisplayName: "a", Address: Address{CountryCode: "China"}}, "customer.address.country_code"},
		{"attribute key", Customer{DisplayName: "a", Attributes: map[string]string{"9lives": "x"}}, "customer.attributes"},
		{"empty tag", Customer{DisplayName: "a", Tags: []string{""}}, "customer.tags[0]"},
		{"account manager", Customer{DisplayName: "a", AccountManager: "has space"}, "customer.account_manager"},
	}
	n := Normalizer{DefaultRegion: "CN", Now: fixedNow}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.c
			got := violations(t, n.Normalize(&c, "customer"))
			if !got[tt.field] {
				t.Errorf("violations %v do not name %s", got, tt.field)
			}
		})
	}
}

func TestNormalizeReportsEveryProblem(t *testing.T) {
	t.Parallel()
	c := Customer{Emails: []string{"x"}, Phones: []string{"y"}}
	got := violations(t, Normalizer{Now: fixedNow}.Normalize(&c, "customer"))
	for _, f := range []string{"customer.display_name", "customer.emails[0]", "customer.phones[0]"} {
		if !got[f] {
			t.Errorf("missing violation for %s in %v", f, got)
		}
	}
}

func TestMasking(t *testing.T) {
	t.Parallel()
	c := &Customer{
		ID: "x", Emails: []string{"li.na@example.com"}, Phones: []string{"+8613812345678"},
		Birthday: "1990-02-28", Address: Address{Street: "1 Road", City: "Hangzhou", PostalCode: "310000"},
	}
	got := view(auth.Access{Principal: principalWith("v", "viewer")}, c)
	want := []string{"l***@example.com", "+86*******5678", "", "", "Hangzhou"}
	have := []string{got.Emails[0], got.Phones[0], got.Birthday, got.Address.Street, got.Address.City}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("masked view (-want +got):\n%s", diff)
	}
	if c.Emails[0] != "li.na@example.com" {
		t.Errorf("masking changed the original: %v", c.Emails)
	}
	if view(auth.Access{Principal: principalWith("a", "agent")}, c) != c {
		t.Errorf("agents see personal data unmasked")
	}
}

func TestTiers(t *testing.T) {
	t.Parallel()
	tiers, err := ParseTiers("SILVER=100, GOLD=500,PLATINUM=1000")
	if err != nil {
		t.Fatal(err)
	}
	for points, want := range map[int64]Membership{0: MembershipBasic, 99: MembershipBasic, 100: MembershipSilver, 999: MembershipGold, 5000: MembershipPlatinum} {
		if got := tiers.For(points); got != want {
			t.Errorf("For(%d) = %s, want %s", points, got, want)
		}
	}
	for _, bad := range []string{"", "GOLD", "GOLD=abc", "SILVER=500,GOLD=100", "DIAMOND=5", "SILVER=-1"} {
		if _, err := ParseTiers(bad); err == nil {
			t.Errorf("ParseTiers(%q) accepted", bad)
		}
	}
}

func TestParseOrderBy(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Order{
		"":                    {Field: "create_time", Desc: true},
		"display_name":        {Field: "display_name"},
		"loyalty_points desc": {Field: "loyalty_points", Desc: true},
		" company asc ":       {Field: "company"},
	} {
		got, err := ParseOrderBy(in)
		if err != nil || got != want {
			t.Errorf("ParseOrderBy(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"emails", "display_name sideways", "a, b", "create_time desc extra"} {
		if _, err := ParseOrderBy(bad); !errs.Is(err, errs.KindInvalidArgument) {
			t.Errorf("ParseOrderBy(%q) = %v, want invalid argument", bad, err)
		}
	}
}

func TestCustomerFields(t *testing.T) {
	t.Parallel()
	if _, err := customerFields.CheckMask(nil); !errs.Is(err, errs.KindInvalidArgument) {
		t.Errorf("empty mask accepted")
	}
	for _, p := range []string{"etag", "create_time", "lifecycle_stage", "loyalty_points", "nonsense"} {
		got := violations(t, func() error { _, err := customerFields.CheckMask([]string{"display_name", p}); return err }())
		if !got["update_mask"] {
			t.Errorf("mask with %q accepted", p)
		}
	}
	if paths, err := customerFields.CheckMask([]string{"*"}); err != nil || len(paths) != len(customerFields.Updatable) {
		t.Errorf("wildcard mask: %v, %v", paths, err)
	}
}

func TestCombine(t *testing.T) {
	t.Parallel()
	survivor := &Customer{ID: "s", DisplayName: "Li Na", Emails: []string{"a@x.com"}, Points: 10, ValueTier: TierC, Attributes: map[string]string{"k": "s"}}
	m1 := &Customer{ID: "m1", Company: "Acme", Emails: []string{"b@x.com", "a@x.com"}, Points: 5, ValueTier: TierA, Tags: []string{"vip"}, Attributes: map[string]string{"k": "m", "j": "m"}, MarketingConsent: true}
	m2 := &Customer{ID: "m2", Company: "Other", Title: "CTO", Points: 1}
	got, fields := combine(survivor, []*Customer{m1, m2})
	if got.Company != "Acme" || got.Title != "CTO" {
		t.Errorf("scalar fill: company=%q title=%q", got.Company, got.Title)
	}
	if diff := cmp.Diff([]string{"a@x.com", "b@x.com"}, got.Emails); diff != "" {
		t.Errorf("emails (-want +got):\n%s", diff)
	}
	if got.Points != 16 || got.ValueTier != TierA || got.MarketingConsent {
		t.Errorf("points=%d tier=%s consent=%v", got.Points, got.ValueTier, got.MarketingConsent)
	}
	if diff := cmp.Diff(map[string]string{"k": "s", "j": "m"}, got.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if survivor.Company != "" || len(survivor.Emails) != 1 {
		t.Errorf("combine changed the survivor in place")
	}
	decided := map[string]string{}
	for _, f := range fields {
		decided[f.Field] = f.SourceID
	}
	if decided["company"] != "m1" || decided["title"] != "m2" {
		t.Errorf("field sources: %v", decided)
	}
	if _, ok := decided["display_name"]; ok {
		t.Errorf("unchanged field reported: %v", decided)
	}
}

func principalWith(subject, role string) auth.Principal {
	return auth.Principal{Subject: subject, Roles: []auth.Role{auth.Role(role)}}
}
