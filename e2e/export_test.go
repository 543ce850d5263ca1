package e2e_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kehu-crm/kehu/e2e"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// TestRESTDataSubjectExport: everything Kehu holds about a person, from
// every service, in one JSON document (profile, lifecycle history, points,
// interactions, follow-ups, tickets with comments and history, insights,
// segments); a caller gets exactly what they may read: an agent who may
// not see the customer gets 404, an analyst the masked profile.
func TestRESTDataSubjectExport(t *testing.T) {
	s := e2e.Start(t, e2e.Options{})
	admin := client{t, s.BaseURL, s.Token(t, "root", auth.RoleAdmin)}
	c := admin.do("POST", "/v1/customers", map[string]any{"displayName": "欧阳娜", "emails": []string{"na.ouyang@example.cn"}, "accountManager": "alice"})
	expect(t, c, http.StatusOK)
	name := c.body["name"].(string)
	expect(t, admin.do("POST", "/v1/"+name+":transitionLifecycleStage", map[string]any{"stage": "LIFECYCLE_STAGE_FIRST_PURCHASE", "reason": "首单"}), http.StatusOK)
	expect(t, admin.do("POST", "/v1/"+name+":adjustPoints", map[string]any{"delta": 120, "reason": "首单积分", "requestId": "points-1"}), http.StatusOK)
	expect(t, admin.do("POST", "/v1/"+name+"/interactions", map[string]any{
		"channel": "CHANNEL_WEBSITE", "kind": "INTERACTION_KIND_PURCHASE", "amount": map[string]any{"currencyCode": "CNY", "amount": "88.00"},
	}), http.StatusOK)
	expect(t, admin.do("POST", "/v1/"+name+"/followUps", map[string]any{
		"purpose": "回访", "channel": "CHANNEL_PHONE", "dueTime": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339), "assignee": "alice",
	}), http.StatusOK)
	tk := admin.do("POST", "/v1/tickets", map[string]any{"customer": name, "type": "TICKET_TYPE_INQUIRY", "channel": "CHANNEL_EMAIL", "subject": "发票抬头"})
	expect(t, tk, http.StatusOK)
	for _, v := range []string{"VISIBILITY_PUBLIC", "VISIBILITY_INTERNAL"} {
		expect(t, admin.do("POST", "/v1/"+tk.body["name"].(string)+"/comments", map[string]any{"visibility": v, "body": "已处理 " + v}), http.StatusOK)
	}
	for deadline := time.Now().Add(20 * time.Second); admin.do("GET", "/v1/"+name+"/insights", nil).code != http.StatusOK; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("analytics never followed the customer")
		}
	}

	export := admin.do("GET", "/v1/"+name+":exportData", nil)
	expect(t, export, http.StatusOK)
	if !strings.Contains(export.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("headers: %v", export.header)
	}
	var doc struct {
		Customer             map[string]any   `json:"customer"`
		LifecycleTransitions []map[string]any `json:"lifecycleTransitions"`
		PointsLedger         []map[string]any `json:"pointsLedger"`
		Interactions         []map[string]any `json:"interactions"`
		FollowUps            []map[string]any `json:"followUps"`
		Tickets              []struct {
			Ticket   map[string]any   `json:"ticket"`
			Comments []map[string]any `json:"comments"`
			Changes  []map[string]any `json:"changes"`
		} `json:"tickets"`
		Surveys  []map[string]any `json:"surveys"`
		Insights map[string]any   `json:"insights"`
		Segments map[string]any   `json:"segments"`
		Error    map[string]any   `json:"error"`
	}
	if err := json.Unmarshal([]byte(export.raw), &doc); err != nil {
		t.Fatalf("export is not one JSON document: %v\n%s", err, export.raw)
	}
	switch {
	case doc.Error != nil:
		t.Fatalf("export ended with an error: %v", doc.Error)
	case doc.Customer["displayName"] != "欧阳娜":
		t.Errorf("customer: %v", doc.Customer)
	case len(doc.LifecycleTransitions) == 0 || len(doc.PointsLedger) != 1 || len(doc.Interactions) != 1 || len(doc.FollowUps) != 1:
		t.Errorf("history: %d transitions, %d points entries, %d interactions, %d follow-ups",
			len(doc.LifecycleTransitions), len(doc.PointsLedger), len(doc.Interactions), len(doc.FollowUps))
	case len(doc.Tickets) != 1 || len(doc.Tickets[0].Comments) != 2 || len(doc.Tickets[0].Changes) == 0:
		t.Errorf("tickets: %+v", doc.Tickets)
	case doc.Insights == nil || doc.Segments == nil:
		t.Errorf("analytics: insights %v, segments %v", doc.Insights, doc.Segments)
	}

	// Another agent's customer does not exist for bob; an analyst reads
	// the profile masked, and nowhere in the document the e-mail.
	bob := client{t, s.BaseURL, s.Token(t, "bob", auth.RoleAgent)}
	expect(t, bob.do("GET", "/v1/"+name+":exportData", nil), http.StatusNotFound)
	analyst := client{t, s.BaseURL, s.Token(t, "ana", auth.RoleAnalyst)}
	masked := analyst.do("GET", "/v1/"+name+":exportData", nil)
	expect(t, masked, http.StatusOK)
	if strings.Contains(masked.raw, "na.ouyang@example.cn") {
		t.Errorf("the analyst's export holds the e-mail: %s", masked.raw)
	}
	if !json.Valid([]byte(masked.raw)) {
		t.Errorf("the analyst's export is not JSON: %s", masked.raw)
	}
}
