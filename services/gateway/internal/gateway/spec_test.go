package gateway

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kehu-crm/kehu/pkg/api/openapi"
)

type specDoc struct {
	Paths       map[string]map[string]specOp `json:"paths"`
	Definitions map[string]json.RawMessage   `json:"definitions"`
}

type specOp struct {
	OperationID string                     `json:"operationId"`
	Responses   map[string]json.RawMessage `json:"responses"`
}

func readSpec(t *testing.T, hidden map[string]bool) (specDoc, string) {
	t.Helper()
	raw, err := servedSpec(openapi.Spec, hidden)
	if err != nil {
		t.Fatal(err)
	}
	var doc specDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc, string(raw)
}

// The document reads as resources, documents errors, and every reference
// in it resolves, whether or not internal RPCs are exposed.
func TestServedSpecIsWellFormed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hidden map[string]bool
	}{{"default", internalRPCs}, {"internal exposed", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			doc, raw := readSpec(t, tc.hidden)
			if _, ok := doc.Paths["/v1/customers/{customer}/interactions/{interaction}"]; !ok {
				t.Errorf("resource paths not expanded; paths: %v", keys(doc.Paths))
			}
			for path, ops := range doc.Paths {
				// Collapsed patterns (/v1/{name}, /v1/{name_1}) are what
				// linters reject as identical paths.
				if strings.Contains(path, "{name") || strings.Contains(path, "{parent") {
					t.Errorf("collapsed path %s", path)
				}
				for verb, op := range ops {
					has4xx := false
					for code := range op.Responses {
						has4xx = has4xx || strings.HasPrefix(code, "4")
					}
					if !has4xx {
						t.Errorf("%s %s documents no 4xx response", verb, path)
					}
				}
			}
			for _, ref := range strings.Split(raw, `"$ref":"#/definitions/`)[1:] {
				name := ref[:strings.IndexByte(ref, '"')]
				if _, ok := doc.Definitions[name]; !ok {
					t.Errorf("dangling $ref %s", name)
				}
			}
		})
	}
}

// Operations the gateway does not serve are not advertised, nor are the
// definitions only they used.
func TestServedSpecLeavesOutInternalRPCs(t *testing.T) {
	doc, _ := readSpec(t, internalRPCs)
	for _, ops := range doc.Paths {
		for _, op := range ops {
			for method := range internalRPCs {
				if op.OperationID == operationID(method) {
					t.Errorf("internal RPC %s advertised", method)
				}
			}
		}
	}
	if _, ok := doc.Definitions["v1ImportCustomersRequest"]; ok {
		t.Error("definition used only by an internal RPC kept")
	}
	full, _ := readSpec(t, nil)
	if _, ok := full.Paths["/v1/customers:import"]; !ok {
		t.Error("exposed internal RPCs missing from the document")
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
