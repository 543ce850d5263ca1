package insight

import "slices"

// changePage is how many membership changes a whole-model evaluation
// publishes at a time.
const changePage = 10_000

// invalidateEach is how many changed customers a whole-model evaluation
// remembers to drop their cached answers one by one; beyond it, dropping
// everyone's costs less memory than remembering who.
const invalidateEach = 50_000

// changedCustomers collects the distinct customers of membership
// changes, up to invalidateEach of them.
type changedCustomers struct {
	set      map[string]struct{}
	everyone bool
}

func (c *changedCustomers) add(changes []Change) {
	if c.everyone {
		return
	}
	if c.set == nil {
		c.set = map[string]struct{}{}
	}
	for _, ch := range changes {
		c.set[ch.CustomerID] = struct{}{}
	}
	if len(c.set) > invalidateEach {
		c.set, c.everyone = nil, true
	}
}

// ids are the customers collected, in order.
func (c *changedCustomers) ids() []string {
	out := make([]string, 0, len(c.set))
	for id := range c.set {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
