package controller_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

func TestObserve(t *testing.T) {
	tests := []struct {
		name         string
		setup        func(s *fakeswarm.Swarm)
		timeout      time.Duration
		wantErr      error
		clusterError bool
		nodes        int
	}{
		{name: "A healthy swarm is listed with its own node", nodes: 5},
		{name: "A swarm without a leader is a snapshot with ClusterError, not an error",
			setup: func(s *fakeswarm.Swarm) { s.LoseQuorum() }, clusterError: true},
		{name: "Node calls that hang while Info tells why become ClusterError after the call timeout",
			setup: func(s *fakeswarm.Swarm) { s.HangThenLoseQuorum() }, clusterError: true},
		{name: "Node calls that hang with no explanation are a timeout error",
			setup: func(s *fakeswarm.Swarm) { s.Hang(true) }, wantErr: controller.ErrCallTimeout},
		{name: "Info that hangs is a timeout error",
			setup: func(s *fakeswarm.Swarm) { s.HangInfo(true) }, wantErr: controller.ErrCallTimeout},
		{name: "A worker cannot observe the swarm",
			setup: func(s *fakeswarm.Swarm) { s.SetSelf(s.ID("node5")) }, wantErr: controller.ErrNotManager},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := cluster(5, 3)
			if tc.setup != nil {
				tc.setup(s)
			}
			start := time.Now()
			snap, err := controller.ObserveWithTimeout(context.Background(), s, epoch, 50*time.Millisecond)
			if time.Since(start) > 2*time.Second {
				t.Errorf("Observe took %s", time.Since(start))
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			if (snap.ClusterError != "") != tc.clusterError {
				t.Errorf("ClusterError = %q", snap.ClusterError)
			}
			if tc.clusterError && !strings.Contains(snap.ClusterError, "does not have a leader") {
				t.Errorf("ClusterError %q does not carry the daemon's message", snap.ClusterError)
			}
			if len(snap.Nodes) != tc.nodes || snap.Self != s.Self() || !snap.Time.Equal(epoch) {
				t.Errorf("snapshot has %d nodes, self %q, time %s", len(snap.Nodes), snap.Self, snap.Time)
			}
		})
	}
}

func TestObserveOnlyReads(t *testing.T) {
	s := cluster(3, 3)
	if _, err := controller.Observe(context.Background(), s, epoch); err != nil {
		t.Fatal(err)
	}
	if len(s.Calls()) != 0 {
		t.Errorf("Observe made mutating calls: %+v", s.Calls())
	}
}

// stampedPasses runs passes of a controller whose planner only records the snapshot, and
// returns node3 as the last one saw it.
func stampedPasses(t *testing.T, s *fakeswarm.Swarm, clk *fakeswarm.Clock) (pass func(), node3 func() reconcile.Node) {
	var seen []reconcile.Snapshot
	spy := func(_ *spec.SwarmTopology, snap reconcile.Snapshot) (*reconcile.Plan, error) {
		seen = append(seen, snap)
		return &reconcile.Plan{Time: snap.Time}, nil
	}
	c, _ := newController(t, s, spy, controller.Options{Clock: clk})
	id := s.ID("node3")
	pass = func() {
		t.Helper()
		if _, err := c.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	node3 = func() reconcile.Node {
		t.Helper()
		for _, n := range seen[len(seen)-1].Nodes {
			if n.ID == id {
				return n
			}
		}
		t.Fatalf("node3 missing")
		return reconcile.Node{}
	}
	return pass, node3
}

func TestUnreachableSinceIsWhenTheLoopFirstSawIt(t *testing.T) {
	s := cluster(4, 3)
	clk := fakeswarm.NewClock(epoch)
	pass, n3 := stampedPasses(t, s, clk)
	node3 := s.ID("node3")
	since := func() time.Time { return n3().UnreachableSince }
	pass()
	if !since().IsZero() {
		t.Errorf("a reachable manager has UnreachableSince %s", since())
	}
	s.Kill(node3)
	clk.Advance(time.Minute)
	pass()
	first := clk.Now()
	clk.Advance(3 * time.Minute)
	pass()
	if got := since(); !got.Equal(first) {
		t.Errorf("UnreachableSince = %s, want when it was first seen: %s", got, first)
	}
	s.Revive(node3)
	pass()
	if !since().IsZero() {
		t.Errorf("UnreachableSince not cleared once reachable again: %s", since())
	}
	s.Kill(node3)
	clk.Advance(time.Minute)
	pass()
	if got := since(); !got.Equal(clk.Now()) {
		t.Errorf("UnreachableSince after a second failure = %s, want %s", got, clk.Now())
	}
}

func TestStepLogsCarryTheStepsFacts(t *testing.T) {
	s := cluster(4, 3, "a", "b", "c")
	p := toy{managers: []string{"node1", "node2", "node3"}, drain: true}
	c, h := newController(t, s, p.plan, controller.Options{})
	if _, err := c.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := h.logs.find("Step settled")
	if len(lines) != 1 {
		t.Fatalf("Step settled logged %d times", len(lines))
	}
	for _, key := range []string{"action", "node", "hostname", "zone", "reason", "faultToleranceBefore", "faultToleranceAfter", "settleSeconds"} {
		if !strings.Contains(lines[0], `"`+key+`"=`) {
			t.Errorf("Step settled lacks %q: %s", key, lines[0])
		}
	}
	if !strings.Contains(lines[0], `"zone"="a"`) || !strings.Contains(lines[0], `"action"="drain"`) {
		t.Errorf("unexpected step facts: %s", lines[0])
	}
	if n, _ := s.Node("node1"); n.Spec.Availability != swarm.NodeAvailabilityDrain {
		t.Errorf("node1 not drained")
	}
}

func TestLeftUnreachableAtIsWhenAnUnreachableManagerLeftTheMembers(t *testing.T) {
	s := cluster(4, 3)
	clk := fakeswarm.NewClock(epoch)
	pass, n3 := stampedPasses(t, s, clk)
	node3 := s.ID("node3")
	left := func() time.Time { return n3().LeftUnreachableAt }
	s.Kill(node3)
	clk.Advance(time.Minute)
	pass()
	if !left().IsZero() {
		t.Fatalf("an unreachable manager still in the member list has LeftUnreachableAt %s", left())
	}
	// A human demotes it (the operator would have replaced it the same way).
	cur, _ := s.Node(node3)
	sp := cur.Spec
	sp.Role = swarm.NodeRoleWorker
	if err := s.NodeUpdate(context.Background(), node3, cur.Version, sp); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if n, _ := s.Node(node3); n.ManagerStatus == nil {
			break
		}
		_, _ = s.NodeList(context.Background(), swarm.NodeListOptions{})
	}
	if n, _ := s.Node(node3); n.ManagerStatus != nil {
		t.Fatalf("the fake did not complete the demotion of a dead manager")
	}
	clk.Advance(time.Second)
	pass()
	if got := left(); !got.Equal(clk.Now()) {
		t.Fatalf("LeftUnreachableAt = %s, want the pass that saw it leave: %s", got, clk.Now())
	}
	first := clk.Now()
	s.Revive(node3)
	clk.Advance(time.Minute)
	pass()
	if got := left(); !got.Equal(first) {
		t.Errorf("LeftUnreachableAt once it is back as a worker = %s, want %s", got, first)
	}
}
