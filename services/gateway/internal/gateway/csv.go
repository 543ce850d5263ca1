package gateway

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
)

// csvExport matches the CSV form of a dashboard:
// GET /v1/dashboards/{dashboard}:exportCsv with the dashboard's parameters.
var csvExport = regexp.MustCompile(`^/v1/dashboards/([A-Za-z]+):exportCsv$`)

// exportCSV serves every dashboard as CSV too: the request goes through
// the REST route of the dashboard itself (same parameters, access rules
// and errors), and a successful answer is written as a table whose rows
// are the answer's series (see flatten). Errors stay JSON statuses.
func exportCSV(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := csvExport.FindStringSubmatch(r.URL.Path)
		if r.Method != http.MethodGet || m == nil {
			next.ServeHTTP(w, r)
			return
		}
		inner := r.Clone(r.Context())
		inner.URL.Path, inner.URL.RawPath = strings.TrimSuffix(r.URL.Path, ":exportCsv"), ""
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, inner)
		for k, v := range rec.Header() {
			if k != "Content-Type" && k != "Content-Length" && k != "Etag" {
				w.Header()[k] = v
			}
		}
		var answer map[string]any
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &answer) != nil {
			w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		columns, rows := flatten(answer)
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", m[1]+".csv"))
		// A byte order mark, so spreadsheet programs read Chinese text as
		// UTF-8.
		_, _ = w.Write([]byte("\ufeff"))
		out := csv.NewWriter(w)
		_ = out.Write(columns)
		for _, row := range rows {
			record := make([]string, len(columns))
			for i, c := range columns {
				record[i] = row[c]
			}
			_ = out.Write(record)
		}
		out.Flush()
	})
}

// flatten turns a dashboard's JSON answer into a table: each element of an
// array of objects is a row, carrying the fields of the objects around it
// (dotted names: "cells.stage", "currencies.tiers.revenue"); an object with
// several such arrays gives the rows of each in turn (the "series" column
// names the array); nested objects become dotted columns; arrays of plain
// values are joined with ";"; empty arrays add nothing. Columns come in
// the order first seen.
func flatten(answer map[string]any) ([]string, []map[string]string) {
	var columns []string
	seen := map[string]bool{}
	var rows []map[string]string
	add := func(row map[string]string, key, value string) {
		if !seen[key] {
			seen[key] = true
			columns = append(columns, key)
		}
		row[key] = value
	}
	var walk func(obj map[string]any, prefix string, context map[string]string, series string)
	walk = func(obj map[string]any, prefix string, context map[string]string, series string) {
		row := map[string]string{}
		for k, v := range context {
			row[k] = v
		}
		if series != "" {
			add(row, "series", series)
		}
		var lists []string
		var scalars func(o map[string]any, p string)
		scalars = func(o map[string]any, p string) {
			keys := make([]string, 0, len(o))
			for k := range o {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				switch v := o[k].(type) {
				case map[string]any:
					scalars(v, p+k+".")
				case []any:
					if len(v) == 0 {
						lists = append(lists, p+k) // a series without rows (or an empty list)
						continue
					}
					if _, objects := v[0].(map[string]any); objects {
						lists = append(lists, p+k)
						continue
					}
					parts := make([]string, len(v))
					for i, e := range v {
						parts[i] = fmt.Sprint(e)
					}
					add(row, p+k, strings.Join(parts, ";"))
				case nil:
					add(row, p+k, "")
				default:
					add(row, p+k, fmt.Sprint(v))
				}
			}
		}
		scalars(obj, prefix)
		if len(lists) == 0 {
			rows = append(rows, row)
			return
		}
		for _, l := range lists {
			name := strings.TrimPrefix(l, prefix)
			for _, e := range lookup(obj, name) {
				if child, ok := e.(map[string]any); ok {
					s := series
					if len(lists) > 1 {
						s = l
					}
					walk(child, l+".", row, s)
				}
			}
		}
	}
	walk(answer, "", map[string]string{}, "")
	return columns, rows
}

// lookup is the array at a dotted path inside obj.
func lookup(obj map[string]any, path string) []any {
	var v any = obj
	for _, k := range strings.Split(path, ".") {
		o, _ := v.(map[string]any)
		v = o[k]
	}
	list, _ := v.([]any)
	return list
}
