package gateway

import (
	"bytes"
	"encoding/json"
	"html/template"
	"sort"
	"strings"
)

// The API page is rendered on the server from the OpenAPI document, so it
// works offline and inside clusters with no route to a CDN.
var docsTemplate = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kehu REST API</title>
<style>
body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.op{margin:1em 0;padding:.6em .8em;border-left:4px solid #888;background:#fafafa}
.m{display:inline-block;min-width:4.5em;font-weight:bold;font-family:monospace}
.GET{border-color:#2a7}.POST{border-color:#27c}.PATCH{border-color:#c80}.DELETE{border-color:#c33}
code{font-size:95%} p{margin:.3em 0} small{color:#666}
</style></head><body>
<h1>Kehu REST API</h1>
<p>Every call needs <code>Authorization: Bearer &lt;token&gt;</code>. Errors are JSON
<code>google.rpc.Status</code> objects with <code>ErrorInfo</code> and <code>BadRequest</code> details.
Mutations return an <code>ETag</code>; send it back as <code>If-Match</code> to avoid lost updates (409 on mismatch).
The machine-readable description is at <a href="/openapi.json">/openapi.json</a>.</p>
{{range .}}<h2>{{.Tag}}</h2>{{range .Ops}}
<div class="op {{.Method}}"><span class="m">{{.Method}}</span> <code>{{.Path}}</code>
<p>{{.Summary}}</p>{{if .Params}}<small>Parameters: {{.Params}}</small>{{end}}</div>{{end}}{{end}}
</body></html>`))

type docOp struct {
	Method, Path, Summary, Params string
}

type docTag struct {
	Tag string
	Ops []docOp
}

func renderDocs(spec []byte) ([]byte, error) {
	var doc struct {
		Paths map[string]map[string]struct {
			Summary     string   `json:"summary"`
			Description string   `json:"description"`
			Tags        []string `json:"tags"`
			Parameters  []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil {
		return nil, err
	}
	byTag := map[string][]docOp{}
	for path, methods := range doc.Paths {
		for method, op := range methods {
			var params []string
			for _, p := range op.Parameters {
				params = append(params, p.Name+" ("+p.In+")")
			}
			summary := op.Summary
			if summary == "" {
				summary = op.Description
			}
			tag := "API"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			byTag[tag] = append(byTag[tag], docOp{strings.ToUpper(method), path, summary, strings.Join(params, ", ")})
		}
	}
	tags := make([]docTag, 0, len(byTag))
	for tag, ops := range byTag {
		sort.Slice(ops, func(i, j int) bool {
			if ops[i].Path != ops[j].Path {
				return ops[i].Path < ops[j].Path
			}
			return ops[i].Method < ops[j].Method
		})
		tags = append(tags, docTag{tag, ops})
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Tag < tags[j].Tag })
	var buf bytes.Buffer
	err := docsTemplate.Execute(&buf, tags)
	return buf.Bytes(), err
}
