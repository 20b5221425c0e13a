package controller_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

func TestAPromoteOfADownNodeIsNeitherWaitedForNorTakenBackAndHoldsTheSeat(t *testing.T) {
	s := fakeswarm.New(
		fakeswarm.NodeConfig{Hostname: "node1", Manager: true, Leader: true},
		fakeswarm.NodeConfig{Hostname: "node2", Manager: true},
		fakeswarm.NodeConfig{Hostname: "node3"},
		fakeswarm.NodeConfig{Hostname: "node4", State: swarm.NodeStateDown, NeverJoins: true},
	)
	// Someone asked for node4 to become a manager, and then its machine went down.
	ctx := context.Background()
	n4, _, err := s.NodeInspectWithRaw(ctx, s.ID("node4"))
	if err != nil {
		t.Fatal(err)
	}
	n4.Spec.Role = swarm.NodeRoleManager
	if err := s.NodeUpdate(ctx, n4.ID, n4.Version, n4.Spec); err != nil {
		t.Fatal(err)
	}
	topo := &spec.SwarmTopology{Spec: spec.Spec{Managers: spec.Managers{Count: 3}}}
	planner := func(_ *spec.SwarmTopology, snap reconcile.Snapshot) (*reconcile.Plan, error) {
		return reconcile.Compute(topo, snap)
	}
	c, _ := newController(t, s, planner, controller.Options{})
	setup := len(s.Calls())
	plan, err := c.Once(ctx)
	if err != nil {
		if errors.Is(err, controller.ErrStepTimeout) {
			t.Fatalf("the loop waited for a promote that cannot progress: %v", err)
		}
		t.Fatalf("Once: %v", err)
	}
	// node4's promotion completes by itself if node4 returns: promoting node3 meanwhile could
	// complete together with it.
	managers, _, _ := world(s)
	if want := []string{"node1", "node2"}; !slices.Equal(managers, want) {
		t.Errorf("managers = %v, want %v: nothing may be promoted while node4's promotion is pending", managers, want)
	}
	// Swarm refuses to demote a node that never joined raft: no call may try, nor any other.
	for _, call := range s.Calls()[setup:] {
		t.Errorf("a call was made while node4's promotion is pending: %s %s", call.Method, hostname(s, call.Node))
	}
	checkPendingReported(t, plan, s.ID("node4"))
}

func TestTheLoopLooksAgainWhenAGracePeriodEnds(t *testing.T) {
	s := fakeswarm.New(
		fakeswarm.NodeConfig{Hostname: "node1", Manager: true, Leader: true},
		fakeswarm.NodeConfig{Hostname: "node2", Manager: true, Reachability: swarm.ReachabilityUnreachable},
		fakeswarm.NodeConfig{Hostname: "node3", Manager: true},
		fakeswarm.NodeConfig{Hostname: "node4"},
	)
	topo := &spec.SwarmTopology{Spec: spec.Spec{Managers: spec.Managers{Count: 3},
		Policy: spec.Policy{ReplaceUnreachableAfter: spec.Duration{Duration: 10 * time.Second}}}}
	planner := func(_ *spec.SwarmTopology, snap reconcile.Snapshot) (*reconcile.Plan, error) {
		return reconcile.Compute(topo, snap)
	}
	c := controller.New(controller.Options{Topology: func() *spec.SwarmTopology { return topo }, Docker: s,
		Planner: planner, Resync: time.Minute, Clock: fakeswarm.NewAutoClock(epoch)})
	res, err := c.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plan.Steps) != 0 {
		t.Fatalf("steps inside the grace period: %v", res.Plan.Steps)
	}
	if res.RequeueAfter <= 9*time.Second || res.RequeueAfter > 11*time.Second {
		t.Errorf("RequeueAfter = %s, want the end of the 10s grace period, not the 1m resync", res.RequeueAfter)
	}
}

func TestAPromoteThatTimedOutStaysInFlightOnceItsNodeIsDown(t *testing.T) {
	s := fakeswarm.New(
		fakeswarm.NodeConfig{Hostname: "node1", Manager: true, Leader: true},
		fakeswarm.NodeConfig{Hostname: "node2", Manager: true},
		fakeswarm.NodeConfig{Hostname: "node3", NeverJoins: true},
		fakeswarm.NodeConfig{Hostname: "node4"},
	)
	topo := &spec.SwarmTopology{Spec: spec.Spec{Managers: spec.Managers{Count: 3}}}
	planner := func(t *spec.SwarmTopology, snap reconcile.Snapshot) (*reconcile.Plan, error) {
		return reconcile.Compute(t, snap)
	}
	c := controller.New(controller.Options{Topology: func() *spec.SwarmTopology { return topo }, Docker: s,
		Planner: planner, Clock: fakeswarm.NewAutoClock(epoch)})
	ctx := context.Background()
	// node3's promote never joins (the Engine 20.10 case of a worker that joined through a
	// manager that is now dead): the step times out.
	if _, err := c.Reconcile(ctx); !errors.Is(err, controller.ErrStepTimeout) {
		t.Fatalf("first pass: %v, want a step timeout", err)
	}
	// Then node3 shows down. Its promotion still completes the moment it returns, so it is not
	// dropped: the seat does not go to node4 meanwhile, and no pass waits the step timeout.
	s.SetState(s.ID("node3"), swarm.NodeStateDown)
	calls := len(s.Calls())
	plan, err := c.Once(ctx)
	if err != nil {
		t.Fatalf("once node3 is down: %v, want a pass that holds and says so", err)
	}
	for _, call := range s.Calls()[calls:] {
		t.Errorf("a call was made while node3's promotion is pending: %s %s", call.Method, hostname(s, call.Node))
	}
	checkPendingReported(t, plan, s.ID("node3"))
}

func TestNoRoleChangeWhileNodesAreUnknownAfterALeaderChange(t *testing.T) {
	s := fakeswarm.New(
		fakeswarm.NodeConfig{Hostname: "node1", Manager: true, Leader: true, Labels: map[string]string{"az": "a"}},
		fakeswarm.NodeConfig{Hostname: "node2", Manager: true, Labels: map[string]string{"az": "b"}},
		fakeswarm.NodeConfig{Hostname: "node3", State: swarm.NodeStateUnknown, Labels: map[string]string{"az": "c"}},
		fakeswarm.NodeConfig{Hostname: "node4", Labels: map[string]string{"az": "a"}},
	)
	topo := &spec.SwarmTopology{Spec: spec.Spec{Managers: spec.Managers{Count: 3}}}
	planner := func(t *spec.SwarmTopology, snap reconcile.Snapshot) (*reconcile.Plan, error) {
		return reconcile.Compute(t, snap)
	}
	c := controller.New(controller.Options{Topology: func() *spec.SwarmTopology { return topo }, Docker: s,
		Planner: planner, Clock: fakeswarm.NewAutoClock(epoch)})
	ctx := context.Background()
	res, err := c.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Calls()); n != 0 || res.RequeueAfter == 0 {
		t.Fatalf("with node3 unknown: %d calls, requeue after %s; want none and a short requeue", n, res.RequeueAfter)
	}
	// node3 reports again: it is the node zone c needs.
	s.SetState(s.ID("node3"), swarm.NodeStateReady)
	if _, err := c.Once(ctx); err != nil {
		t.Fatal(err)
	}
	managers, _, _ := world(s)
	if want := []string{"node1", "node2", "node3"}; !slices.Equal(managers, want) {
		t.Errorf("managers = %v, want %v: the seat went elsewhere while node3 was unknown", managers, want)
	}
}
