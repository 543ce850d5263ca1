// Package filter turns the AIP-160 filter strings that List RPCs accept
// (https://google.aip.dev/160) into a PostgreSQL WHERE fragment.
//
// Two rules keep the filter safe to expose to callers:
//
//   - Only fields in an allow-list (a Schema) can be named. The schema maps
//     each public field to a trusted SQL expression, so callers never choose
//     columns, and internal columns stay invisible.
//   - Every value the caller writes is bound as a query parameter ($N); the
//     generated SQL contains only schema text, operators and placeholders, so
//     no caller text ever reaches the SQL parser.
//
// Limits on length, term count and nesting bound the cost of parsing and of
// the resulting query, since the filter comes straight from the network.
//
// Precedence follows AIP-160 rather than the usual SQL order: OR binds
// tighter than AND, so `a OR b AND c` means `(a OR b) AND c`. Juxtaposition
// (`a=1 b=2`) is an implicit AND that binds tighter than an explicit AND but
// looser than OR. The output is fully parenthesised so SQL's own precedence
// never matters.
package filter

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Type says how a field's values are parsed and which comparators make sense
// for it.
type Type int

// The field types. The comparator rules differ because what a caller can
// sensibly ask differs: ordering makes no sense for tags or enums, and "has"
// (:) on a scalar can only mean equality.
const (
	// String: = and != are exact unless the value contains '*', which is a
	// case-insensitive wildcard (ILIKE); : is case-insensitive substring
	// match; < <= > >= compare as text.
	String Type = iota
	// StringArray: = and : mean "contains the value", != "does not
	// contain"; ordering is rejected.
	StringArray
	// Enum: =, != and : (same as =); the value goes through Field.Enum.
	Enum
	// Bool: =, != and : with true or false.
	Bool
	// Int: all comparators, : meaning =; the value is bound as int64.
	Int
	// Timestamp: all comparators, : meaning =; RFC 3339 values bound as
	// time.Time.
	Timestamp
	// Decimal: all comparators, : meaning =; an exact decimal such as
	// "1299.90" (money), bound as text and compared as numeric, never as
	// a float.
	Decimal
	// Sealed: a field stored encrypted with no index (package envelope).
	// Every comparison is refused with a message saying so: the database
	// cannot compare what it cannot read.
	Sealed
)

// Field is one filterable field.
type Field struct {
	// Column is a trusted SQL expression, e.g. "c.display_name" or
	// "coalesce(c.address->>'city', '')". It is pasted into the SQL verbatim.
	Column string
	Type   Type
	// Enum maps a literal to the stored value (false if unknown). Required
	// for Type Enum, so public enum names can differ from stored ones.
	Enum func(literal string) (string, bool)
	// Index maps a literal to the keyed blind index the column holds in
	// place of an encrypted value (package envelope). Such a field compares
	// by equality only (=, : and !=); ordering, substrings and wildcards
	// are refused, since an index reveals nothing but equality.
	Index func(literal string) string
}

// Schema is the allow-list of fields a filter may name, keyed by public name.
type Schema map[string]Field

// Without returns the schema less the named fields: a caller who may not
// filter on them gets the same "unknown field" answer as for any other.
func (s Schema) Without(names ...string) Schema {
	out := make(Schema, len(s))
	for name, f := range s {
		if !slices.Contains(names, name) {
			out[name] = f
		}
	}
	return out
}

// Clause is a WHERE fragment and the arguments for its placeholders.
type Clause struct {
	SQL  string
	Args []any
}

// Limits on what a caller may send. They bound parser work and, more
// importantly, the size of the query the database has to plan.
const (
	MaxLength = 2000 // bytes of filter text
	MaxTerms  = 50   // comparisons/restrictions in one filter
	MaxDepth  = 10   // parenthesis / NOT nesting
)

