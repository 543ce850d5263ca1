package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kehu-crm/kehu/e2e"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// journey drives one customer through the seed's process over REST and
// reads what analytics made of each step.
type journey struct {
	t                 *testing.T
	s                 *e2e.Suite
	mgr, cached, bare client
	customer          string
}

// eventually polls check for up to a minute and a half (the silence step
// waits for time to pass), running the analytics lifecycle pass each time
// (in production it runs every KEHU_ANALYTICS_LIFECYCLE_INTERVAL).
func (j *journey) eventually(what string, check func() bool) {
	j.t.Helper()
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := j.s.Analytics.RunLifecycleOnce(context.Background()); err != nil {
			j.t.Log(err)
		}
		if check() {
			return
		}
		if time.Now().After(deadline) {
			j.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// insights are the customer's insights; nil until analytics has followed
// the customer.
func (j *journey) insights() map[string]any {
	r := j.mgr.do("GET", "/v1/"+j.customer+"/insights", nil)
	if r.code != http.StatusOK {
		return nil
	}
	return r.body
}

// path reads a nested field of a JSON object, e.g. "facts.lifecycleStage".
func path(m map[string]any, p string) any {
	var v any = m
	for _, k := range strings.Split(p, ".") {
		o, _ := v.(map[string]any)
		v = o[k]
	}
	return v
}

func (j *journey) stage() string {
	r := j.mgr.do("GET", "/v1/"+j.customer, nil)
	expect(j.t, r, http.StatusOK)
	return strings.TrimPrefix(fmt.Sprint(r.body["lifecycleStage"]), "LIFECYCLE_STAGE_")
}

// segments reads the customer's segments from the cached path and from a
// replica without Redis. Nil until analytics has followed the customer or
// while the two disagree (a change between the two reads).
func (j *journey) segments() []string {
	j.t.Helper()
	var got [2][]string
	for i, c := range []client{j.cached, j.bare} {
		r := c.do("GET", "/v1/"+j.customer+"/segments", nil)
		if r.code != http.StatusOK {
			return nil
		}
		list, _ := r.body["segments"].([]any)
		for _, s := range list {
			got[i] = append(got[i], strings.TrimPrefix(s.(string), "segments/"))
		}
	}
	if !slices.Equal(got[0], got[1]) {
		j.t.Logf("segments from the cache %v, without Redis %v", got[0], got[1])
		return nil
	}
	return append([]string{}, got[0]...)
}

// step waits until the stage, the segments and the insights agree with a
// step of the story.
func (j *journey) step(what, stage string, segments []string, check func(insights map[string]any) bool) {
	j.t.Helper()
	j.eventually(what, func() bool {
		got := j.segments()
		if got == nil {
			return false
		}
		for _, s := range segments {
			if !slices.Contains(got, s) {
				return false
			}
		}
		return j.stage() == stage && path(j.insights(), "facts.lifecycleStage") == stage && (check == nil || check(j.insights()))
	})
	j.t.Logf("%s: %s, segments %v, churn risk %v", what, stage, j.segments(), path(j.insights(), "churnRisk.score"))
}

func (j *journey) purchase(at time.Time, amount string) {
	j.t.Helper()
	expect(j.t, j.mgr.do("POST", "/v1/"+j.customer+"/interactions", map[string]any{
		"channel": "CHANNEL_WEBSITE", "kind": "INTERACTION_KIND_PURCHASE", "touchpoint": "touchpoints/online-store",
		"occurTime": at.UTC().Format(time.RFC3339Nano), "amount": map[string]any{"currencyCode": "CNY", "amount": amount},
	}), http.StatusOK)
}

// TestRESTCustomerJourney is the seed's customer process as one story
// over REST: a prospect identified from a channel, a first purchase,
// repeat purchases, a follow-up visit, a complaint under SLA, its
// resolution and a low CSAT, loyalty points, silence, the churn warning
// and the retention visit. At each step the lifecycle stage (on the
// customer record and in the insights), value tier, RFM, segments (from
// the cache and from a replica without Redis) and the reasons are
// checked. The customer's rhythm is compressed into seconds (purchases
// 20 s apart), so silence takes half a minute of real time, not months.
func TestRESTCustomerJourney(t *testing.T) {
	s := e2e.Start(t, e2e.Options{WithoutRedis: true})
	mgrToken := s.Token(t, "mia", auth.RoleManager)
	j := &journey{t: t, s: s, mgr: client{t, s.BaseURL, mgrToken}, cached: client{t, s.BaseURL, mgrToken}, bare: client{t, s.WithoutRedisURL, mgrToken}}
	admin := client{t, s.BaseURL, s.Token(t, "root", auth.RoleAdmin)}
	recompute := func() { expect(t, admin.do("POST", "/v1/analytics:recomputeAll", map[string]any{}), http.StatusOK) }

	// 1. Identified on social media: a prospect of alice's.
	c := j.mgr.do("POST", "/v1/customers", map[string]any{"displayName": "周小梅", "source": "SOURCE_CHANNEL_SOCIAL_MEDIA",
		"accountManager": "alice", "needProfile": map[string]any{"emotional": true}})
	expect(t, c, http.StatusOK)
	j.customer = c.body["name"].(string)
	j.step("prospect", "PROSPECT", []string{"emotional-needs"}, func(in map[string]any) bool {
		return path(in, "rfm.label") == "NO_PURCHASES"
	})

	// 2. The first purchase.
	start := time.Now()
	j.purchase(start.Add(-60*time.Second), "1800.00")
	j.step("first purchase", "FIRST_PURCHASE", []string{"new"}, nil)

	// 3. Repeat purchases every 20 seconds: the customer's usual interval.
	j.purchase(start.Add(-40*time.Second), "2400.00")
	j.purchase(start.Add(-20*time.Second), "3000.00")
	recompute()
	j.step("repeat purchases", "REPEAT", []string{"repeat", "high-value"}, func(in map[string]any) bool {
		return path(in, "valueTier.value") == "A" && path(in, "valueLevel") == "HIGH" && path(in, "rfm.recency") == float64(5)
	})
	if tier := j.mgr.do("GET", "/v1/"+j.customer, nil).body["valueTier"]; tier != "VALUE_TIER_A" {
		j.eventually("tier A written back", func() bool { return j.mgr.do("GET", "/v1/"+j.customer, nil).body["valueTier"] == "VALUE_TIER_A" })
	}

	// 4. A follow-up visit (回访), planned and logged.
	alice := client{t, s.BaseURL, s.Token(t, "alice", auth.RoleAgent)}
	fu := alice.do("POST", "/v1/"+j.customer+"/followUps", map[string]any{"purpose": "回访: how is the tea?", "channel": "CHANNEL_PHONE",
		"assignee": "alice", "dueTime": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	expect(t, fu, http.StatusOK)
	expect(t, alice.do("POST", "/v1/"+fu.body["name"].(string)+":complete", map[string]any{"newInteraction": map[string]any{
		"channel": "CHANNEL_PHONE", "kind": "INTERACTION_KIND_CONTACT", "direction": "DIRECTION_OUTBOUND", "subject": "Follow-up call",
		"touchpoint": "touchpoints/hotline", "satisfaction": 4}}), http.StatusOK)
	j.step("follow-up visit", "REPEAT", []string{"repeat"}, func(in map[string]any) bool {
		channels, _ := path(in, "facts.interactionsByChannel").([]any)
		return len(channels) > 0
	})

	// 5. A complaint under an SLA.
	var always []map[string]string
	for _, day := range []string{"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"} {
		always = append(always, map[string]string{"day": "DAY_OF_WEEK_" + day, "start": "00:00", "end": "23:59"})
	}
	expect(t, j.mgr.do("POST", "/v1/slaPolicies?slaPolicyId=standard", map[string]any{"displayName": "Standard",
		"firstResponseTarget": "3600s", "resolutionTarget": "28800s",
		"calendar": map[string]any{"timeZone": "Asia/Shanghai", "workingHours": always}}), http.StatusOK)
	tk := alice.do("POST", "/v1/tickets", map[string]any{"customer": j.customer, "type": "TICKET_TYPE_COMPLAINT",
		"channel": "CHANNEL_HOTLINE", "subject": "茶叶受潮", "description": "The last order arrived damp"})
	expect(t, tk, http.StatusOK)
	ticket := tk.body["name"].(string)
	if tk.body["slaPolicy"] != "slaPolicies/standard" {
		t.Errorf("ticket without the SLA policy: %s", tk.raw)
	}
	j.step("complaint", "REPEAT", nil, func(in map[string]any) bool {
		return path(in, "facts.complaints90d") == "1" && path(in, "facts.openTickets") == "1"
	})

	// 6. Resolved; the customer rates it 2 through the public link.
	expect(t, alice.do("POST", "/v1/"+ticket+":transition", map[string]any{"status": "STATUS_OPEN"}), http.StatusOK)
	expect(t, alice.do("POST", "/v1/"+ticket+":transition", map[string]any{"status": "STATUS_RESOLVED",
		"rootCause": "packaging", "resolutionSummary": "Sent a replacement in sealed tins"}), http.StatusOK)
	sla := alice.do("GET", "/v1/"+ticket+"/slaStatus", nil)
	expect(t, sla, http.StatusOK)
	expect(t, client{t, s.BaseURL, ""}.do("POST", "/v1/publicSurveys/"+testkit.SurveyToken(t, s.ServiceDeskConn, ticket)+":answer",
		map[string]any{"score": 2, "comment": "Slow"}), http.StatusOK)
	j.step("resolution and CSAT", "REPEAT", []string{"dissatisfied"}, func(in map[string]any) bool {
		return path(in, "facts.averageCsat") == float64(2) && path(in, "satisfaction.value") == "LOW"
	})

	// 7. Loyalty points.
	expect(t, j.mgr.do("POST", "/v1/"+j.customer+":adjustPoints", map[string]any{"delta": 720, "reason": "purchases 7,200 CNY", "requestId": "journey-points-1"}), http.StatusOK)
	j.step("loyalty points", "REPEAT", nil, func(in map[string]any) bool { return path(in, "facts.loyaltyPoints") == "720" })

	// 8. Silence: no purchase for more than twice the usual interval.
	var reasons string
	j.step("silence", "AT_RISK", nil, func(in map[string]any) bool {
		list, _ := path(in, "churnRisk.reasons").([]any)
		reasons = fmt.Sprint(list)
		score, _ := path(in, "churnRisk.score").(float64)
		return score >= 70
	})
	for _, want := range []string{"× the usual interval", "1 complaints in 90 days", "CSAT fell to 2.0"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("churn reasons %s lack %q", reasons, want)
		}
	}
	transitions := j.mgr.do("GET", "/v1/"+j.customer+"/lifecycleTransitions", nil)
	if !strings.Contains(transitions.raw, "the usual interval") {
		t.Errorf("the AT_RISK transition lacks its reason: %s", transitions.raw)
	}

	// 9. The churn warning lists the customer for alice (once a lifecycle
	// pass has assessed the risk the insights compute on reading); tier A
	// owes a retention visit in her agenda.
	j.eventually("alice's at-risk customers", func() bool {
		atRisk := alice.do("GET", "/v1/atRiskCustomers", nil)
		return atRisk.code == http.StatusOK && strings.Contains(atRisk.raw, j.customer)
	})
	j.eventually("the retention visit", func() bool {
		r := alice.do("GET", "/v1/"+j.customer+"/followUps", nil)
		return r.code == http.StatusOK && strings.Contains(r.raw, "alice") && strings.Contains(strings.ToLower(r.raw), "retention")
	})

	// 10. The manager's dashboards over REST see her: all of the period's
	// revenue (7,200 CNY), tier A, in the RFM grid.
	vd := j.mgr.do("GET", "/v1/dashboards/valueDistribution?startTime="+start.Add(-time.Hour).UTC().Format(time.RFC3339), nil)
	expect(t, vd, http.StatusOK)
	currencies, _ := vd.body["currencies"].([]any)
	if len(currencies) != 1 || path(currencies[0].(map[string]any), "revenue") != "7200" {
		t.Errorf("value distribution: %s", vd.raw)
	} else if tiers, _ := path(currencies[0].(map[string]any), "tiers").([]any); len(tiers) != 1 ||
		tiers[0].(map[string]any)["valueLevel"] != "HIGH" || tiers[0].(map[string]any)["revenuePercent"] != float64(100) {
		t.Errorf("value distribution tiers: %s", vd.raw)
	}
	grid := j.mgr.do("GET", "/v1/dashboards/rfmGrid", nil)
	expect(t, grid, http.StatusOK)
	if grid.body["customers"] != "1" {
		t.Errorf("RFM grid: %s", grid.raw)
	}
	// The first purchase was made as a prospect at the online store, and
	// the prospect moved on.
	journeyMap := j.mgr.do("GET", "/v1/dashboards/journeyMap", nil)
	expect(t, journeyMap, http.StatusOK)
	found := false
	cells, _ := journeyMap.body["cells"].([]any)
	for _, c := range cells {
		m := c.(map[string]any)
		found = found || (m["stage"] == "PROSPECT" && m["touchpoint"] == "touchpoints/online-store" && m["converted"] == "1")
	}
	if !found {
		t.Errorf("journey map: %s", journeyMap.raw)
	}
	// The same as CSV, for a spreadsheet; errors stay JSON.
	csv := j.mgr.do("GET", "/v1/dashboards/journeyMap:exportCsv", nil)
	expect(t, csv, http.StatusOK)
	if !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") || !strings.Contains(csv.raw, "cells.stage") ||
		!strings.Contains(csv.raw, "PROSPECT") || !strings.Contains(csv.raw, "touchpoints/online-store") {
		t.Errorf("journey map as CSV: %s", csv.raw)
	}
	bad := j.mgr.do("GET", "/v1/dashboards/valueDistribution:exportCsv?startTime=2026-02-01T00:00:00Z&endTime=2026-01-01T00:00:00Z", nil)
	if bad.code != http.StatusBadRequest || bad.errorReason() == "" {
		t.Errorf("a bad CSV export: HTTP %d %s", bad.code, bad.raw)
	}
	// The complaint in this week's service KPIs: opened and rated 2 (the
	// low rating reopened it, so it is not resolved any more).
	kpis := j.mgr.do("GET", "/v1/dashboards/serviceKpis?granularity=WEEK", nil)
	expect(t, kpis, http.StatusOK)
	points, _ := kpis.body["points"].([]any)
	if len(points) != 1 {
		t.Fatalf("service KPIs: %s", kpis.raw)
	}
	if all := points[0].(map[string]any); all["opened"] != "1" || all["resolved"] != "0" || all["csatAnswers"] != "1" || all["csatAverage"] != float64(2) {
		t.Errorf("service KPIs: %s", kpis.raw)
	}
	// Alice's follow-ups due in the coming month: the visit she logged and
	// the retention visit.
	care := j.mgr.do("GET", "/v1/dashboards/careAndFollowUp?endTime="+time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339), nil)
	expect(t, care, http.StatusOK)
	j.eventually("alice's follow-ups in the dashboard", func() bool {
		care = j.mgr.do("GET", "/v1/dashboards/careAndFollowUp?endTime="+time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339), nil)
		list, _ := care.body["assignees"].([]any)
		for _, a := range list {
			if m := a.(map[string]any); m["key"] == "alice" && m["due"] == "2" && m["completed"] == "1" {
				return true
			}
		}
		return false
	})
}
