package controller

import (
	"maps"
	"testing"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

func TestSpecForChangesOnlyWhatTheStepAsks(t *testing.T) {
	cur := swarm.NodeSpec{
		Annotations:  swarm.Annotations{Name: "keep-name", Labels: map[string]string{"az": "a", "other": "x", "old": "1"}},
		Role:         swarm.NodeRoleWorker,
		Availability: swarm.NodeAvailabilityActive,
	}
	tests := []struct {
		name    string
		step    reconcile.Step
		want    func(s *swarm.NodeSpec)
		changed bool
	}{
		{"A promote sets only the role", reconcile.Step{Action: reconcile.ActionPromote},
			func(s *swarm.NodeSpec) { s.Role = swarm.NodeRoleManager }, true},
		{"A demote of a worker changes nothing", reconcile.Step{Action: reconcile.ActionDemote}, func(*swarm.NodeSpec) {}, false},
		{"A drain sets only the availability", reconcile.Step{Action: reconcile.ActionDrain},
			func(s *swarm.NodeSpec) { s.Availability = swarm.NodeAvailabilityDrain }, true},
		{"A pause sets only the availability", reconcile.Step{Action: reconcile.ActionPause},
			func(s *swarm.NodeSpec) { s.Availability = swarm.NodeAvailabilityPause }, true},
		{"An activate of an active node changes nothing", reconcile.Step{Action: reconcile.ActionActivate}, func(*swarm.NodeSpec) {}, false},
		{"A label step adds and removes its keys and leaves the others",
			reconcile.Step{Action: reconcile.ActionLabel, Labels: &reconcile.LabelChange{Add: map[string]string{"az": "b", "tier": "db"}, Remove: []string{"old"}}},
			func(s *swarm.NodeSpec) { s.Labels = map[string]string{"az": "b", "tier": "db", "other": "x"} }, true},
		{"A label step already in place changes nothing",
			reconcile.Step{Action: reconcile.ActionLabel, Labels: &reconcile.LabelChange{Add: map[string]string{"az": "a"}, Remove: []string{"gone"}}},
			func(*swarm.NodeSpec) {}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := cur
			before.Labels = maps.Clone(cur.Labels)
			got, changed, err := specFor(cur, tc.step)
			if err != nil {
				t.Fatal(err)
			}
			want := cur
			want.Labels = maps.Clone(cur.Labels)
			tc.want(&want)
			if got.Name != want.Name || got.Role != want.Role || got.Availability != want.Availability || !maps.Equal(got.Labels, want.Labels) {
				t.Errorf("spec = %+v, want %+v", got, want)
			}
			if changed != tc.changed {
				t.Errorf("changed = %v, want %v", changed, tc.changed)
			}
			if !maps.Equal(cur.Labels, before.Labels) {
				t.Errorf("the read spec was modified: %v", cur.Labels)
			}
		})
	}
	if _, _, err := specFor(cur, reconcile.Step{Action: "explode"}); err == nil {
		t.Errorf("an unknown action was accepted")
	}
	if _, _, err := specFor(cur, reconcile.Step{Action: reconcile.ActionLabel}); err == nil {
		t.Errorf("a label step without labels was accepted")
	}
}

