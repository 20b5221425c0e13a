package reconcile

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// lockOn is a maintenance lock on host valid from t0 for d.
func lockOn(s Snapshot, host string, d time.Duration) *MaintenanceLock {
	for _, n := range s.Nodes {
		if n.Hostname == host {
			return &MaintenanceLock{Node: n.ID, Hostname: host, Holder: "ops@host", Reason: "backup",
				Start: t0.Add(-time.Hour), Expiry: t0.Add(d), Manager: n.Member}
		}
	}
	panic("no node " + host)
}

// threeOfFiveNodes: managers node1 (leader), node2 and node3 over zones a, b, c; node2
// unreachable long past any grace period; node4 and node5 spare workers in zones b and c.
func threeOfFiveNodes() Snapshot {
	s := snap(node("node1", "a", "M", "L"), node("node2", "b", "M", "U"), node("node3", "c", "M"),
		node("node4", "b"), node("node5", "c"))
	for i := range s.Nodes {
		if s.Nodes[i].Hostname == "node2" {
			s.Nodes[i].UnreachableSince = t0.Add(-time.Hour)
		}
	}
	return s
}

func TestAManagerInMaintenanceIsNotReplacedWhileTheLockHolds(t *testing.T) {
	s := threeOfFiveNodes()
	s.Maintenance = lockOn(s, "node2", 10*time.Minute)
	p := mustPlan(t, topo(3), s)
	if len(p.Steps) != 0 {
		t.Errorf("steps = %s; want none while node2 is in maintenance", stepList(p))
	}
	if p.Maintenance == nil || p.Maintenance.Hostname != "node2" {
		t.Errorf("plan does not show the lock: %+v", p.Maintenance)
	}
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "node2 is in maintenance (held by ops@host until") {
		t.Errorf("warnings do not say node2 is in maintenance: %q", p.Warnings)
	}
}

func TestAfterTheLockExpiresTheNormalRulesApply(t *testing.T) {
	s := threeOfFiveNodes()
	s.Maintenance = lockOn(s, "node2", -time.Minute)
	p := mustPlan(t, topo(3), s)
	if got := stepList(p); !strings.HasPrefix(got, "demote node2, promote node4") {
		t.Errorf("steps = %s; want node2 replaced by node4 once the lock expired (the unreachable one demoted first)", got)
	}
	if p.Maintenance != nil {
		t.Errorf("an expired lock shows in the plan: %+v", p.Maintenance)
	}
}

func TestNoDemotionWhileAManagerIsInMaintenance(t *testing.T) {
	// Five reachable managers, the file asks for three, node5 in maintenance (still reachable:
	// its command has not stopped it yet).
	s := snap(node("node1", "a", "M", "L"), node("node2", "b", "M"), node("node3", "c", "M"),
		node("node4", "a", "M"), node("node5", "b", "M"))
	s.Maintenance = lockOn(s, "node5", 10*time.Minute)
	p := mustPlan(t, topo(3), s)
	for _, st := range p.Steps {
		if st.Action == ActionDemote || st.Action == ActionRemove {
			t.Errorf("plan has %s %s while node5 is in maintenance", st.Action, st.Hostname)
		}
	}
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "not demoting") {
		t.Errorf("warnings do not say the demotions wait: %q", p.Warnings)
	}
	// The controller's last check refuses it too, whatever plan asked for it.
	err := CheckStep(s, Step{Action: ActionDemote, Node: s.Nodes[3].ID, Hostname: "node4"}, 0)
	if !errors.Is(err, ErrNotEligible) || !strings.Contains(err.Error(), "node5 is in maintenance") {
		t.Errorf("CheckStep(demote node4) = %v; want refused for node5's maintenance", err)
	}
	// A worker in maintenance holds nothing back.
	s.Maintenance = nil
	if err := CheckStep(s, Step{Action: ActionDemote, Node: s.Nodes[3].ID, Hostname: "node4"}, 0); err != nil {
		t.Errorf("CheckStep without maintenance = %v", err)
	}
}

func TestAMaintenanceLabelThatIsNotALockIsSaidInThePlan(t *testing.T) {
	s := threeOfFiveNodes()
	s.MaintenanceError = "label dev.swarmtopo.maintenance: garbage"
	p := mustPlan(t, topo(3), s)
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "maintenance lock cannot be read") {
		t.Errorf("warnings = %q", p.Warnings)
	}
}
