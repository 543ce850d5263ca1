package resource

import (
	"errors"
	"slices"
	"testing"

	"github.com/kehu-crm/kehu/pkg/errs"
)

func TestCheckMask(t *testing.T) {
	f := Fields{
		Updatable:  []string{"display_name", "tags"},
		OutputOnly: []string{"name", "etag"},
		Dedicated:  map[string]string{"loyalty_points": "AdjustPoints"},
	}
	if got, err := f.CheckMask([]string{"*"}); err != nil || !slices.Equal(got, f.Updatable) {
		t.Fatalf(`"*" = %v, %v; want every updatable field`, got, err)
	}
	if got, err := f.CheckMask([]string{"tags"}); err != nil || !slices.Equal(got, []string{"tags"}) {
		t.Fatalf("tags = %v, %v", got, err)
	}
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{nil, "update_mask: is required: name the fields to change, or \"*\" for all updatable fields"},
		{[]string{"etag"}, `update_mask: "etag" is output only`},
		{[]string{"loyalty_points"}, `update_mask: "loyalty_points" cannot be updated directly; use AdjustPoints`},
		{[]string{"nope", "name"}, `update_mask: unknown or immutable field "nope" (and 1 more violation)`},
	} {
		_, err := f.CheckMask(tc.paths)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindInvalidArgument || e.Message != tc.want {
			t.Errorf("CheckMask(%v) = %v; want INVALID_ARGUMENT %q", tc.paths, err, tc.want)
		}
	}
}
