package filter

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kehu-crm/kehu/pkg/errs"
)

var testSchema = Schema{
	"name":           {Column: "c.display_name", Type: String},
	"address.city":   {Column: "coalesce(c.address->>'city', '')", Type: String},
	"tags":           {Column: "c.tags", Type: StringArray},
	"kind":           {Column: "c.kind", Type: Enum, Enum: kindEnum},
	"vip":            {Column: "c.vip", Type: Bool},
	"loyalty_points": {Column: "c.loyalty_points", Type: Int},
	"create_time":    {Column: "c.create_time", Type: Timestamp},
}

func kindEnum(s string) (string, bool) {
	switch strings.TrimPrefix(s, "KIND_") {
	case "PERSON":
		return "person", true
	case "ORGANIZATION":
		return "organization", true
	}
	return "", false
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCompile(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		sql    string
		args   []any
	}{
		{"empty", "", "TRUE", nil},
		{"whitespace", " \t\n ", "TRUE", nil},

		// String
		{"string eq", `name = "Ada"`, "(c.display_name = $1)", []any{"Ada"}},
		{"string eq bare", `name=Ada`, "(c.display_name = $1)", []any{"Ada"}},
		{"string eq single quotes", `name='Ada Lovelace'`, "(c.display_name = $1)", []any{"Ada Lovelace"}},
		{"string ne", `name != "Ada"`, "(c.display_name <> $1)", []any{"Ada"}},
		{"string lt", `name < "M"`, "(c.display_name < $1)", []any{"M"}},
		{"string le", `name <= "M"`, "(c.display_name <= $1)", []any{"M"}},
		{"string gt", `name > "M"`, "(c.display_name > $1)", []any{"M"}},
		{"string ge", `name >= "M"`, "(c.display_name >= $1)", []any{"M"}},
		{"string has", `name:ada`, "(c.display_name ILIKE $1)", []any{"%ada%"}},
		{"string has escapes like", `name:"50%_off\\"`, "(c.display_name ILIKE $1)", []any{`%50\%\_off\\%`}},
		{"string has star is literal", `name:"a*"`, "(c.display_name ILIKE $1)", []any{`%a*%`}},
		{"string wildcard", `name = "Ada*"`, "(c.display_name ILIKE $1)", []any{"Ada%"}},
		{"string wildcard escapes", `name = "*100%_\\*"`, "(c.display_name ILIKE $1)", []any{`%100\%\_\\%`}},
		{"string wildcard ne", `name != *son`, "(c.display_name NOT ILIKE $1)", []any{"%son"}},
		{"string ordering ignores star", `name > "a*"`, "(c.display_name > $1)", []any{"a*"}},
		{"string escapes", `name = "say \"hi\"\n\t\r\'"`, "(c.display_name = $1)", []any{"say \"hi\"\n\t\r'"}},
		{"string single quote escapes", `name = 'it\'s'`, "(c.display_name = $1)", []any{"it's"}},
		{"string with colon value", `name = a:b`, "(c.display_name = $1)", []any{"a:b"}},
		{"string keyword quoted", `name = "AND"`, "(c.display_name = $1)", []any{"AND"}},
		{"string empty", `name = ""`, "(c.display_name = $1)", []any{""}},
		{"string unicode", `name = Zoë`, "(c.display_name = $1)", []any{"Zoë"}},
		{"dotted field", `address.city = Berlin`, "(coalesce(c.address->>'city', '') = $1)", []any{"Berlin"}},

		// StringArray
		{"array has", `tags:vip`, "($1 = ANY(c.tags))", []any{"vip"}},
		{"array eq", `tags = "vip"`, "($1 = ANY(c.tags))", []any{"vip"}},
		{"array ne", `tags != vip`, "(NOT ($1 = ANY(c.tags)))", []any{"vip"}},
		{"array star literal", `tags = "a*"`, "($1 = ANY(c.tags))", []any{"a*"}},

		// Enum
		{"enum eq", `kind = PERSON`, "(c.kind = $1)", []any{"person"}},
		{"enum prefixed", `kind = KIND_ORGANIZATION`, "(c.kind = $1)", []any{"organization"}},
		{"enum ne", `kind != "PERSON"`, "(c.kind <> $1)", []any{"person"}},
		{"enum has", `kind:PERSON`, "(c.kind = $1)", []any{"person"}},

		// Bool
		{"bool eq", `vip = true`, "(c.vip = $1)", []any{true}},
		{"bool ne", `vip != false`, "(c.vip <> $1)", []any{false}},
		{"bool has", `vip:true`, "(c.vip = $1)", []any{true}},

		// Int
		{"int eq", `loyalty_points = 10`, "(c.loyalty_points = $1)", []any{int64(10)}},
		{"int has", `loyalty_points:10`, "(c.loyalty_points = $1)", []any{int64(10)}},
		{"int ne", `loyalty_points != 10`, "(c.loyalty_points <> $1)", []any{int64(10)}},
		{"int lt", `loyalty_points < -5`, "(c.loyalty_points < $1)", []any{int64(-5)}},
		{"int le", `loyalty_points <= 5`, "(c.loyalty_points <= $1)", []any{int64(5)}},
		{"int gt", `loyalty_points > "5"`, "(c.loyalty_points > $1)", []any{int64(5)}},
		{"int ge", `loyalty_points>=9223372036854775807`, "(c.loyalty_points >= $1)", []any{int64(9223372036854775807)}},

		// Timestamp
		{"ts bare", `create_time > 2024-01-31T09:00:00Z`, "(c.create_time > $1)", []any{ts("2024-01-31T09:00:00Z")}},
		{"ts quoted offset", `create_time <= "2024-01-31T09:00:00+02:00"`, "(c.create_time <= $1)", []any{ts("2024-01-31T09:00:00+02:00")}},
		{"ts nano", `create_time = 2024-01-31T09:00:00.123456789Z`, "(c.create_time = $1)", []any{ts("2024-01-31T09:00:00.123456789Z")}},
		{"ts ne", `create_time != 2024-01-31T09:00:00Z`, "(c.create_time <> $1)", []any{ts("2024-01-31T09:00:00Z")}},
		{"ts has", `create_time:2024-01-31T09:00:00Z`, "(c.create_time = $1)", []any{ts("2024-01-31T09:00:00Z")}},

		// Boolean structure
		{"and", `name=a AND vip=true`, "((c.display_name = $1) AND (c.vip = $2))", []any{"a", true}},
		{"or", `name=a OR name=b`, "((c.display_name = $1) OR (c.display_name = $2))", []any{"a", "b"}},
		{"implicit and", `name=a vip=true`, "((c.display_name = $1) AND (c.vip = $2))", []any{"a", true}},
		{"or binds tighter than and", `name=a OR name=b AND vip=true`,
			"(((c.display_name = $1) OR (c.display_name = $2)) AND (c.vip = $3))", []any{"a", "b", true}},
		{"and then or", `vip=true AND name=a OR name=b`,
			"((c.vip = $1) AND ((c.display_name = $2) OR (c.display_name = $3)))", []any{true, "a", "b"}},
		{"or binds tighter than implicit and", `vip=true name=a OR name=b`,
			"((c.vip = $1) AND ((c.display_name = $2) OR (c.display_name = $3)))", []any{true, "a", "b"}},
		{"parens override", `(vip=true AND name=a) OR name=b`,
			"(((c.vip = $1) AND (c.display_name = $2)) OR (c.display_name = $3))", []any{true, "a", "b"}},
		{"chain", `name=a AND name=b AND name=c`,
			"((c.display_name = $1) AND (c.display_name = $2) AND (c.display_name = $3))", []any{"a", "b", "c"}},
		{"not", `NOT vip=true`, "(NOT (c.vip = $1))", []any{true}},
		{"minus", `-vip=true`, "(NOT (c.vip = $1))", []any{true}},
		{"not parens", `NOT(vip=true OR name=a)`, "(NOT ((c.vip = $1) OR (c.display_name = $2)))", []any{true, "a"}},
		{"not binds tighter than or", `NOT vip=true OR name=a`, "((NOT (c.vip = $1)) OR (c.display_name = $2))", []any{true, "a"}},
		{"double not", `NOT -vip=true`, "(NOT (NOT (c.vip = $1)))", []any{true}},
		{"minus in sequence", `name=a -tags:x`, "((c.display_name = $1) AND (NOT ($2 = ANY(c.tags))))", []any{"a", "x"}},
		{"redundant parens", `((name=a))`, "(c.display_name = $1)", []any{"a"}},
		{"spacing", "  name\t=\n\"a\"  ", "(c.display_name = $1)", []any{"a"}},
		{"value then paren", `(name=a)`, "(c.display_name = $1)", []any{"a"}},
		{"field named like keyword prefix", `(name=ANDY OR name=ORSON)`, "((c.display_name = $1) OR (c.display_name = $2))", []any{"ANDY", "ORSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Compile(tt.filter, testSchema, 0)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.filter, err)
			}
			if got.SQL != tt.sql {
				t.Errorf("Compile(%q).SQL\n got  %s\n want %s", tt.filter, got.SQL, tt.sql)
			}
			if !reflect.DeepEqual(got.Args, tt.args) {
				t.Errorf("Compile(%q).Args = %#v, want %#v", tt.filter, got.Args, tt.args)
			}
		})
	}
}