// Compile parses filter and returns SQL with placeholders numbered from
// argOffset+1, so the fragment can be appended to a query that already has
// argOffset arguments. An empty or all-whitespace filter matches everything.
func Compile(filter string, schema Schema, argOffset int) (Clause, error) {
	if len(filter) > MaxLength {
		return Clause{}, invalid("filter is %d bytes long; the limit is %d", len(filter), MaxLength)
	}
	// Postgres rejects invalid UTF-8 and NUL in text parameters; catching
	// them here turns what would be an internal error into a caller error.
	if !utf8.ValidString(filter) {
		return Clause{}, invalid("filter is not valid UTF-8")
	}
	if i := strings.IndexByte(filter, 0); i >= 0 {
		return Clause{}, invalid("filter contains a NUL character at position %d", utf8.RuneCountInString(filter[:i])+1)
	}
	if strings.TrimSpace(filter) == "" {
		return Clause{SQL: "TRUE"}, nil
	}
	p := &parser{src: filter, schema: schema, argOffset: argOffset}
	sql, err := p.parseExpression()
	if err != nil {
		return Clause{}, err
	}
	t, err := p.next()
	if err != nil {
		return Clause{}, err
	}
	if t.kind != tokEOF {
		return Clause{}, p.unexpected(t)
	}
	return Clause{SQL: sql, Args: p.args}, nil
}

func invalid(format string, args ...any) error {
	return errs.InvalidField("filter", format, args...)
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokLParen
	tokRParen
	tokMinus
	tokComparator
	tokString // quoted; text is the decoded value
	tokWord   // bare text: a field name, a keyword or a stray value
)

type token struct {
	kind     tokKind
	text     string
	pos, end int // byte offsets into the source
}

// parser is a recursive-descent parser that emits SQL as it goes. The lexer
// is driven by the parser because a value after a comparator may contain ':'
// (timestamps), which elsewhere is the "has" comparator.
type parser struct {
	src       string
	off       int
	peeked    token
	hasPeek   bool
	schema    Schema
	argOffset int
	args      []any
	terms     int
	depth     int
}

// position is 1-based and counts characters, which is what a person looking
// at the filter would count.
func (p *parser) position(off int) int {
	return utf8.RuneCountInString(p.src[:off]) + 1
}

func (p *parser) skipSpace() {
	for p.off < len(p.src) {
		r, n := utf8.DecodeRuneInString(p.src[p.off:])
		if !unicode.IsSpace(r) {
			return
		}
		p.off += n
	}
}

func (p *parser) peek() (token, error) {
	if p.hasPeek {
		return p.peeked, nil
	}
	t, err := p.lex()
	if err != nil {
		return token{}, err
	}
	p.peeked, p.hasPeek = t, true
	return t, nil
}

func (p *parser) next() (token, error) {
	t, err := p.peek()
	p.hasPeek = false
	return t, err
}

func (p *parser) lex() (token, error) {
	p.skipSpace()
	start := p.off
	tok := func(k tokKind, text string) (token, error) {
		return token{kind: k, text: text, pos: start, end: p.off}, nil
	}
	if p.off >= len(p.src) {
		return tok(tokEOF, "")
	}
	switch c := p.src[p.off]; c {
	case '(':
		p.off++
		return tok(tokLParen, "(")
	case ')':
		p.off++
		return tok(tokRParen, ")")
	case '-':
		p.off++
		return tok(tokMinus, "-")
	case '"', '\'':
		s, err := p.lexQuoted()
		if err != nil {
			return token{}, err
		}
		return tok(tokString, s)
	case '=', '!', '<', '>', ':':
		op, err := p.lexComparator()
		if err != nil {
			return token{}, err
		}
		return tok(tokComparator, op)
	default:
		return tok(tokWord, p.lexWord(false))
	}
}

