package testkit

import (
	"slices"
	"testing"

	"google.golang.org/grpc"

	"github.com/kehu-crm/kehu/pkg/auth"
)

// CheckPolicy fails the test unless policy names exactly the methods of
// the gRPC service desc: a method missing from the table (or misspelled in
// it) is silently closed to everyone but admin, and a stale entry hides
// that the API changed.
func CheckPolicy(t testing.TB, desc grpc.ServiceDesc, policy auth.Policy) {
	t.Helper()
	var methods []string
	for _, m := range desc.Methods {
		methods = append(methods, "/"+desc.ServiceName+"/"+m.MethodName)
	}
	for _, s := range desc.Streams {
		methods = append(methods, "/"+desc.ServiceName+"/"+s.StreamName)
	}
	for _, m := range methods {
		if _, ok := policy[m]; !ok {
			t.Errorf("permission table has no entry for %s", m)
		}
	}
	for m := range policy {
		if !slices.Contains(methods, m) {
			t.Errorf("permission table names %s, which %s does not have", m, desc.ServiceName)
		}
	}
}
