package auth

// Role sets the permission tables are written in. A service's table names
// one per method; admin may call every method whatever the set.
var (
	// Readers may read: everyone but an unauthenticated caller.
	Readers = []Role{RoleManager, RoleAgent, RoleAnalyst, RoleViewer, RoleService}
	// Writers change records in the course of daily work.
	Writers = []Role{RoleManager, RoleAgent, RoleService}
	// Staff are the people who work records, not services: soft deletes
	// and undeletes are decisions a person takes.
	Staff = []Role{RoleManager, RoleAgent}
	// Managers configure the service and act across agents.
	Managers = []Role{RoleManager}
	// Services are Kehu's own services calling each other (event streams).
	Services = []Role{RoleService}
	// AdminOnly marks irreversible operations such as erasure.
	AdminOnly []Role
	// Anyone marks the few methods callers reach without a bearer token
	// because a secret in the request authorises them (a survey link):
	// the method checks that secret itself, and any token is ignored.
	Anyone = []Role{roleAnyone}
)

// roleAnyone is no token's role (tokens with unknown roles are refused):
// it only marks Anyone methods in permission tables.
const roleAnyone Role = "(anyone)"

// NewPolicy builds a service's permission table from method names
// ("GetCustomer") of the gRPC service named service.
func NewPolicy(service string, rules map[string][]Role) Policy {
	p := make(Policy, len(rules))
	for name, roles := range rules {
		p["/"+service+"/"+name] = roles
	}
	return p
}