func (p *parser) lexComparator() (string, error) {
	rest := p.src[p.off:]
	for _, op := range []string{"<=", ">=", "!=", "<", ">", "=", ":"} {
		if strings.HasPrefix(rest, op) {
			p.off += len(op)
			return op, nil
		}
	}
	return "", invalid(`unexpected "!" at position %d; did you mean "!="?`, p.position(p.off))
}

// lexWord reads bare text. In a value, ':' is allowed so that bare RFC 3339
// timestamps like 2024-01-31T09:00:00Z work without quotes.
func (p *parser) lexWord(value bool) string {
	start := p.off
	for p.off < len(p.src) {
		r, n := utf8.DecodeRuneInString(p.src[p.off:])
		if unicode.IsSpace(r) || strings.ContainsRune(`()"'=!<>`, r) || (!value && r == ':') {
			break
		}
		p.off += n
	}
	return p.src[start:p.off]
}

func (p *parser) lexQuoted() (string, error) {
	start := p.off
	quote := p.src[p.off]
	p.off++
	var b strings.Builder
	for {
		if p.off >= len(p.src) {
			return "", invalid("unterminated string starting at position %d", p.position(start))
		}
		c := p.src[p.off]
		switch {
		case c == quote:
			p.off++
			return b.String(), nil
		case c == '\\':
			esc := p.off
			p.off++
			if p.off >= len(p.src) {
				return "", invalid("unterminated string starting at position %d", p.position(start))
			}
			r, n := utf8.DecodeRuneInString(p.src[p.off:])
			switch r {
			case '\\', '"', '\'':
				b.WriteRune(r)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				// Rejecting unknown escapes keeps them free for later use
				// (e.g. a literal '*').
				return "", invalid(`invalid escape "\%c" at position %d`, r, p.position(esc))
			}
			p.off += n
		default:
			b.WriteByte(c)
			p.off++
		}
	}
}

// readValue reads the argument of a comparison. It bypasses the token
// lexer; see parser.
func (p *parser) readValue(op token) (string, error) {
	p.skipSpace()
	start := p.off
	if p.off >= len(p.src) {
		return "", invalid("expected a value after %q at position %d, got end of filter", op.text, p.position(op.pos))
	}
	if c := p.src[p.off]; c == '"' || c == '\'' {
		return p.lexQuoted()
	}
	w := p.lexWord(true)
	if w == "" {
		r, _ := utf8.DecodeRuneInString(p.src[p.off:])
		return "", invalid("expected a value after %q at position %d, got %q", op.text, p.position(start), string(r))
	}
	if isKeyword(w) {
		return "", invalid("expected a value after %q at position %d, got %s; quote it to compare with the word", op.text, p.position(start), w)
	}
	return w, nil
}

func isKeyword(s string) bool { return s == "AND" || s == "OR" || s == "NOT" }

func (p *parser) unexpected(t token) error {
	if t.kind == tokEOF {
		return invalid("unexpected end of filter")
	}
	text := p.src[t.pos:t.end]
	if utf8.RuneCountInString(text) > 40 {
		r := []rune(text)
		text = string(r[:40]) + "..."
	}
	return invalid("unexpected %q at position %d", text, p.position(t.pos))
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return invalid("filter nests parentheses and NOT more than %d deep", MaxDepth)
	}
	return nil
}

func join(parts []string, op string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, " "+op+" ") + ")"
}

// expression: sequence { AND sequence }
func (p *parser) parseExpression() (string, error) {
	var parts []string
	for {
		s, err := p.parseSequence()
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
		t, err := p.peek()
		if err != nil {
			return "", err
		}
		if t.kind != tokWord || t.text != "AND" {
			return join(parts, "AND"), nil
		}
		p.next()
	}
}

// sequence: factor { factor } — juxtaposition is an implicit AND.
func (p *parser) parseSequence() (string, error) {
	var parts []string
	for {
		f, err := p.parseFactor()
		if err != nil {
			return "", err
		}
		parts = append(parts, f)
		t, err := p.peek()
		if err != nil {
			return "", err
		}
		startsTerm := t.kind == tokLParen || t.kind == tokMinus || t.kind == tokString ||
			(t.kind == tokWord && t.text != "AND" && t.text != "OR")
		if !startsTerm {
			return join(parts, "AND"), nil
		}
	}
}

