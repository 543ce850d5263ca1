package resource

import (
	"slices"
	"strings"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Order is an AIP-132 order_by of one field.
type Order struct {
	Field string
	Desc  bool
}

// ParseOrder reads an order_by of one field, optionally followed by "asc"
// or "desc"; allowed are the sortable fields, def the order of "".
func ParseOrder(s string, allowed []string, def Order) (Order, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	parts := strings.Fields(s)
	o := Order{Field: parts[0]}
	switch {
	case len(parts) == 2 && parts[1] == "desc":
		o.Desc = true
	case len(parts) == 2 && parts[1] == "asc":
	case len(parts) != 1:
		return Order{}, errs.InvalidField("order_by", "must be one field optionally followed by \"desc\", got %q", s)
	}
	if !slices.Contains(allowed, o.Field) {
		return Order{}, errs.InvalidField("order_by", "cannot sort by %q; one of %s", o.Field, strings.Join(allowed, ", "))
	}
	return o, nil
}
