// Package protoenum converts protobuf enums to and from the domain's
// string values. Enums cross the boundary by name: the domain value is the
// proto value name without its prefix (LIFECYCLE_STAGE_LOYAL ↔ "LOYAL"),
// and UNSPECIFIED is the empty string, which the domain reads as "default"
// or "not set". Storing names rather than numbers keeps the database
// readable and independent of proto numbering.
package protoenum

import (
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Enum is a generated protobuf enum type.
type Enum interface {
	~int32
	Descriptor() protoreflect.EnumDescriptor
	Number() protoreflect.EnumNumber
}

// ToDomain converts a proto enum value. Numbers the schema does not define
// (sent by a newer or broken client) are recorded as violations of field.
func ToDomain[E Enum](e E, prefix, field string, v *errs.Violations) string {
	d := e.Descriptor().Values().ByNumber(e.Number())
	if d == nil {
		v.Add(field, "unknown value %d", int32(e))
		return ""
	}
	if e == 0 {
		return ""
	}
	return strings.TrimPrefix(string(d.Name()), prefix)
}

// Name is the domain value of e for reading what another service sent
// (event payloads): as ToDomain, with unknown numbers read as "".
func Name[E Enum](e E, prefix string) string {
	var ignored errs.Violations
	return ToDomain(e, prefix, "", &ignored)
}

// FromDomain converts a stored value back, given the generated
// name-to-number map (e.g. customerv1.LifecycleStage_value); "" is 0.
func FromDomain[E ~int32](values map[string]int32, prefix, s string) E {
	if s == "" {
		return 0
	}
	return E(values[prefix+s])
}
