package protoenum

import (
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/kehu-crm/kehu/pkg/errs"
)

func TestRoundTrip(t *testing.T) {
	var v errs.Violations
	if got := ToDomain(structpb.NullValue_NULL_VALUE, "NULL_", "f", &v); got != "" || v.Err() != nil {
		// NULL_VALUE is number 0: the "unspecified" of this enum.
		t.Fatalf("zero value: %q %v", got, v.Err())
	}
	if got := ToDomain(structpb.NullValue(7), "NULL_", "kind", &v); got != "" {
		t.Fatalf("unknown number converted to %q", got)
	}
	if e, ok := errs.As(v.Err()); !ok || e.Violations[0].Field != "kind" {
		t.Fatalf("unknown number not reported: %v", v.Err())
	}
	if got := FromDomain[structpb.NullValue](structpb.NullValue_value, "NULL_", "VALUE"); got != structpb.NullValue_NULL_VALUE {
		t.Fatalf("FromDomain = %v", got)
	}
	if got := FromDomain[structpb.NullValue](structpb.NullValue_value, "NULL_", ""); got != 0 {
		t.Fatalf("empty = %v", got)
	}
}
