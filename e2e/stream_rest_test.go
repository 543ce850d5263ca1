package e2e_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kehu-crm/kehu/e2e"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// A server-streaming RPC over REST answers with one JSON object per line.
// The gateway's ETag option used to panic on the stream's nil message,
// which cut the connection (the console's "export all matching").
func TestExportCustomersStreamsOverREST(t *testing.T) {
	s := e2e.Start(t, e2e.Options{})
	admin := client{t: t, base: s.BaseURL, token: s.Token(t, "admin", auth.RoleAdmin)}
	for _, name := range []string{"流式导出一", "流式导出二"} {
		if r := admin.do("POST", "/v1/customers", map[string]any{"displayName": name}); r.code != 200 {
			t.Fatalf("create %s: %d %s", name, r.code, r.raw)
		}
	}
	r := admin.do("GET", "/v1/customers:export?filter="+urlQuery(`display_name:"流式导出"`), nil)
	if r.code != 200 {
		t.Fatalf("export: %d %s", r.code, r.raw)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(r.raw), "\n") {
		var chunk struct {
			Result struct {
				Customers []struct {
					DisplayName string `json:"displayName"`
				} `json:"customers"`
			} `json:"result"`
			Error any `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &chunk); err != nil || chunk.Error != nil {
			t.Fatalf("export line %q: %v %v", line, err, chunk.Error)
		}
		for _, c := range chunk.Result.Customers {
			names = append(names, c.DisplayName)
		}
	}
	if len(names) != 2 {
		t.Fatalf("export gave %v, want both customers", names)
	}
}
