package controller_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
)

func TestOnceConverges(t *testing.T) {
	tests := []struct {
		name     string
		swarm    func() *fakeswarm.Swarm
		planner  toy
		managers []string
		drained  []string
		floor    int
	}{
		{
			name:     "One manager grows to three, drained, without ever losing quorum",
			swarm:    func() *fakeswarm.Swarm { return cluster(5, 1, "a", "b", "c") },
			planner:  toy{managers: []string{"node1", "node2", "node3"}, drain: true},
			managers: []string{"node1", "node2", "node3"},
			drained:  []string{"node1", "node2", "node3"},
			floor:    0,
		},
		{
			name: "Five managers shrink to three, the leader demoted last through an election",
			swarm: func() *fakeswarm.Swarm {
				s := cluster(6, 5)
				s.SetSelf(s.ID("node5"))
				return s
			},
			planner:  toy{managers: []string{"node3", "node4", "node5"}},
			managers: []string{"node3", "node4", "node5"},
			floor:    1,
		},
		{
			name:     "A manager moves: the replacement is promoted before the old one is demoted",
			swarm:    func() *fakeswarm.Swarm { return cluster(4, 3) },
			planner:  toy{managers: []string{"node1", "node2", "node4"}},
			managers: []string{"node1", "node2", "node4"},
			floor:    1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.swarm()
			c, h := newController(t, s, (&tc.planner).plan, controller.Options{})
			plan, err := c.Once(context.Background())
			if err != nil {
				t.Fatalf("Once: %v", err)
			}
			if !plan.Converged() {
				t.Errorf("last plan not converged: %+v", plan)
			}
			managers, avail, _ := world(s)
			if !slices.Equal(managers, tc.managers) {
				t.Errorf("managers = %v, want %v", managers, tc.managers)
			}
			for _, hname := range tc.drained {
				if avail[hname] != swarm.NodeAvailabilityDrain {
					t.Errorf("%s availability = %s, want drain", hname, avail[hname])
				}
			}
			lowest, lost := s.LowestFaultTolerance()
			if lost || lowest < tc.floor {
				t.Errorf("lowest fault tolerance %d (quorum lost %v), floor %d", lowest, lost, tc.floor)
			}
			for _, r := range h.results() {
				if !strings.HasSuffix(r, ": ok") {
					t.Errorf("step result %q, want every step ok", r)
				}
			}
		})
	}
}

func TestDemotingTheOperatorsOwnNodeIsAHandoff(t *testing.T) {
	// Once its own node is demoted the operator can no longer observe the swarm through it:
	// the step counts as settled, and the next pass says clearly that this is not a manager.
	s := cluster(4, 3)
	p := toy{managers: []string{"node2", "node3", "node4"}}
	c, h := newController(t, s, p.plan, controller.Options{})
	_, err := c.Once(context.Background())
	if !errors.Is(err, controller.ErrNotManager) {
		t.Fatalf("Once error = %v, want ErrNotManager after the handoff", err)
	}
	managers, _, _ := world(s)
	if !slices.Equal(managers, []string{"node2", "node3", "node4"}) {
		t.Errorf("managers = %v", managers)
	}
	got := h.results()
	if len(got) == 0 || got[len(got)-1] != "demote node1: ok" {
		t.Errorf("steps = %v, want the own node's demotion last and ok", got)
	}
}

func TestOnceSetsAndRemovesLabelsAndRemovesDownNodes(t *testing.T) {
	s := cluster(4, 1)
	s.SetLabel(s.ID("node2"), "keep", "me")
	s.SetState(s.ID("node4"), swarm.NodeStateDown)
	p := toy{labels: map[string]map[string]string{"node2": {"tier": "db"}, "node3": {"az": "b"}}, removeDown: true, managers: []string{"node1"}}
	c, _ := newController(t, s, p.plan, controller.Options{})
	plan, err := c.Once(context.Background())
	if err != nil {
		t.Fatalf("Once: %v", err)
	}
	if !plan.Converged() {
		t.Errorf("not converged: %+v", plan)
	}
	_, _, labels := world(s)
	if labels["node2"]["tier"] != "db" || labels["node2"]["keep"] != "me" || labels["node3"]["az"] != "b" {
		t.Errorf("labels = %v", labels)
	}
	if _, ok := s.Node("node4"); ok {
		t.Errorf("down node4 still in the swarm")
	}
}

