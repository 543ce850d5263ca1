package resource

import (
	"testing"

	"github.com/kehu-crm/kehu/pkg/errs"
)

func TestParseID(t *testing.T) {
	const id = "0193a5b0-7c1e-7d2a-9f3b-1c2d3e4f5a6b"
	if got, err := ParseID("name", "savedViews/"+id, "savedViews", "saved view"); err != nil || got != id {
		t.Fatalf("ParseID = %q, %v; want %q", got, err, id)
	}
	for _, tc := range []struct{ name, want string }{
		{"customers/" + id, `name: must be a saved view name like "savedViews/{id}", got "customers/` + id + `"`},
		{"savedViews/", `name: must be a saved view name like "savedViews/{id}", got "savedViews/"`},
		{"savedViews/42", `name: "42" is not a valid saved view id`},
	} {
		_, err := ParseID("name", tc.name, "savedViews", "saved view")
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.KindInvalidArgument || e.Message != tc.want {
			t.Errorf("ParseID(%q) = %v; want INVALID_ARGUMENT %q", tc.name, err, tc.want)
		}
	}
}
