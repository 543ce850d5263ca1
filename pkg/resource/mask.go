package resource

import (
	"slices"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Fields describes which update_mask paths of one resource an Update may
// name (AIP-134).
type Fields struct {
	// Updatable are the paths Update changes; "*" stands for all of them.
	Updatable []string
	// OutputOnly are set by the service and refused in a mask.
	OutputOnly []string
	// Dedicated maps a field only its own method changes to that method,
	// so the error tells the caller where to go.
	Dedicated map[string]string
}

// CheckMask validates the paths of an update_mask and expands "*". Every
// path that cannot be updated is reported, each with why.
func (f Fields) CheckMask(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, errs.InvalidField("update_mask", "is required: name the fields to change, or \"*\" for all updatable fields")
	}
	if len(paths) == 1 && paths[0] == "*" {
		return f.Updatable, nil
	}
	var v errs.Violations
	for _, p := range paths {
		switch {
		case slices.Contains(f.Updatable, p):
		case f.Dedicated[p] != "":
			v.Add("update_mask", "%q cannot be updated directly; use %s", p, f.Dedicated[p])
		case slices.Contains(f.OutputOnly, p):
			v.Add("update_mask", "%q is output only", p)
		default:
			v.Add("update_mask", "unknown or immutable field %q", p)
		}
	}
	return paths, v.Err()
}