func TestCompileOffset(t *testing.T) {
	got, err := Compile(`name=a OR (vip=true AND loyalty_points>3)`, testSchema, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := "((c.display_name = $5) OR ((c.vip = $6) AND (c.loyalty_points > $7)))"
	if got.SQL != want {
		t.Errorf("SQL = %s, want %s", got.SQL, want)
	}
	if len(got.Args) != 3 {
		t.Errorf("len(Args) = %d, want 3", len(got.Args))
	}
	empty, err := Compile("", testSchema, 4)
	if err != nil || empty.SQL != "TRUE" || len(empty.Args) != 0 {
		t.Errorf("Compile(\"\", 4) = %+v, %v", empty, err)
	}
}

func TestCompileErrors(t *testing.T) {
	deep := strings.Repeat("(", MaxDepth+1) + "vip=true" + strings.Repeat(")", MaxDepth+1)
	deepNot := strings.Repeat("NOT ", MaxDepth+1) + "vip=true"
	deepMinus := strings.Repeat("-", MaxDepth+1) + "vip=true"
	tooMany := strings.TrimSuffix(strings.Repeat("vip=true AND ", MaxTerms+1), " AND ")
	tooLong := "name=" + strings.Repeat("a", MaxLength)

	tests := []struct {
		name   string
		filter string
		want   string // substring of the error message
	}{
		{"unknown field", `foo = 1`, `unknown field "foo"; allowed: address.city, create_time, kind, loyalty_points, name, tags, vip`},
		{"invalid field name", `1abc = 1`, `invalid field name "1abc" at position 1`},
		{"invalid field name dash", `na-me = 1`, `invalid field name "na-me"`},
		{"global restriction", `foo`, `filter term "foo" needs a field and comparator`},
		{"global restriction quoted", `"foo bar"`, `filter term "foo bar" needs a field and comparator`},
		{"global restriction in sequence", `name=a foo`, `filter term "foo" needs a field and comparator`},
		{"lowercase and", `name=a and name=b`, `filter term "and" needs a field and comparator (AND, OR and NOT must be upper case)`},
		{"int bad", `loyalty_points = abc`, `field "loyalty_points" wants an integer, got "abc"`},
		{"int overflow", `loyalty_points = 9223372036854775808`, `wants an integer`},
		{"int float", `loyalty_points = 1.5`, `wants an integer, got "1.5"`},
		{"bool bad", `vip = yes`, `field "vip" wants true or false, got "yes"`},
		{"bool ordering", `vip < true`, `field "vip" does not support "<"`},
		{"ts bad", `create_time > 2024-01-31`, `field "create_time" wants an RFC 3339 timestamp`},
		{"enum bad", `kind = ROBOT`, `field "kind" has no value "ROBOT"`},
		{"enum ordering", `kind >= PERSON`, `field "kind" does not support ">="`},
		{"array ordering", `tags < a`, `field "tags" does not support "<"`},
		{"array ordering le", `tags <= a`, `field "tags" does not support "<="`},
		{"missing value", `name =`, `expected a value after "=" at position 6, got end of filter`},
		{"missing value before paren", `(name =)`, `expected a value after "=" at position 8, got ")"`},
		{"keyword as value", `name = AND`, `got AND; quote it`},
		{"double comparator", `name == a`, `expected a value after "=" at position 7, got "="`},
		{"lone bang", `name ! a`, `unexpected "!" at position 6; did you mean "!="?`},
		{"unterminated string", `name = "abc`, `unterminated string starting at position 8`},
		{"unterminated escape", `name = "abc\`, `unterminated string starting at position 8`},
		{"bad escape", `name = "a\qb"`, `invalid escape "\q" at position 10`},
		{"unbalanced open", `(name=a`, `missing ")" to close "(" at position 1`},
		{"unbalanced close", `name=a)`, `unexpected ")" at position 7`},
		{"empty parens", `()`, `unexpected ")" at position 2`},
		{"trailing and", `name=a AND`, `unexpected end of filter`},
		{"trailing or", `name=a OR`, `unexpected end of filter`},
		{"leading and", `AND name=a`, `unexpected "AND" at position 1`},
		{"double and", `name=a AND AND name=b`, `unexpected "AND" at position 12`},
		{"trailing not", `NOT`, `unexpected end of filter`},
		{"comparator first", `= a`, `unexpected "=" at position 1`},
		{"position counts characters", `name="ü" )`, `unexpected ")" at position 10`},
		{"stray comparator", `name=a =b`, `unexpected "=" at position 8`},
		{"invalid utf8", "name=\xff", `not valid UTF-8`},
		{"nul", "name=\"a\x00\"", `NUL character at position 8`},
		{"too deep", deep, `more than 10 deep`},
		{"too deep not", deepNot, `more than 10 deep`},
		{"too deep minus", deepMinus, `more than 10 deep`},
		{"too many terms", tooMany, `more than 50 terms`},
		{"too long", tooLong, `filter is 2005 bytes long; the limit is 2000`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Compile(tt.filter, testSchema, 0)
			if err == nil {
				t.Fatalf("Compile(%q) = %+v, want error", tt.filter, got)
			}
			if k := errs.KindOf(err); k != errs.KindInvalidArgument {
				t.Errorf("Compile(%q) kind = %v, want invalid argument (%v)", tt.filter, k, err)
			}
			e, _ := errs.As(err)
			if len(e.Violations) != 1 || e.Violations[0].Field != "filter" {
				t.Fatalf("Compile(%q) violations = %+v, want one on \"filter\"", tt.filter, e.Violations)
			}
			if d := e.Violations[0].Description; !strings.Contains(d, tt.want) {
				t.Errorf("Compile(%q) error\n got  %s\n want substring %s", tt.filter, d, tt.want)
			}
		})
	}
}

func TestCompileLimitsInclusive(t *testing.T) {
	atDepth := strings.Repeat("(", MaxDepth) + "vip=true" + strings.Repeat(")", MaxDepth)
	atNot := strings.Repeat("NOT ", MaxDepth) + "vip=true"
	atTerms := strings.TrimSuffix(strings.Repeat("vip=true ", MaxTerms), " ")
	atLength := "name=" + strings.Repeat("a", MaxLength-5)
	for _, f := range []string{atDepth, atNot, atTerms, atLength} {
		if _, err := Compile(f, testSchema, 0); err != nil {
			t.Errorf("Compile(%.40q...) at the limit: %v", f, err)
		}
	}
	// Depth is about nesting, not the number of groups side by side.
	wide := strings.TrimSuffix(strings.Repeat("(vip=true) ", MaxDepth*2), " ")
	if _, err := Compile(wide, testSchema, 0); err != nil {
		t.Errorf("sibling groups: %v", err)
	}
}

func TestCompileSchemaErrors(t *testing.T) {
	schema := Schema{
		"e": {Column: "e", Type: Enum},
		"x": {Column: "x", Type: Type(99)},
	}
	for _, f := range []string{"e=A", "x=1"} {
		_, err := Compile(f, schema, 0)
		if k := errs.KindOf(err); k != errs.KindInternal {
			t.Errorf("Compile(%q) kind = %v (%v), want internal: a broken schema is our bug", f, k, err)
		}
	}
}

var placeholderRE = regexp.MustCompile(`\$(\d+)`)

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"",
		`name = "Ada*"`,
		`name:"50%_off\\"`,
		`tags:vip AND -kind=PERSON`,
		`name=a OR name=b AND vip=true`,
		`NOT (loyalty_points >= 10 OR create_time < 2024-01-31T09:00:00Z)`,
		`address.city='Berlin' vip!=false`,
		`((((name=a))))`,
		`name = "unterminated`,
		`foo`,
		`name = AND`,
		`-(-(-vip=true))`,
		"name=\xff",
	} {
		f.Add(s, 0)
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, filter string, offset int) {
		if offset < 0 || offset > 1000 {
			return
		}
		c, err := Compile(filter, testSchema, offset)
		if err != nil {
			if k := errs.KindOf(err); k != errs.KindInvalidArgument {
				t.Fatalf("Compile(%q) kind = %v: %v", filter, k, err)
			}
			return
		}
		if strings.Count(c.SQL, "$") != len(c.Args) {
			t.Fatalf("Compile(%q) = %q with %d args", filter, c.SQL, len(c.Args))
		}
		for i, m := range placeholderRE.FindAllStringSubmatch(c.SQL, -1) {
			if n, _ := strconv.Atoi(m[1]); n != offset+i+1 {
				t.Fatalf("Compile(%q) = %q: placeholder %d is $%d, want $%d", filter, c.SQL, i, n, offset+i+1)
			}
		}
		// Caller text may only reach the query through Args: strip the
		// trusted columns and placeholders and only SQL syntax may remain.
		rest := placeholderRE.ReplaceAllString(c.SQL, "")
		for _, fld := range testSchema {
			rest = strings.ReplaceAll(rest, fld.Column, "")
		}
		for _, w := range []string{"ILIKE", "ANY", "AND", "NOT", "OR", "TRUE"} {
			rest = strings.ReplaceAll(rest, w, "")
		}
		if strings.Trim(rest, "()=<> ") != "" {
			t.Fatalf("Compile(%q) = %q: unexpected SQL text %q", filter, c.SQL, rest)
		}
	})
}