func TestSettled(t *testing.T) {
	mgr := func(id string, r reconcile.Reachability, leader bool) reconcile.Node {
		return reconcile.Node{ID: id, DesiredRole: reconcile.RoleManager, Member: true, Reachability: r, Leader: leader,
			State: reconcile.StateReady, Availability: spec.AvailabilityActive}
	}
	wk := func(id string, role reconcile.Role) reconcile.Node {
		return reconcile.Node{ID: id, DesiredRole: role, State: reconcile.StateReady, Availability: spec.AvailabilityDrain,
			Labels: map[string]string{"az": "a"}}
	}
	snap := func(nodes ...reconcile.Node) reconcile.Snapshot { return reconcile.Snapshot{Nodes: nodes} }
	leader := mgr("L", reconcile.ReachabilityReachable, true)
	tests := []struct {
		name string
		s    reconcile.Snapshot
		step reconcile.Step
		want bool
	}{
		{"A promote is done when the node is a reachable member and a leader exists",
			snap(leader, mgr("n", reconcile.ReachabilityReachable, false)), reconcile.Step{Action: reconcile.ActionPromote, Node: "n"}, true},
		{"A promote is not done while the node is not a member",
			snap(leader, wk("n", reconcile.RoleManager)), reconcile.Step{Action: reconcile.ActionPromote, Node: "n"}, false},
		{"A promote is not done while the member is unreachable",
			snap(leader, mgr("n", reconcile.ReachabilityUnreachable, false)), reconcile.Step{Action: reconcile.ActionPromote, Node: "n"}, false},
		{"A promote is not done without a leader",
			snap(mgr("n", reconcile.ReachabilityReachable, false)), reconcile.Step{Action: reconcile.ActionPromote, Node: "n"}, false},
		{"Nothing is done while the swarm has no leader",
			reconcile.Snapshot{ClusterError: "no leader"}, reconcile.Step{Action: reconcile.ActionDemote, Node: "n"}, false},
		{"A demote is done when the member is gone and a leader exists",
			snap(leader, wk("n", reconcile.RoleWorker)), reconcile.Step{Action: reconcile.ActionDemote, Node: "n"}, true},
		{"A demote is not done while the node is still a member",
			snap(leader, mgr("n", reconcile.ReachabilityReachable, false)), reconcile.Step{Action: reconcile.ActionDemote, Node: "n"}, false},
		{"A demote of the leader is not done until a new leader exists",
			snap(wk("n", reconcile.RoleWorker)), reconcile.Step{Action: reconcile.ActionDemote, Node: "n"}, false},
		{"A drain is done when the availability reads back",
			snap(leader, wk("n", reconcile.RoleWorker)), reconcile.Step{Action: reconcile.ActionDrain, Node: "n"}, true},
		{"An activate is not done while the availability reads drain",
			snap(leader, wk("n", reconcile.RoleWorker)), reconcile.Step{Action: reconcile.ActionActivate, Node: "n"}, false},
		{"A label step is done when added keys read back and removed ones are gone",
			snap(leader, wk("n", reconcile.RoleWorker)), reconcile.Step{Action: reconcile.ActionLabel, Node: "n",
				Labels: &reconcile.LabelChange{Add: map[string]string{"az": "a"}, Remove: []string{"x"}}}, true},
		{"A label step is not done while a removed key is there",
			snap(leader, wk("n", reconcile.RoleWorker)), reconcile.Step{Action: reconcile.ActionLabel, Node: "n",
				Labels: &reconcile.LabelChange{Remove: []string{"az"}}}, false},
		{"A remove is done when the node is gone", snap(leader), reconcile.Step{Action: reconcile.ActionRemove, Node: "n"}, true},
		{"A remove is not done while the node is listed",
			snap(leader, wk("n", reconcile.RoleWorker)), reconcile.Step{Action: reconcile.ActionRemove, Node: "n"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, state := settled(tc.s, tc.step)
			if got != tc.want {
				t.Errorf("settled = %v (%s), want %v", got, state, tc.want)
			}
			if state == "" {
				t.Errorf("no state given")
			}
		})
	}
}

func TestDryRunHoldsNoWriter(t *testing.T) {
	c := New(Options{Docker: nopDocker{}, Topology: func() *spec.SwarmTopology { return nil }, DryRun: true})
	if c.w != nil {
		t.Errorf("a dry-run controller holds a Writer")
	}
	if _, ok := c.r.(Writer); ok {
		t.Errorf("the dry-run reader can be asserted back to a Writer")
	}
	if c := New(Options{Docker: nopDocker{}, Topology: func() *spec.SwarmTopology { return nil }}); c.w == nil {
		t.Errorf("a normal controller holds no Writer")
	}
}

func TestNewDockerFromEnvHonoursDockerHost(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	c, err := NewDockerFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.DaemonHost(); got != "unix:///nonexistent/docker.sock" {
		t.Errorf("DaemonHost = %q", got)
	}
}

type nopDocker struct{ Docker }
