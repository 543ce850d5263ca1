package auth

import (
	"testing"

	"github.com/kehu-crm/kehu/pkg/errs"
)

func TestAccessRules(t *testing.T) {
	t.Parallel()
	as := func(subject string, roles ...Role) Access { return Access{Principal{Subject: subject, Roles: roles}} }
	agent := as("alice", RoleAgent)
	if !agent.CanSee("alice") || !agent.CanSee("") || agent.CanSee("bob") {
		t.Errorf("agent visibility wrong: own=%v pool=%v theirs=%v", agent.CanSee("alice"), agent.CanSee(""), agent.CanSee("bob"))
	}
	if agent.CanChange("bob") || !agent.CanChange("") || !agent.CanChange("alice") {
		t.Errorf("agent may change another agent's record, or not their own")
	}
	if agent.Scope() != "alice" || agent.Masked() || agent.Unrestricted() {
		t.Errorf("agent: scope %q masked %v unrestricted %v", agent.Scope(), agent.Masked(), agent.Unrestricted())
	}
	if err := agent.CheckAssignee("bob", "f"); !errs.Is(err, errs.KindPermissionDenied) {
		t.Errorf("agent assigning to bob: got %v", err)
	}
	if err := agent.CheckAssignee("alice", "f"); err != nil {
		t.Errorf("agent taking work: %v", err)
	}
	for _, r := range []Role{RoleAdmin, RoleManager, RoleService} {
		// An agent who is also a manager is a manager.
		u := as("m", r, RoleAgent)
		if !u.CanChange("bob") || u.Scope() != "" || u.Masked() || u.CheckAssignee("bob", "f") != nil {
			t.Errorf("%s is restricted", r)
		}
	}
	for _, r := range []Role{RoleAnalyst, RoleViewer} {
		u := as("v", r)
		if u.CanChange("") || !u.CanSee("bob") || !u.Masked() || u.Scope() != "" {
			t.Errorf("%s: change %v see %v masked %v", r, u.CanChange(""), u.CanSee("bob"), u.Masked())
		}
	}
	// No role at all sees nothing unmasked and changes nothing.
	if none := as("x"); none.CanChange("") || !none.Masked() {
		t.Errorf("a caller without roles may change records or see personal data")
	}
}