// factor: term { OR term }
func (p *parser) parseFactor() (string, error) {
	var parts []string
	for {
		t, err := p.parseTerm()
		if err != nil {
			return "", err
		}
		parts = append(parts, t)
		next, err := p.peek()
		if err != nil {
			return "", err
		}
		if next.kind != tokWord || next.text != "OR" {
			return join(parts, "OR"), nil
		}
		p.next()
	}
}

// term: [NOT | -] term | simple
func (p *parser) parseTerm() (string, error) {
	t, err := p.peek()
	if err != nil {
		return "", err
	}
	if t.kind == tokMinus || (t.kind == tokWord && t.text == "NOT") {
		p.next()
		if err := p.enter(); err != nil {
			return "", err
		}
		inner, err := p.parseTerm()
		if err != nil {
			return "", err
		}
		p.depth--
		return "(NOT " + inner + ")", nil
	}
	return p.parseSimple()
}

// simple: ( expression ) | restriction
func (p *parser) parseSimple() (string, error) {
	t, err := p.next()
	if err != nil {
		return "", err
	}
	switch t.kind {
	case tokLParen:
		if err := p.enter(); err != nil {
			return "", err
		}
		sql, err := p.parseExpression()
		if err != nil {
			return "", err
		}
		closing, err := p.next()
		if err != nil {
			return "", err
		}
		if closing.kind != tokRParen {
			if closing.kind == tokEOF {
				return "", invalid(`missing ")" to close "(" at position %d`, p.position(t.pos))
			}
			return "", p.unexpected(closing)
		}
		p.depth--
		return sql, nil
	case tokWord:
		if isKeyword(t.text) {
			return "", p.unexpected(t)
		}
		return p.parseRestriction(t)
	case tokString:
		return "", needsComparator(t.text)
	default:
		return "", p.unexpected(t)
	}
}

func needsComparator(term string) error {
	switch term {
	case "and", "or", "not":
		return invalid("filter term %q needs a field and comparator (AND, OR and NOT must be upper case)", term)
	}
	return invalid("filter term %q needs a field and comparator", term)
}

func isIdent(s string) bool {
	for i, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') ||
			(i > 0 && (r == '.' || (r >= '0' && r <= '9')))
		if !ok {
			return false
		}
	}
	return s != ""
}

// restriction: name comparator value
func (p *parser) parseRestriction(name token) (string, error) {
	op, err := p.peek()
	if err != nil {
		return "", err
	}
	if op.kind != tokComparator {
		// Global restrictions (free-text search) are part of AIP-160 but we
		// have no sensible, index-friendly meaning for them.
		return "", needsComparator(name.text)
	}
	p.next()
	if !isIdent(name.text) {
		return "", invalid("invalid field name %q at position %d", name.text, p.position(name.pos))
	}
	f, ok := p.schema[name.text]
	if !ok {
		return "", invalid("unknown field %q; allowed: %s", name.text, p.allowed())
	}
	p.terms++
	if p.terms > MaxTerms {
		return "", invalid("filter has more than %d terms", MaxTerms)
	}
	v, err := p.readValue(op)
	if err != nil {
		return "", err
	}
	return p.compare(name.text, f, op.text, v)
}