func TestOnceWaitsForAPromoteSentBeforeARestart(t *testing.T) {
	// The operator was killed right after it sent a promote: the node's desired role is manager
	// but it has not joined. A new process must wait for it, not send anything more for it.
	s := cluster(5, 3)
	id := s.ID("node4")
	n, _ := s.Node(id)
	n.Spec.Role = swarm.NodeRoleManager
	if err := s.NodeUpdate(context.Background(), id, n.Version, n.Spec); err != nil {
		t.Fatal(err)
	}
	before := len(s.Calls())
	p := toy{managers: []string{"node1", "node2", "node3", "node4", "node5"}}
	c, _ := newController(t, s, p.plan, controller.Options{})
	plan, err := c.Once(context.Background())
	if err != nil {
		t.Fatalf("Once: %v", err)
	}
	managers, _, _ := world(s)
	if !plan.Converged() || len(managers) != 5 {
		t.Fatalf("managers = %v, converged %v", managers, plan.Converged())
	}
	for _, call := range s.Calls()[before:] {
		if call.Node == id {
			t.Errorf("extra call for node4 after the restart: %+v", call)
		}
	}
}

func TestDryRunMakesNoMutatingCall(t *testing.T) {
	s := cluster(5, 1)
	versions := map[string]uint64{}
	for _, n := range s.Nodes() {
		versions[n.ID] = n.Version.Index
	}
	p := toy{managers: []string{"node1", "node2", "node3"}, drain: true, labels: map[string]map[string]string{"node2": {"az": "b"}}}
	c, h := newController(t, s, p.plan, controller.Options{DryRun: true})

	plan, err := c.Once(context.Background())
	if err != nil {
		t.Fatalf("Once: %v", err)
	}
	if len(plan.Steps) == 0 || plan.Converged() {
		t.Fatalf("dry run should report the pending steps, got %+v", plan)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.Reconcile(context.Background()); err != nil {
			t.Fatalf("Reconcile: %v", err)
		}
	}
	if calls := s.Calls(); len(calls) != 0 {
		t.Errorf("dry run made %d mutating calls: %+v", len(calls), calls)
	}
	for _, n := range s.Nodes() {
		if n.Version.Index != versions[n.ID] {
			t.Errorf("%s version moved from %d to %d", n.Description.Hostname, versions[n.ID], n.Version.Index)
		}
	}
	if len(h.plans) != 4 {
		t.Errorf("OnPlan called %d times, want 4", len(h.plans))
	}
	if len(h.logs.find("Would apply step")) == 0 {
		t.Errorf("dry run did not log the steps it would apply")
	}
}

func TestOutOfSequenceIsRereadAndRetried(t *testing.T) {
	s := cluster(3, 1)
	id := s.ID("node2")
	// The node's version moves between the controller's read and its update, as status
	// updates do on a real swarm.
	d := &touchBeforeUpdate{Swarm: s, times: 1}
	p := toy{managers: []string{"node1"}, labels: map[string]map[string]string{"node2": {"az": "b"}}}
	c, h := newController(t, s, p.plan, controller.Options{Docker: d})

	plan, err := c.Once(context.Background())
	if err != nil {
		t.Fatalf("Once: %v (a conflict is not an error to the user)", err)
	}
	if !plan.Converged() {
		t.Errorf("not converged")
	}
	if n, _ := s.Node(id); n.Spec.Labels["az"] != "b" {
		t.Errorf("label not applied after the conflict: %v", n.Spec.Labels)
	}
	got := h.results()
	if want := []string{"label node2: conflict", "label node2: ok"}; !slices.Equal(got, want) {
		t.Errorf("step results = %v, want %v", got, want)
	}
	calls := s.Calls()
	if len(calls) != 2 || calls[0].Err == nil || !strings.Contains(calls[0].Err.Error(), "update out of sequence") {
		t.Errorf("calls = %+v, want a refused stale update then a good one", calls)
	}
}