func TestDecimal(t *testing.T) {
	schema := Schema{"amount": {Column: "i.amount", Type: Decimal}}
	cl, err := Compile(`amount >= 1299.90 AND amount != -5`, schema, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "(i.amount >= $1::numeric)"; !strings.Contains(cl.SQL, want) || len(cl.Args) != 2 || cl.Args[0] != "1299.90" {
		t.Fatalf("SQL %q args %v", cl.SQL, cl.Args)
	}
	for _, bad := range []string{`amount > lots`, `amount > 1e3`, `amount > 1.2.3`, `amount > NaN`} {
		if _, err := Compile(bad, schema, 0); !errs.Is(err, errs.KindInvalidArgument) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestWhere(t *testing.T) {
	var w Where
	if w.SQL() != "TRUE" {
		t.Fatalf("empty: %q", w.SQL())
	}
	w.Add("a.deleted IS NULL")
	w.Add("a.owner = %s", "bob")
	if err := w.Filter(`n > 3`, Schema{"n": {Column: "a.n", Type: Int}}); err != nil {
		t.Fatal(err)
	}
	w.Add("a.id > " + w.Arg("x"))
	if want := "a.deleted IS NULL AND a.owner = $1 AND ((a.n > $2)) AND a.id > $3"; w.SQL() != want {
		t.Fatalf("SQL %q, want %q", w.SQL(), want)
	}
	if args := w.Args(); len(args) != 3 || args[0] != "bob" || args[1] != int64(3) || args[2] != "x" {
		t.Fatalf("args %v", args)
	}
	enum := EnumValues("STAGE_", "LOYAL", "AT_RISK")
	for lit, want := range map[string]string{"loyal": "LOYAL", "STAGE_AT_RISK": "AT_RISK", "gone": ""} {
		if got, ok := enum(lit); got != want || ok != (want != "") {
			t.Errorf("%s -> %q %v", lit, got, ok)
		}
	}
}

// TestEncryptedFields: a field with a blind index compares by equality on
// the index of the literal, never the literal itself; ordering and
// wildcards are refused, and a sealed field cannot be filtered at all.
func TestEncryptedFields(t *testing.T) {
	schema := Schema{
		"email":    {Column: "c.email_index", Type: StringArray, Index: func(v string) string { return "idx(" + strings.ToLower(v) + ")" }},
		"birthday": {Column: "c.pii", Type: Sealed},
		"name":     {Column: "c.display_name", Type: String},
	}
	for filter, want := range map[string]Clause{
		`email = "Ada@Example.com"`: {SQL: "($1 = ANY(c.email_index))", Args: []any{"idx(ada@example.com)"}},
		`email:"ada@example.com"`:   {SQL: "($1 = ANY(c.email_index))", Args: []any{"idx(ada@example.com)"}},
		`email != "a@b.c"`:          {SQL: "(NOT ($1 = ANY(c.email_index)))", Args: []any{"idx(a@b.c)"}},
	} {
		got, err := Compile(filter, schema, 0)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Compile(%s) = %+v, %v; want %+v", filter, got, err, want)
		}
	}
	for filter, msg := range map[string]string{
		`email > "a"`:           `field "email" is encrypted at rest: only =, : and != can compare it, not ">"`,
		`email = "*@x.com"`:     `field "email" is encrypted at rest: it matches whole values only`,
		`birthday = 1990-01-01`: `field "birthday" is encrypted at rest and cannot be filtered on`,
		`birthday > 1990-01-01`: `field "birthday" is encrypted at rest and cannot be filtered on`,
		`foo = 1`:               `allowed: email, name`,
	} {
		_, err := Compile(filter, schema, 0)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Compile(%s) = %v; want an error saying %q", filter, err, msg)
		}
		if errs.KindOf(err) != errs.KindInvalidArgument {
			t.Errorf("Compile(%s): kind %v, want invalid argument", filter, errs.KindOf(err))
		}
	}
}
