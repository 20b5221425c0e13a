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
