package audit

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// Bounds on what one entry carries, so a request cannot bloat the trail.
const (
	maxFields    = 100
	maxFieldName = 100
	maxText      = 512
)

// bookkeeping fields say how to apply a change, not what it changes.
var bookkeeping = []protoreflect.Name{"name", "parent", "request_id", "etag", "update_mask", "validate_only", "allow_missing"}

// resourceName is the resource a call acted on: the request's name, the
// name of the resource it carries (an update), the answer's (a create),
// the request's parent, or the customer it names (a customer's segments),
// whichever comes first.
func resourceName(req, resp proto.Message) string {
	for _, get := range []func() string{
		func() string { return stringField(req, "name") },
		func() string { return nestedName(req) },
		func() string { return stringField(resp, "name") },
		func() string { return nestedName(resp) },
		func() string { return stringField(req, "parent") },
		func() string { return stringField(req, "customer") },
	} {
		if s := get(); s != "" {
			return clip(s, maxText)
		}
	}
	return ""
}

// changedFields names what a mutation set, never the values: the update
// mask's paths; else the fields given in the resource the request carries
// (a create, or an update without a mask); else the request's own fields
// beside the bookkeeping ones (an assignment, a transition).
func changedFields(req proto.Message) []string {
	if req == nil {
		return nil
	}
	m := req.ProtoReflect()
	var out []string
	if fd := m.Descriptor().Fields().ByName("update_mask"); fd != nil && fd.Message() != nil && fd.Message().FullName() == "google.protobuf.FieldMask" && m.Has(fd) {
		if mask, ok := m.Get(fd).Message().Interface().(*fieldmaskpb.FieldMask); ok && len(mask.GetPaths()) > 0 {
			out = slices.Clone(mask.GetPaths())
		}
	}
	if out == nil {
		if res := resource(m); res != nil {
			out = setFields(res)
		} else {
			out = setFields(m)
		}
	}
	for i, f := range out {
		out[i] = clip(f, maxFieldName)
	}
	return out[:min(len(out), maxFields)]
}

// setFields names the populated fields of m but the bookkeeping ones.
func setFields(m protoreflect.Message) []string {
	var out []string
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if !slices.Contains(bookkeeping, fd.Name()) {
			out = append(out, string(fd.Name()))
		}
		return true
	})
	slices.Sort(out)
	return out
}

// resource is the first populated message field of m that is a resource
// (has a string name field), e.g. CreateCustomerRequest.customer.
func resource(m protoreflect.Message) protoreflect.Message {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() || !m.Has(fd) {
			continue
		}
		if n := fd.Message().Fields().ByName("name"); n != nil && n.Kind() == protoreflect.StringKind && !n.IsList() {
			return m.Get(fd).Message()
		}
	}
	return nil
}

func nestedName(msg proto.Message) string {
	if msg == nil {
		return ""
	}
	if res := resource(msg.ProtoReflect()); res != nil {
		return res.Get(res.Descriptor().Fields().ByName("name")).String()
	}
	return ""
}

// stringField is msg's singular string field called name, or "".
func stringField(msg proto.Message, name protoreflect.Name) string {
	if msg == nil {
		return ""
	}
	m := msg.ProtoReflect()
	fd := m.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() || fd.IsMap() {
		return ""
	}
	return m.Get(fd).String()
}

// clip cuts s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
