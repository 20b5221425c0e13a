package reconcile

import (
	"testing"

	"github.com/swarmtopo/swarmtopo/spec"
)

func TestSettled(t *testing.T) {
	mgr := func(id string, r Reachability, leader bool) Node {
		return Node{ID: id, DesiredRole: RoleManager, Member: true, Reachability: r, Leader: leader,
			State: StateReady, Availability: spec.AvailabilityActive}
	}
	wk := func(id string, role Role) Node {
		return Node{ID: id, DesiredRole: role, State: StateReady, Availability: spec.AvailabilityDrain,
			Labels: map[string]string{"az": "a"}}
	}
	snap := func(nodes ...Node) Snapshot { return Snapshot{Nodes: nodes} }
	leader := mgr("L", ReachabilityReachable, true)
	tests := []struct {
		name string
		s    Snapshot
		step Step
		want bool
	}{
		{"A promote is done when the node is a reachable member and a leader exists",
			snap(leader, mgr("n", ReachabilityReachable, false)), Step{Action: ActionPromote, Node: "n"}, true},
		{"A promote is not done while the node is not a member",
			snap(leader, wk("n", RoleManager)), Step{Action: ActionPromote, Node: "n"}, false},
		{"A promote of a node that is down and not a member is not done",
			snap(leader, func() Node { n := wk("n", RoleManager); n.State = StateDown; return n }()), Step{Action: ActionPromote, Node: "n"}, false},
		{"A promote is not done while the member is unreachable",
			snap(leader, mgr("n", ReachabilityUnreachable, false)), Step{Action: ActionPromote, Node: "n"}, false},
		{"A promote is not done without a leader",
			snap(mgr("n", ReachabilityReachable, false)), Step{Action: ActionPromote, Node: "n"}, false},
		{"Nothing is done while the swarm has no leader",
			Snapshot{ClusterError: "no leader"}, Step{Action: ActionDemote, Node: "n"}, false},
		{"A demote is done when the member is gone and a leader exists",
			snap(leader, wk("n", RoleWorker)), Step{Action: ActionDemote, Node: "n"}, true},
		{"A demote is not done while the node is still a member",
			snap(leader, mgr("n", ReachabilityReachable, false)), Step{Action: ActionDemote, Node: "n"}, false},
		{"A demote of the leader is not done until a new leader exists",
			snap(wk("n", RoleWorker)), Step{Action: ActionDemote, Node: "n"}, false},
		{"A drain is done when the availability reads back",
			snap(leader, wk("n", RoleWorker)), Step{Action: ActionDrain, Node: "n"}, true},
		{"An activate is not done while the availability reads drain",
			snap(leader, wk("n", RoleWorker)), Step{Action: ActionActivate, Node: "n"}, false},
		{"A label step is done when added keys read back and removed ones are gone",
			snap(leader, wk("n", RoleWorker)), Step{Action: ActionLabel, Node: "n",
				Labels: &LabelChange{Add: map[string]string{"az": "a"}, Remove: []string{"x"}}}, true},
		{"A label step is not done while a removed key is there",
			snap(leader, wk("n", RoleWorker)), Step{Action: ActionLabel, Node: "n",
				Labels: &LabelChange{Remove: []string{"az"}}}, false},
		{"A remove is done when the node is gone", snap(leader), Step{Action: ActionRemove, Node: "n"}, true},
		{"A remove is not done while the node is listed",
			snap(leader, wk("n", RoleWorker)), Step{Action: ActionRemove, Node: "n"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, state := Settled(tc.s, tc.step)
			if got != tc.want {
				t.Errorf("settled = %v (%s), want %v", got, state, tc.want)
			}
			if state == "" {
				t.Errorf("no state given")
			}
		})
	}
}
