package testdb

import (
	"crypto/sha256"
	"strings"
	"testing"
)

// Template names fit PostgreSQL's 63-byte identifiers even for the suite's
// four schemas (a longer name was cut by PostgreSQL, never found again by
// its full name, and the template rebuilt under every test), and the
// prefix is stable per set of schemas.
func TestTemplateNameFitsIdentifiers(t *testing.T) {
	sum := sha256.Sum256([]byte("migrations"))
	for _, schemas := range [][]string{
		{"customer"},
		{"servicedesk", "interaction", "customer", "analytics"},
		{"servicedesk", "interaction", "customer", "analytics", "a_fifth_service_with_a_long_name"},
	} {
		prefix, name := templateName(schemas, sum[:])
		if len(name) > maxIdentifier || !strings.HasPrefix(name, prefix) || len(name) != len(prefix)+12 {
			t.Errorf("%v: name %q (%d bytes), prefix %q", schemas, name, len(name), prefix)
		}
		other := sha256.Sum256([]byte("other migrations"))
		if p2, n2 := templateName(schemas, other[:]); p2 != prefix || n2 == name {
			t.Errorf("%v: another hash gives prefix %q, name %q", schemas, p2, n2)
		}
	}
}
