package gateway

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/kehu-crm/kehu/pkg/api/openapi"
)

// takesIfMatch is IfMatchInterceptor's rule read off a request type: the
// request has an etag, or (for an Update) the resource in its body has one.
func takesIfMatch(m protoreflect.MethodDescriptor) bool {
	etag := func(d protoreflect.MessageDescriptor) bool {
		f := d.Fields().ByName("etag")
		return f != nil && f.Kind() == protoreflect.StringKind
	}
	in := m.Input()
	if etag(in) {
		return true
	}
	if !strings.HasPrefix(string(m.Name()), "Update") {
		return false
	}
	for i := 0; i < in.Fields().Len(); i++ {
		f := in.Fields().Get(i)
		if f.Kind() == protoreflect.MessageKind && !f.IsList() && !f.IsMap() && etag(f.Message()) {
			return true
		}
	}
	return false
}

// The OpenAPI document declares the If-Match header on exactly the
// operations the gateway honours it on (proto/openapi.yaml lists them), so
// a generated client offers it where it works and nowhere else.
func TestIfMatchIsDeclaredWhereItIsHonoured(t *testing.T) {
	t.Parallel()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Spec, &doc); err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, ops := range doc.Paths {
		for _, op := range ops {
			declared[op.OperationID] = slices.ContainsFunc(op.Parameters, func(p struct {
				Name string `json:"name"`
				In   string `json:"in"`
			}) bool {
				return p.In == "header" && p.Name == "If-Match"
			})
		}
	}
	n := 0
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(f.Package()), "kehu.") {
			return true
		}
		for i := 0; i < f.Services().Len(); i++ {
			s := f.Services().Get(i)
			for j := 0; j < s.Methods().Len(); j++ {
				m := s.Methods().Get(j)
				id := operationID("/" + string(s.FullName()) + "/" + string(m.Name()))
				has, routed := declared[id]
				if !routed {
					continue
				}
				n++
				if want := takesIfMatch(m); has != want {
					t.Errorf("%s: If-Match declared %t, honoured %t (proto/openapi.yaml)", m.FullName(), has, want)
				}
			}
		}
		return true
	})
	if n < 50 {
		t.Errorf("only %d operations checked: the document's operation ids no longer match the services' methods", n)
	}
}
