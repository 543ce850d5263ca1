package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
)

// servedSpec is the OpenAPI document as this gateway serves it: operations
// of RPCs it does not expose are left out (a client reading the document
// must not be sent to routes that answer NOT_EXPOSED), together with the
// definitions only they used, so the served document stays lint-clean;
// and the CSV form of every dashboard (see exportCSV) is in it.
func servedSpec(spec []byte, hidden map[string]bool) ([]byte, error) {
	hiddenOps := map[string]bool{}
	for method := range hidden {
		hiddenOps[operationID(method)] = true
	}
	var doc map[string]any
	if err := json.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("reading the OpenAPI document: %w", err)
	}
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		for verb, op := range ops {
			if id, _ := op.(map[string]any)["operationId"].(string); hiddenOps[id] {
				delete(ops, verb)
			}
		}
		if len(ops) == 0 {
			delete(paths, path)
		}
	}
	addCSVExports(paths)
	addDataExport(paths)
	pruneDefinitions(doc)
	return json.Marshal(doc)
}

// addCSVExports documents GET {dashboard}:exportCsv next to each
// dashboard: the same parameters and errors, a CSV table on success.
func addCSVExports(paths map[string]any) {
	for path, item := range paths {
		get, _ := item.(map[string]any)["get"].(map[string]any)
		if !strings.HasPrefix(path, "/v1/dashboards/") || get == nil {
			continue
		}
		op := map[string]any{}
		for k, v := range get {
			op[k] = v
		}
		op["operationId"] = fmt.Sprint(get["operationId"]) + "_ExportCsv"
		op["summary"] = "The dashboard as CSV"
		op["description"] = "The answer of " + fmt.Sprint(get["operationId"]) + " as a table: one row per element of its series, columns named by their path (e.g. cells.stage)."
		op["produces"] = []any{"text/csv"}
		responses := map[string]any{}
		for code, r := range get["responses"].(map[string]any) {
			responses[code] = r
		}
		responses["200"] = map[string]any{"description": "The dashboard as CSV (UTF-8 with a byte order mark).", "schema": map[string]any{"type": "string"}}
		op["responses"] = responses
		paths[path+":exportCsv"] = map[string]any{"get": op}
	}
}

// addDataExport documents GET /v1/customers/{customer}:exportData (see
// exportData) with the errors of the customer's own GET.
func addDataExport(paths map[string]any) {
	get, _ := paths["/v1/customers/{customer}"].(map[string]any)["get"].(map[string]any)
	if get == nil {
		return
	}
	responses := map[string]any{}
	for code, r := range get["responses"].(map[string]any) {
		responses[code] = r
	}
	responses["200"] = map[string]any{
		"description": "One JSON document: exportTime, customer, lifecycleTransitions, pointsLedger, interactions, followUps, " +
			"tickets (each with its comments and changes), surveys, insights and segments, each as the route that lists it answers; " +
			"an error after the document began ends it with an error member.",
		"schema": map[string]any{"type": "object"},
	}
	paths["/v1/customers/{customer}:exportData"] = map[string]any{"get": map[string]any{
		"operationId": "CustomerService_ExportCustomerData",
		"summary":     "Everything Kehu holds about a person (data-subject access)",
		"description": "Reads every service as the caller, with the caller's access rules and masking, and streams the result.",
		"tags":        get["tags"],
		"parameters":  get["parameters"],
		"produces":    []any{"application/json"},
		"responses":   responses,
	}}
}

// operationID is protoc-gen-openapiv2's operation id of a gRPC method:
// "/kehu.customer.v1.CustomerService/ImportCustomers" becomes
// "CustomerService_ImportCustomers".
func operationID(fullMethod string) string {
	service, method, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	return service[strings.LastIndex(service, ".")+1:] + "_" + method
}

// pruneDefinitions drops the definitions no longer reachable from the
// paths or the document-wide responses.
func pruneDefinitions(doc map[string]any) {
	defs, _ := doc["definitions"].(map[string]any)
	const prefix = "#/definitions/"
	reachable := map[string]bool{}
	var queue []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok && strings.HasPrefix(ref, prefix) {
				if name := strings.TrimPrefix(ref, prefix); !reachable[name] {
					reachable[name] = true
					queue = append(queue, name)
				}
			}
			for _, child := range v {
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(doc["paths"])
	walk(doc["responses"])
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		walk(defs[name])
	}
	for name := range defs {
		if !reachable[name] {
			delete(defs, name)
		}
	}
}