func (p *parser) allowed() string {
	names := make([]string, 0, len(p.schema))
	for n, f := range p.schema {
		if f.Type != Sealed {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (p *parser) bind(v any) string {
	p.args = append(p.args, v)
	return "$" + strconv.Itoa(p.argOffset+len(p.args))
}

var sqlOps = map[string]string{"=": "=", ":": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

func unsupported(name, op string) error {
	return invalid("field %q does not support %q; use =, != or :", name, op)
}

func (p *parser) compare(name string, f Field, op, v string) (string, error) {
	col := f.Column
	if f.Type == Sealed {
		return "", invalid("field %q is encrypted at rest and cannot be filtered on", name)
	}
	if f.Index != nil {
		if op != "=" && op != "!=" && op != ":" {
			return "", invalid("field %q is encrypted at rest: only =, : and != can compare it, not %q", name, op)
		}
		if strings.Contains(v, "*") {
			return "", invalid("field %q is encrypted at rest: it matches whole values only, not wildcards", name)
		}
		v = f.Index(v)
		if f.Type == String && op == ":" {
			op = "="
		}
	}
	switch f.Type {
	case String:
		switch {
		case op == ":":
			return fmt.Sprintf("(%s ILIKE %s)", col, p.bind("%"+escapeLike(v)+"%")), nil
		case (op == "=" || op == "!=") && strings.Contains(v, "*"):
			not := ""
			if op == "!=" {
				not = " NOT"
			}
			return fmt.Sprintf("(%s%s ILIKE %s)", col, not, p.bind(wildcard(v))), nil
		}
		return fmt.Sprintf("(%s %s %s)", col, sqlOps[op], p.bind(v)), nil
	case StringArray:
		switch op {
		case "=", ":":
			return fmt.Sprintf("(%s = ANY(%s))", p.bind(v), col), nil
		case "!=":
			return fmt.Sprintf("(NOT (%s = ANY(%s)))", p.bind(v), col), nil
		}
		return "", unsupported(name, op)
	case Enum:
		if op != "=" && op != "!=" && op != ":" {
			return "", unsupported(name, op)
		}
		if f.Enum == nil {
			return "", errs.Internal(fmt.Errorf("filter: enum field %q has no Enum mapping", name))
		}
		stored, ok := f.Enum(v)
		if !ok {
			return "", invalid("field %q has no value %q", name, v)
		}
		return fmt.Sprintf("(%s %s %s)", col, sqlOps[op], p.bind(stored)), nil
	case Bool:
		if op != "=" && op != "!=" && op != ":" {
			return "", unsupported(name, op)
		}
		var b bool
		switch v {
		case "true":
			b = true
		case "false":
		default:
			return "", invalid("field %q wants true or false, got %q", name, v)
		}
		return fmt.Sprintf("(%s %s %s)", col, sqlOps[op], p.bind(b)), nil
	case Int:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", invalid("field %q wants an integer, got %q", name, v)
		}
		return fmt.Sprintf("(%s %s %s)", col, sqlOps[op], p.bind(n)), nil
	case Decimal:
		if !decimalLiteral.MatchString(v) {
			return "", invalid("field %q wants a decimal number such as 1299.90, got %q", name, v)
		}
		return fmt.Sprintf("(%s %s %s::numeric)", col, sqlOps[op], p.bind(v)), nil
	case Timestamp:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return "", invalid("field %q wants an RFC 3339 timestamp such as 2024-01-31T09:00:00Z, got %q", name, v)
		}
		return fmt.Sprintf("(%s %s %s)", col, sqlOps[op], p.bind(t)), nil
	}
	return "", errs.Internal(fmt.Errorf("filter: field %q has unknown type %d", name, f.Type))
}

// escapeLike makes s match itself under LIKE's default escape character,
// backslash.
func escapeLike(s string) string {
	return likeEscaper.Replace(s)
}

var decimalLiteral = regexp.MustCompile(`^-?\d{1,20}(\.\d{1,10})?$`)

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// wildcard turns an AIP-160 wildcard value into a LIKE pattern: '*' matches
// any run of characters, everything else matches itself.
func wildcard(s string) string {
	parts := strings.Split(s, "*")
	for i, part := range parts {
		parts[i] = escapeLike(part)
	}
	return strings.Join(parts, "%")
}
