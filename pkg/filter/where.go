package filter

import (
	"fmt"
	"strings"
)

// Where builds a parameterised WHERE clause from fixed conditions, bound
// values and AIP-160 filters, numbering placeholders in order so the
// pieces never collide. The zero value is ready to use.
type Where struct {
	conds []string
	args  []any
}

// Arg binds a value and returns its placeholder ("$3").
func (w *Where) Arg(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

// Add appends a condition; each %s in format becomes the placeholder of
// the matching value. Without values, format is used as it is.
func (w *Where) Add(format string, values ...any) {
	if len(values) == 0 {
		w.conds = append(w.conds, format)
		return
	}
	ph := make([]any, len(values))
	for i, v := range values {
		ph[i] = w.Arg(v)
	}
	w.conds = append(w.conds, fmt.Sprintf(format, ph...))
}

// Filter compiles an AIP-160 filter over schema into the clause.
func (w *Where) Filter(f string, schema Schema) error {
	cl, err := Compile(f, schema, len(w.args))
	if err != nil {
		return err
	}
	w.conds = append(w.conds, "("+cl.SQL+")")
	w.args = append(w.args, cl.Args...)
	return nil
}

// SQL is the conjunction of the conditions ("TRUE" when there are none).
func (w *Where) SQL() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}

// Args are the bound values, in placeholder order.
func (w *Where) Args() []any { return w.args }

// EnumValues returns a Field.Enum mapping that accepts the short ("LOYAL")
// and the full proto name ("LIFECYCLE_STAGE_LOYAL") of each stored value,
// case-insensitively.
func EnumValues[T ~string](prefix string, values ...T) func(string) (string, bool) {
	return func(lit string) (string, bool) {
		lit = strings.TrimPrefix(strings.ToUpper(lit), prefix)
		for _, v := range values {
			if string(v) == lit {
				return lit, true
			}
		}
		return "", false
	}
}
