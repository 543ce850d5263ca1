package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"time"
)

// dataExport matches the data-subject export of a customer:
// GET /v1/customers/{customer}:exportData.
var dataExport = regexp.MustCompile(`^/v1/(customers/[^/:]+):exportData$`)

// exportPage is the page size of the list calls behind an export.
const exportPage = "1000"

// exportData serves everything Kehu holds about one person, across every
// service, as one JSON document streamed section by section: the profile,
// lifecycle history and points ledger (customer service), interactions,
// follow-ups and care greetings (interaction service), tickets with their
// comments and history, and surveys (service desk), insights and segments
// (analytics). Each section is read through the REST route of its own
// list or get — same access rules, masking and errors as for any other
// call of the caller's, page by page — so a caller exports exactly what
// they may read. An error before the first byte is the route's own; one
// later ends the document with an "error" member.
func exportData(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := dataExport.FindStringSubmatch(r.URL.Path)
		if r.Method != http.MethodGet || m == nil {
			next.ServeHTTP(w, r)
			return
		}
		name := m[1]
		x := &exporter{next: next, r: r}
		profile, failed := x.get("/v1/" + name)
		if failed != nil {
			failed.copyTo(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "kehu-"+name[len("customers/"):]+".json"))
		x.out = w
		x.write(`{"exportTime":%q,"customer":`, time.Now().UTC().Format(time.RFC3339))
		x.raw(profile)
		filter := url.Values{"filter": {fmt.Sprintf("customer = %q", name)}}
		err := x.sections(
			section{"lifecycleTransitions", "/v1/" + name + "/lifecycleTransitions", nil, "lifecycleTransitions"},
			section{"pointsLedger", "/v1/" + name + "/pointsLedger", nil, "entries"},
			section{"interactions", "/v1/" + name + "/interactions", url.Values{"showDeleted": {"true"}}, "interactions"},
			section{"followUps", "/v1/" + name + "/followUps", nil, "followUps"},
		)
		if err == nil {
			err = x.tickets(filter)
		}
		if err == nil {
			err = x.sections(section{"surveys", "/v1/surveys", filter, "surveys"})
		}
		if err == nil {
			err = x.single("insights", "/v1/"+name+"/insights")
		}
		if err == nil {
			err = x.single("segments", "/v1/"+name+"/segments")
		}
		if err != nil {
			x.write(`,"error":`)
			x.raw(err.body)
		}
		x.write("}\n")
	})
}

// section is one list route and the field of its answer with the items.
type section struct {
	key, path string
	query     url.Values
	items     string
}

// exporter reads through the gateway's routes as the caller and writes
// the document.
type exporter struct {
	next http.Handler
	r    *http.Request
	out  io.Writer
}

// failure is a route's answer other than 200.
type failure struct {
	code   int
	header http.Header
	body   json.RawMessage
}

func (f *failure) copyTo(w http.ResponseWriter) {
	for k, v := range f.header {
		w.Header()[k] = v
	}
	w.WriteHeader(f.code)
	_, _ = w.Write(f.body)
}

func (x *exporter) write(format string, args ...any) { fmt.Fprintf(x.out, format, args...) }

func (x *exporter) raw(b json.RawMessage) { _, _ = x.out.Write(bytes.TrimSpace(b)) }

// get calls a route as the caller.
func (x *exporter) get(path string, query ...url.Values) (json.RawMessage, *failure) {
	inner := x.r.Clone(x.r.Context())
	inner.URL.Path, inner.URL.RawPath, inner.URL.RawQuery = path, "", ""
	if len(query) > 0 {
		inner.URL.RawQuery = query[0].Encode()
	}
	rec := httptest.NewRecorder()
	x.next.ServeHTTP(rec, inner)
	if rec.Code != http.StatusOK {
		return nil, &failure{code: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	}
	return rec.Body.Bytes(), nil
}

// pages calls a list route page by page and hands on each item.
func (x *exporter) pages(s section, each func(json.RawMessage) *failure) *failure {
	token := ""
	for {
		q := url.Values{"pageSize": {exportPage}}
		for k, v := range s.query {
			q[k] = v
		}
		if token != "" {
			q.Set("pageToken", token)
		}
		body, failed := x.get(s.path, q)
		if failed != nil {
			return failed
		}
		var page map[string]json.RawMessage
		if err := json.Unmarshal(body, &page); err != nil {
			return &failure{code: http.StatusInternalServerError, body: json.RawMessage(`{"message":"unreadable answer"}`)}
		}
		var items []json.RawMessage
		_ = json.Unmarshal(page[s.items], &items)
		for _, item := range items {
			if failed := each(item); failed != nil {
				return failed
			}
		}
		if err := json.Unmarshal(page["nextPageToken"], &token); err != nil || token == "" {
			return nil
		}
	}
}

// sections writes each list as an array member.
func (x *exporter) sections(sections ...section) *failure {
	for _, s := range sections {
		x.write(`,%q:[`, s.key)
		first := true
		failed := x.pages(s, func(item json.RawMessage) *failure {
			if !first {
				x.write(",")
			}
			first = false
			x.raw(item)
			return nil
		})
		x.write("]")
		if failed != nil {
			return failed
		}
	}
	return nil
}

// tickets writes the customer's tickets, each with its comments and
// history.
func (x *exporter) tickets(filter url.Values) *failure {
	q := url.Values{"showDeleted": {"true"}}
	for k, v := range filter {
		q[k] = v
	}
	x.write(`,"tickets":[`)
	first := true
	failed := x.pages(section{path: "/v1/tickets", query: q, items: "tickets"}, func(item json.RawMessage) *failure {
		var ticket map[string]json.RawMessage
		var name string
		if json.Unmarshal(item, &ticket) != nil || json.Unmarshal(ticket["name"], &name) != nil {
			return &failure{code: http.StatusInternalServerError, body: json.RawMessage(`{"message":"unreadable ticket"}`)}
		}
		if !first {
			x.write(",")
		}
		first = false
		x.write(`{"ticket":`)
		x.raw(item)
		defer x.write("}")
		return x.sections(
			section{"comments", "/v1/" + name + "/comments", nil, "comments"},
			section{"changes", "/v1/" + name + "/changes", nil, "changes"},
		)
	})
	x.write("]")
	return failed
}

// single writes one answer as a member.
func (x *exporter) single(key, path string) *failure {
	body, failed := x.get(path)
	if failed != nil {
		return failed
	}
	x.write(`,%q:`, key)
	x.raw(body)
	return nil
}
