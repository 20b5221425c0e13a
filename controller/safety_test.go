package controller_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

func TestQuorumLossBlocksWithoutAnyChange(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(s *fakeswarm.Swarm)
	}{
		{"The daemon already answers that the swarm has no leader", func(s *fakeswarm.Swarm) { s.LoseQuorum() }},
		{"Node calls hang first and only Info explains why", func(s *fakeswarm.Swarm) { s.HangThenLoseQuorum() }},
		{"Two of three managers are killed", func(s *fakeswarm.Swarm) {
			s.Kill(s.ID("node2"))
			s.Kill(s.ID("node3"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := cluster(5, 3)
			tc.break_(s)
			p := toy{managers: []string{"node1", "node2", "node3", "node4", "node5"}}
			c, _ := newController(t, s, p.plan, controller.Options{CallTimeout: 50 * time.Millisecond})
			start := time.Now()
			plan, err := c.Once(context.Background())
			if err != nil {
				t.Fatalf("Once: %v, want a blocked plan", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %s to report blocked", took)
			}
			for _, want := range []string{"no leader", "more than half", "--force-new-cluster"} {
				if !strings.Contains(plan.Blocked, want) {
					t.Errorf("blocked reason %q does not say %q", plan.Blocked, want)
				}
			}
			if len(plan.Steps) != 0 {
				t.Errorf("a blocked plan lists steps: %+v", plan.Steps)
			}
			if calls := s.Calls(); len(calls) != 0 {
				t.Errorf("mutating calls while quorum is lost: %+v", calls)
			}
		})
	}
}

func TestSafetyCheckRefusalPreventsTheCall(t *testing.T) {
	tests := []struct {
		name  string
		swarm func() *fakeswarm.Swarm
		step  func(s *fakeswarm.Swarm) reconcile.Step
		floor int
		want  error
	}{
		{
			name:  "A demote below the floor",
			swarm: func() *fakeswarm.Swarm { return cluster(4, 3) },
			step: func(s *fakeswarm.Swarm) reconcile.Step {
				return reconcile.Step{Action: reconcile.ActionDemote, Node: s.ID("node2"), Hostname: "node2"}
			},
			floor: 1,
			want:  reconcile.ErrBelowFloor,
		},
		{
			name: "A demote that the world made unsafe since the plan: a manager died meanwhile",
			swarm: func() *fakeswarm.Swarm {
				s := cluster(4, 3)
				s.Kill(s.ID("node3"))
				return s
			},
			step: func(s *fakeswarm.Swarm) reconcile.Step {
				return reconcile.Step{Action: reconcile.ActionDemote, Node: s.ID("node2"), Hostname: "node2"}
			},
			want: reconcile.ErrQuorumLost,
		},
		{
			name:  "A promote of a node that is down",
			swarm: func() *fakeswarm.Swarm { s := cluster(4, 3); s.Kill(s.ID("node4")); return s },
			step: func(s *fakeswarm.Swarm) reconcile.Step {
				return reconcile.Step{Action: reconcile.ActionPromote, Node: s.ID("node4"), Hostname: "node4"}
			},
			want: reconcile.ErrNotEligible,
		},
		{
			name:  "A removal of a node that is up",
			swarm: func() *fakeswarm.Swarm { return cluster(4, 3) },
			step: func(s *fakeswarm.Swarm) reconcile.Step {
				return reconcile.Step{Action: reconcile.ActionRemove, Node: s.ID("node4"), Hostname: "node4"}
			},
			want: reconcile.ErrNotEligible,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.swarm()
			st := tc.step(s)
			planner := func(_ *spec.SwarmTopology, snap reconcile.Snapshot) (*reconcile.Plan, error) {
				return &reconcile.Plan{Steps: []reconcile.Step{st}, Floor: tc.floor, Time: snap.Time}, nil
			}
			c, h := newController(t, s, planner, controller.Options{})
			res, err := c.Reconcile(context.Background())
			if err != nil {
				t.Fatalf("Reconcile: %v", err)
			}
			if res.Step == nil || res.Step.Result != controller.ResultRefused || !errors.Is(res.Step.Err, tc.want) {
				t.Fatalf("step = %+v, want refused with %v", res.Step, tc.want)
			}
			if res.RequeueAfter <= 0 {
				t.Errorf("a refused step should be planned again after a pause, got %+v", res)
			}
			if calls := s.Calls(); len(calls) != 0 {
				t.Errorf("a refused step made calls: %+v", calls)
			}
			if len(h.logs.find("Step refused by the safety check; planning again")) != 1 {
				t.Errorf("refusal not logged")
			}
			// Once keeps planning, and reports an error when nothing ever changes.
			if _, err := c.Once(context.Background()); !errors.Is(err, controller.ErrNoProgress) || !errors.Is(err, tc.want) {
				t.Errorf("Once error = %v, want ErrNoProgress wrapping %v", err, tc.want)
			}
			if calls := s.Calls(); len(calls) != 0 {
				t.Errorf("refused steps made calls: %+v", calls)
			}
		})
	}
}

func TestAStepPlannedAgainAfterItSettledIsReported(t *testing.T) {
	// A planner bug, or another tool undoing the change between passes: the controller must
	// not apply the same step forever.
	s := cluster(3, 1)
	id := s.ID("node2")
	planner := func(_ *spec.SwarmTopology, snap reconcile.Snapshot) (*reconcile.Plan, error) {
		st := reconcile.Step{Action: reconcile.ActionLabel, Node: id, Hostname: "node2",
			Labels: &reconcile.LabelChange{Add: map[string]string{"az": "b"}}}
		return &reconcile.Plan{Steps: []reconcile.Step{st}, Time: snap.Time}, nil
	}
	c, _ := newController(t, s, planner, controller.Options{})
	if _, err := c.Once(context.Background()); !errors.Is(err, controller.ErrNoProgress) {
		t.Fatalf("Once error = %v, want ErrNoProgress", err)
	}
	if n := len(s.Calls()); n != 1 {
		t.Errorf("%d updates, want the loop to stop after the first repeat", n)
	}
}

func TestPlannerErrorsAndMissingTopologyAreErrors(t *testing.T) {
	s := cluster(3, 1)
	bug := errors.New("planner bug")
	c, _ := newController(t, s, func(*spec.SwarmTopology, reconcile.Snapshot) (*reconcile.Plan, error) { return nil, bug }, controller.Options{})
	if _, err := c.Reconcile(context.Background()); !errors.Is(err, bug) {
		t.Errorf("error = %v, want the planner's", err)
	}
	c = controller.New(controller.Options{Docker: s, Topology: func() *spec.SwarmTopology { return nil }, Clock: fakeswarm.NewAutoClock(epoch)})
	if _, err := c.Reconcile(context.Background()); !errors.Is(err, controller.ErrNoTopology) {
		t.Errorf("error = %v, want ErrNoTopology", err)
	}
	if len(s.Calls()) != 0 {
		t.Errorf("calls made: %+v", s.Calls())
	}
}
