package resource

import (
	"strings"

	"github.com/google/uuid"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// ParseID returns the id in a "{collection}/{id}" name given in field,
// where ids are UUIDs; noun names the resource in the error.
func ParseID(field, name, collection, noun string) (string, error) {
	id, ok := strings.CutPrefix(name, collection+"/")
	if !ok || id == "" {
		return "", errs.InvalidField(field, "must be a %s name like \"%s/{id}\", got %q", noun, collection, name)
	}
	if _, err := uuid.Parse(id); err != nil {
		return "", errs.InvalidField(field, "%q is not a valid %s id", id, noun)
	}
	return id, nil
}