// touchBeforeUpdate moves the node's version just before the first NodeUpdate calls.
type touchBeforeUpdate struct {
	*fakeswarm.Swarm
	times int
}

func (d *touchBeforeUpdate) NodeUpdate(ctx context.Context, id string, v swarm.Version, sp swarm.NodeSpec) error {
	if d.times > 0 {
		d.times--
		d.Touch(id)
	}
	return d.Swarm.NodeUpdate(ctx, id, v, sp)
}

func TestPromoteThatNeverSettles(t *testing.T) {
	tests := []struct {
		name  string
		cfg   fakeswarm.NodeConfig
		state string
	}{
		{"A promote that never reaches raft times out and holds every later change",
			fakeswarm.NodeConfig{Hostname: "node4", NeverJoins: true}, "not in the raft member list yet"},
		{"A promote that joins but never becomes reachable times out and holds every later change",
			fakeswarm.NodeConfig{Hostname: "node4", JoinsUnreachable: true}, "raft member but unreachable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fakeswarm.New(
				fakeswarm.NodeConfig{Hostname: "node1", Manager: true, Leader: true},
				fakeswarm.NodeConfig{Hostname: "node2", Manager: true},
				fakeswarm.NodeConfig{Hostname: "node3", Manager: true},
				tc.cfg,
				fakeswarm.NodeConfig{Hostname: "node5"},
			)
			p := toy{managers: []string{"node1", "node2", "node3", "node4", "node5"}}
			c, h := newController(t, s, p.plan, controller.Options{StepTimeout: 30 * time.Second})

			_, err := c.Once(context.Background())
			if !errors.Is(err, controller.ErrStepTimeout) {
				t.Fatalf("Once error = %v, want ErrStepTimeout", err)
			}
			for _, want := range []string{"promote of node4", tc.state, "docker node demote"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			// Later passes wait for node4 again; node5 is never promoted on top of it.
			for i := 0; i < 3; i++ {
				if _, err := c.Reconcile(context.Background()); !errors.Is(err, controller.ErrStepTimeout) {
					t.Errorf("pass %d: error = %v, want ErrStepTimeout while node4 is in flight", i, err)
				}
			}
			if n, _ := s.Node("node5"); n.Spec.Role != swarm.NodeRoleWorker {
				t.Errorf("node5 was promoted on top of an unsettled promote")
			}
			if got := h.results(); !slices.Equal(got, []string{"promote node4: timeout"}) {
				t.Errorf("steps = %v, want only the one promote", got)
			}
		})
	}
}

func TestAHumanUndoingAStuckPromoteLetsTheLoopGoOn(t *testing.T) {
	s := fakeswarm.New(
		fakeswarm.NodeConfig{Hostname: "node1", Manager: true, Leader: true},
		fakeswarm.NodeConfig{Hostname: "node2", Manager: true},
		fakeswarm.NodeConfig{Hostname: "node3", Manager: true},
		fakeswarm.NodeConfig{Hostname: "node4", JoinsUnreachable: true},
		fakeswarm.NodeConfig{Hostname: "node5"},
	)
	p := toy{managers: []string{"node1", "node2", "node3", "node4"}}
	c, _ := newController(t, s, p.plan, controller.Options{StepTimeout: 10 * time.Second})
	if _, err := c.Reconcile(context.Background()); !errors.Is(err, controller.ErrStepTimeout) {
		t.Fatalf("error = %v, want ErrStepTimeout", err)
	}
	// The human follows the advice and demotes node4; the topology now wants node5 instead.
	n, _ := s.Node("node4")
	n.Spec.Role = swarm.NodeRoleWorker
	if err := s.NodeUpdate(context.Background(), n.ID, n.Version, n.Spec); err != nil {
		t.Fatalf("demote node4: %v", err)
	}
	p.managers = []string{"node1", "node2", "node3", "node5"}
	plan, err := c.Once(context.Background())
	if err != nil {
		t.Fatalf("Once after the human fix: %v", err)
	}
	managers, _, _ := world(s)
	if !plan.Converged() || !slices.Equal(managers, []string{"node1", "node2", "node3", "node5"}) {
		t.Errorf("managers = %v, converged %v", managers, plan.Converged())
	}
}
