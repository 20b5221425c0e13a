package reconcile

import (
	"errors"
	"testing"

	"github.com/swarmtopo/swarmtopo/spec"
)

func drained(s *spec.Spec)       { s.Managers.Availability = spec.AvailabilityDrain }
func workersActive(s *spec.Spec) { s.Workers.Availability = spec.AvailabilityActive }
func removeDown(s *spec.Spec)    { s.Policy.RemoveDownNodes = true }
func explicit(zones map[string]int) func(*spec.Spec) {
	return func(s *spec.Spec) { s.Managers.Spread = spec.Spread{Mode: spec.SpreadExplicit, Zones: zones} }
}

func TestCheckStepRefusesUnsafeChanges(t *testing.T) {
	three := snap(node("node1", "a", "M", "L"), node("node2", "b", "M"), node("node3", "c", "U"), node("node4", "a"), node("node5", "b", "D"))
	tests := []struct {
		name  string
		snap  Snapshot
		step  Step
		floor int
		want  error
	}{
		{"demoting a reachable manager when one is already unreachable loses quorum", three, Step{Action: ActionDemote, Node: "id-node2"}, 0, ErrQuorumLost},
		{"demoting below the floor is refused", snap(node("node1", "a", "M", "L"), node("node2", "b", "M"), node("node3", "c", "M")), Step{Action: ActionDemote, Node: "id-node2"}, 1, ErrBelowFloor},
		{"promoting a down node is refused", three, Step{Action: ActionPromote, Node: "id-node5"}, 0, ErrNotEligible},
		{"removing a manager is refused", three, Step{Action: ActionRemove, Node: "id-node3"}, 0, ErrNotEligible},
		{"removing a ready worker is refused", three, Step{Action: ActionRemove, Node: "id-node4"}, 0, ErrNotEligible},
		{"a role change while another is in flight is refused", snap(node("node1", "a", "M", "L"), node("node2", "b", "P"), node("node3", "c")), Step{Action: ActionPromote, Node: "id-node3"}, 0, ErrInFlight},
		{"demoting the last manager is refused", snap(node("node1", "a", "M", "L")), Step{Action: ActionDemote, Node: "id-node1"}, 0, ErrQuorumLost},
		{"any role change without quorum is refused", snap(node("node1", "a", "M", "L"), node("node2", "b", "U"), node("node3", "c", "U"), node("node4", "a")), Step{Action: ActionPromote, Node: "id-node4"}, 0, ErrQuorumLost},
		{"a node that left the swarm is refused", three, Step{Action: ActionDrain, Node: "id-gone"}, 0, ErrNotEligible},
		{"even a label change is refused without quorum", snap(node("node1", "a", "M", "L"), node("node2", "b", "U"), node("node3", "c", "U")), Step{Action: ActionLabel, Node: "id-node1", Labels: &LabelChange{Add: map[string]string{"k": "v"}}}, 0, ErrQuorumLost},
		{"demoting a node whose promotion has not joined raft is refused, as swarm does", snap(node("node1", "a", "M", "L"), node("node2", "b", "P")), Step{Action: ActionDemote, Node: "id-node2"}, 0, ErrNotEligible},
		{"demoting an unreachable manager is allowed", three, Step{Action: ActionDemote, Node: "id-node3"}, 0, nil},
		{"promoting beside an unreachable manager of three is refused: 2 of 4 would be reachable until it joins", three, Step{Action: ActionPromote, Node: "id-node4"}, 0, ErrQuorumLost},
		{"promoting a ready worker is allowed", snap(node("node1", "a", "M", "L"), node("node2", "b", "M"), node("node3", "c", "M"), node("node4", "a")), Step{Action: ActionPromote, Node: "id-node4"}, 0, nil},
		{"promoting beside an unreachable manager of five is allowed: 4 of 6 reachable is a quorum", snap(node("node1", "a", "M", "L"), node("node2", "b", "M"), node("node3", "c", "M"), node("node4", "a", "M"), node("node5", "b", "U"), node("node6", "c")), Step{Action: ActionPromote, Node: "id-node6"}, 0, nil},
		{"growing a single manager is allowed: it always depends on the newcomer", snap(node("node1", "a", "M", "L"), node("node2", "b")), Step{Action: ActionPromote, Node: "id-node2"}, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckStep(tc.snap, tc.step, tc.floor)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("CheckStep = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFaultToleranceMatchesTheAdminGuideTable(t *testing.T) {
	want := map[int]int{1: 0, 2: 0, 3: 1, 4: 1, 5: 2, 6: 2, 7: 3, 8: 3, 9: 4}
	for n, ft := range want {
		if got := FaultTolerance(n, n); got != ft {
			t.Errorf("FaultTolerance(%d, %d) = %d, want %d", n, n, got, ft)
		}
	}
}

func TestAfterALeaderChangeUnknownNodesDoNotMakeHealthyManagersLookUnwanted(t *testing.T) {
	// Swarm marks every node "unknown" for a second or two after an election. Five managers
	// spread 2-2-1 must not look misplaced then: not even a demote the floor would stop.
	s := snap(node("node1", "a", "M", "L"), node("node2", "b", "M"), node("node3", "c", "M"),
		node("node4", "a", "M"), node("node5", "b", "M"), node("node6", "c"))
	for i := range s.Nodes {
		s.Nodes[i].State = StateUnknown
	}
	p := mustPlan(t, topo(5), s)
	if len(p.Steps) != 0 || len(p.Warnings) != 0 {
		t.Fatalf("plan with every node unknown: steps %q, warnings %q; want neither", stepList(p), p.Warnings)
	}
}
