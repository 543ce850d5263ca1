package customer

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kehu-crm/kehu/pkg/resource"
)

// sortFields are the fields List orders by, each with how to read its key
// from a customer for the page cursor. The store compares the same keys in
// SQL (its sortColumns name the expression for each of these fields).
var sortFields = map[string]func(*Customer) string{
	"create_time":    func(c *Customer) string { return c.CreateTime.Format(time.RFC3339Nano) },
	"update_time":    func(c *Customer) string { return c.UpdateTime.Format(time.RFC3339Nano) },
	"display_name":   func(c *Customer) string { return strings.ToLower(c.DisplayName) },
	"company":        func(c *Customer) string { return strings.ToLower(c.Company) },
	"loyalty_points": func(c *Customer) string { return strconv.FormatInt(c.Points, 10) },
}

// SortFields lists the sortable fields, for the store to check its SQL
// against and for error messages.
func SortFields() []string {
	fields := make([]string, 0, len(sortFields))
	for f := range sortFields {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	return fields
}

// ParseOrderBy reads an AIP-132 order_by with one field.
func ParseOrderBy(s string) (Order, error) {
	return resource.ParseOrder(s, SortFields(), Order{Field: "create_time", Desc: true})
}

// SortKey returns c's value of the order field, as stored in page cursors.
func SortKey(c *Customer, field string) string {
	if key, ok := sortFields[field]; ok {
		return key(c)
	}
	return sortFields["create_time"](c)
}
