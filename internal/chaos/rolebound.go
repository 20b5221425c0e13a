package chaos

import (
	"fmt"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// StartState is the lab as a scenario starts it: Managers managers node1..nodeM, node1
// leading, zones round robin.
type StartState struct {
	Nodes    int
	Zones    []string
	Managers int
	// Drained says whether the managers start drained.
	Drained bool
}

func (s StartState) zoneOf(i int) string {
	if len(s.Zones) == 0 {
		return ""
	}
	return s.Zones[(i-1)%len(s.Zones)]
}

// Snapshot is the start as the planner sees it: every node ready, every manager reachable,
// node1 leading.
func (s StartState) Snapshot() reconcile.Snapshot {
	nodes := make([]reconcile.Node, s.Nodes)
	for i := 1; i <= s.Nodes; i++ {
		host := fmt.Sprintf("node%d", i)
		n := reconcile.Node{ID: "id-" + host, Version: 1, Hostname: host, DesiredRole: reconcile.RoleWorker,
			Availability: spec.AvailabilityActive, State: reconcile.StateReady, Labels: map[string]string{}}
		if z := s.zoneOf(i); z != "" {
			n.Labels[spec.DefaultZoneLabel] = z
		}
		if i <= s.Managers {
			n.DesiredRole, n.Member, n.Reachability = reconcile.RoleManager, true, reconcile.ReachabilityReachable
			n.Leader = i == 1
			if s.Drained {
				n.Availability = spec.AvailabilityDrain
			}
		}
		nodes[i-1] = n
	}
	return reconcile.Snapshot{Nodes: nodes, Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// Executed is a fault as the runner carried it out, one per node it hit: a split gives one for
// each manager of the minority island.
type Executed struct {
	Kind     Kind
	Hostname string
	// WasManager says whether the node was a manager when the fault struck.
	WasManager bool
	For        time.Duration
	Edit       string
	// NewTarget is new-file's new topology.
	NewTarget *Topology
}

// RoleBound is the fewest role changes (promotions and demotions) a scenario's operator needs,
// to compare with the role changes measured:
//
//   - From the start to the target, the role changes of the real planner's plans (reconcile.
//     Compute, planned again on the applied result until nothing is left), starting from
//     start.Snapshot(). The planner takes the fewest role changes that meet the spread, so its
//     count is the bound without faults.
//   - +2 for each executed kill, restart, pause, partition or split that left a manager away
//     longer than ReplaceUnreachableAfter: the operator promotes a replacement, and once the
//     manager returns there is one manager too many, so one is demoted. A fault within the
//     grace period forces nothing.
//   - +2 for each human promote or demote: the operator undoes it, and the human's change is a
//     role change the swarm logs too.
//   - For a new-file, + the planner's count from the first target to the new one, planned on the
//     lab as the first target leaves it. The file arrives mid-plan, when the lab is somewhere
//     between the two, so this is an approximation: the operator may get there with fewer
//     changes (a promotion the new file also wants) or the measurement may catch one more.
//
// Operator kills, socket faults, and availability or label edits change no role. An error means
// a topology did not parse or the planner failed, both bugs of the generator or the planner.
func RoleBound(start StartState, target Topology, executed []Executed) (int, error) {
	t, err := target.Parse("target")
	if err != nil {
		return 0, fmt.Errorf("target: %w", err)
	}
	nodes, bound, err := converge(t, start.Snapshot().Nodes)
	if err != nil {
		return 0, fmt.Errorf("start to target: %w", err)
	}
	for _, e := range executed {
		switch e.Kind {
		case KindKill, KindRestart, KindPause, KindPartition, KindSplit:
			if e.WasManager && e.For > ReplaceUnreachableAfter {
				bound += 2
			}
		case KindHuman:
			if e.Edit == EditPromote || e.Edit == EditDemote {
				bound += 2
			}
		case KindNewFile:
			if e.NewTarget == nil {
				return 0, fmt.Errorf("new-file fault has no NewTarget")
			}
			nt, err := e.NewTarget.Parse("new-target")
			if err != nil {
				return 0, fmt.Errorf("new target: %w", err)
			}
			var n int
			nodes, n, err = converge(nt, nodes)
			if err != nil {
				return 0, fmt.Errorf("target to new target: %w", err)
			}
			bound += n
		}
	}
	return bound, nil
}

// converge plans and applies until the plan is empty (the planner may hold a demote back for a
// later pass), and returns the nodes at the end with the number of role changes on the way.
func converge(t *spec.SwarmTopology, nodes []reconcile.Node) ([]reconcile.Node, int, error) {
	changes := 0
	for range 10 {
		p, err := reconcile.Compute(t, reconcile.Snapshot{Nodes: nodes, Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			return nil, 0, err
		}
		if len(p.Steps) == 0 {
			return nodes, changes, nil
		}
		for _, st := range p.Steps {
			if st.Action.IsRoleChange() {
				changes++
			}
			nodes = reconcile.ApplyStep(nodes, st)
		}
	}
	return nil, 0, fmt.Errorf("the plans do not converge within 10 passes")
}

// hasWork reports whether the operator has something other than labels to do to take the start
// to t, as the planner sees it.
func hasWork(start StartState, t Topology) bool {
	st, err := t.Parse("target")
	if err != nil {
		return true // the tests catch it; drawing again would hide it
	}
	p, err := reconcile.Compute(st, start.Snapshot())
	if err != nil {
		return true
	}
	for _, s := range p.Steps {
		if s.Action != reconcile.ActionLabel {
			return true
		}
	}
	return false
}
