package controller_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// pendingMembership counts the membership changes that could complete now: nodes whose desired
// role and raft membership disagree.
func pendingMembership(s *fakeswarm.Swarm) []string {
	var out []string
	for _, n := range s.Nodes() {
		if (n.Spec.Role == swarm.NodeRoleManager) != (n.ManagerStatus != nil) {
			out = append(out, n.Description.Hostname)
		}
	}
	slices.Sort(out)
	return out
}

// The lab's partition on Engine 20.10 (docs/swarm-behaviour.md): a promoted worker that joined
// through a manager now away cannot join raft, shows down, and completes its promotion by
// itself once it can reach the managers again. Meanwhile no other membership change may start:
// it could complete together with that one.
func TestAPendingPromotionOfADownNodeHoldsEveryOtherMembershipChange(t *testing.T) {
	tests := []struct {
		name string
		// removeDown sets spec.policy.removeDownNodes.
		removeDown bool
		// end ends the pending promotion of node4 the way a human or the network would.
		end          func(t *testing.T, s *fakeswarm.Swarm)
		wantManagers []string
	}{
		{"The node comes back and its promotion completes", false,
			func(_ *testing.T, s *fakeswarm.Swarm) { s.SetState(s.ID("node4"), swarm.NodeStateReady) },
			[]string{"node1", "node2", "node4"}},
		{"A human removes the down node, which ends its promotion; the operator never does, even with removeDownNodes", true,
			func(t *testing.T, s *fakeswarm.Swarm) {
				if err := s.NodeRemove(context.Background(), s.ID("node4"), swarm.NodeRemoveOptions{Force: true}); err != nil {
					t.Fatalf("docker node rm --force node4: %v", err)
				}
			},
			[]string{"node1", "node2", "node5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := cluster(5, 3, "a", "b", "c", "c", "c")
			s.Kill(s.ID("node3"))
			var (
				mu        sync.Mutex
				most      []string
				cutNode4  sync.Once
				node4Gone = s.ID("node4")
			)
			s.OnMutate = func(c fakeswarm.Call) {
				if c.Err == nil && c.Method == "NodeUpdate" && c.Node == node4Gone && c.Spec.Role == swarm.NodeRoleManager {
					// moby#34835: it cannot join raft, and the dispatcher soon shows it down.
					cutNode4.Do(func() { s.SetState(node4Gone, swarm.NodeStateDown) })
				}
				mu.Lock()
				defer mu.Unlock()
				if p := pendingMembership(s); len(p) > len(most) {
					most = p
				}
			}
			topo := &spec.SwarmTopology{Spec: spec.Spec{Managers: spec.Managers{Count: 3},
				Policy: spec.Policy{RemoveDownNodes: tc.removeDown}}}
			planner := func(_ *spec.SwarmTopology, snap reconcile.Snapshot) (*reconcile.Plan, error) {
				return reconcile.Compute(topo, snap)
			}
			c, h := newController(t, s, planner, controller.Options{})
			ctx := context.Background()

			// The promote of node4 is sent and does not settle.
			if _, err := c.Once(ctx); err != nil && !errors.Is(err, controller.ErrStepTimeout) {
				t.Fatalf("first Once: %v", err)
			}
			if p := pendingMembership(s); !slices.Equal(p, []string{"node4"}) {
				t.Fatalf("pending membership changes = %v, want node4's promotion", p)
			}
			// The operator goes on while node4 is down: it must hold every other membership change.
			calls := len(s.Calls())
			for i := range 3 {
				if _, err := c.Once(ctx); err != nil {
					t.Fatalf("Once %d while node4 is down: %v", i+2, err)
				}
			}
			for _, call := range s.Calls()[calls:] {
				t.Errorf("a call was made while node4's promotion is pending: %s %s %+v", call.Method, hostname(s, call.Node), call.Spec)
			}
			res, err := c.Reconcile(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checkPendingReported(t, res.Plan, s.ID("node4"))

			tc.end(t, s)
			plan, err := c.Once(ctx)
			if err != nil {
				t.Fatalf("Once after the promotion ended: %v", err)
			}
			managers, _, _ := world(s)
			if !plan.Converged() || !slices.Equal(managers, tc.wantManagers) {
				t.Errorf("managers = %v, converged %v; want %v", managers, plan.Converged(), tc.wantManagers)
			}
			if len(most) > 1 {
				t.Errorf("membership changes pending at once: %v; at most one may be (steps: %v)", most, h.results())
			}
			if _, ok := s.Node(s.ID("node4")); !ok && tc.removeDown {
				for _, call := range s.Calls() {
					if call.Method == "NodeRemove" && call.Node == s.ID("node4") && !call.Force {
						t.Errorf("the operator removed node4 itself; only a human may end a pending promotion")
					}
				}
			}
		})
	}
}

// checkPendingReported checks that the plan says what is pending, since when, why, and what a
// human can do.
func checkPendingReported(t *testing.T, p *reconcile.Plan, node string) {
	t.Helper()
	if p == nil {
		t.Fatal("no plan")
	}
	if p.Converged() {
		t.Errorf("a plan with a pending promotion says converged")
	}
	var f *reconcile.InFlight
	for i := range p.InFlight {
		if p.InFlight[i].Node == node {
			f = &p.InFlight[i]
		}
	}
	if f == nil {
		t.Fatalf("the plan does not list node4's promotion in flight: %+v", p.InFlight)
	}
	if f.To != reconcile.RoleManager || f.Since.IsZero() {
		t.Errorf("in flight = %+v, want a promotion with the time it was first seen pending", *f)
	}
	for _, want := range []string{"down", "raft", "docker node rm --force", "rejoin"} {
		if !strings.Contains(f.Reason+" "+f.Advice, want) {
			t.Errorf("the in-flight entry does not say %q: reason %q, advice %q", want, f.Reason, f.Advice)
		}
	}
	for _, st := range p.Steps {
		if st.Action.ChangesMembership() {
			t.Errorf("the plan has a membership change while a promotion is pending: %+v", st)
		}
	}
}

func hostname(s *fakeswarm.Swarm, id string) string {
	if n, ok := s.Node(id); ok {
		return n.Description.Hostname
	}
	return id
}
