//go:build e2e

// Real-lab tests of the fault primitives and of labs side by side. They use instances 1..3, so
// they run beside a lab of instance 0.
//
//	go test -tags e2e -run 'TestFaults|TestInstances' -v -timeout 10m ./lab/
package lab

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

func TestFaults(t *testing.T) {
	ctx := context.Background()
	// A stop timeout well above a graceful stop, so that Down waiting it out on the paused node shows.
	l := ForTest(t, Config{Instance: 3, Nodes: 3, Managers: 3, StopTimeout: 20 * time.Second})
	if got := l.Node(1).Addr; got != "10.213.10.11" {
		t.Fatalf("instance 3 node1 address %s, want 10.213.10.11", got)
	}
	leader, err := l.Leader(ctx)
	if err != nil {
		t.Fatalf("Leader: %v", err)
	}
	victim := 2
	if leader.Index == 2 {
		victim = 3
	}

	t.Run("a paused manager becomes unreachable and comes back when resumed", func(t *testing.T) {
		t0 := time.Now()
		if err := l.Pause(ctx, victim); err != nil {
			t.Fatalf("Pause: %v", err)
		}
		if !l.Paused(victim) || !l.Node(victim).Running() {
			t.Fatalf("node%d: paused %t running %t after Pause, want both", victim, l.Paused(victim), l.Node(victim).Running())
		}
		for _, p := range tree(l.Node(victim).PID()) {
			if p.state != 'T' {
				t.Errorf("node%d process %d %q not stopped (state %c)", victim, p.pid, p.argv, p.state)
			}
		}
		waitReachability(t, leader, l.Node(victim).ID, swarm.ReachabilityUnreachable)
		t.Logf("TIMING pause -> unreachable: %s", time.Since(t0).Round(time.Millisecond))
		t0 = time.Now()
		if err := l.Resume(ctx, victim); err != nil {
			t.Fatalf("Resume: %v", err)
		}
		if l.Paused(victim) {
			t.Fatalf("node%d still paused after Resume", victim)
		}
		waitReachability(t, leader, l.Node(victim).ID, swarm.ReachabilityReachable)
		t.Logf("TIMING resume -> reachable: %s", time.Since(t0).Round(time.Millisecond))
	})

	t.Run("a restarted manager is active and reachable again", func(t *testing.T) {
		old := l.Node(victim).PID()
		t0 := time.Now()
		if err := l.Restart(ctx, victim); err != nil {
			t.Fatalf("Restart: %v", err)
		}
		if pid := l.Node(victim).PID(); pid == old || !l.Node(victim).Running() || alive(old) {
			t.Fatalf("node%d: pid %d (was %d, old alive %t), running %t", victim, pid, old, alive(old), l.Node(victim).Running())
		}
		waitReachability(t, leader, l.Node(victim).ID, swarm.ReachabilityReachable)
		t.Logf("TIMING restart -> reachable: %s", time.Since(t0).Round(time.Millisecond))
	})

	t.Run("split {1,2} {3}: node3 loses the leader, the others keep quorum; healed, all reachable", func(t *testing.T) {
		t0 := time.Now()
		if err := l.Split(ctx, []int{1, 2}, []int{3}); err != nil {
			t.Fatalf("Split: %v", err)
		}
		waitFor(t, "node3 to see no leader", func() (bool, string) {
			id, err := leaderSeenBy(ctx, l.Node(3))
			if err != nil {
				return true, ""
			}
			return false, "node3 sees leader " + id
		})
		waitFor(t, "node1 to see a leader in {1,2} and node3 unreachable", func() (bool, string) {
			nodes, err := listNodesErr(l.Node(1))
			if err != nil {
				return false, err.Error()
			}
			ok := true
			for _, sn := range nodes {
				ms := sn.ManagerStatus
				switch {
				case ms == nil:
					ok = false
				case sn.ID == l.Node(3).ID:
					ok = ok && ms.Reachability == swarm.ReachabilityUnreachable && !ms.Leader
				default:
					ok = ok && ms.Reachability == swarm.ReachabilityReachable
				}
			}
			return ok, "not yet"
		})
		t.Logf("TIMING split -> node3 cut off: %s", time.Since(t0).Round(time.Millisecond))
		t0 = time.Now()
		if err := l.HealSplit(ctx); err != nil {
			t.Fatalf("HealSplit: %v", err)
		}
		leader, err := l.Leader(ctx)
		if err != nil {
			t.Fatalf("Leader after heal: %v", err)
		}
		for _, n := range l.Nodes() {
			waitReachability(t, leader, n.ID, swarm.ReachabilityReachable)
		}
		t.Logf("TIMING heal split -> all reachable: %s", time.Since(t0).Round(time.Millisecond))
	})

	t.Run("Stop and Down do not wait out the stop timeout on a paused node", func(t *testing.T) {
		if err := l.Pause(ctx, victim); err != nil {
			t.Fatalf("Pause: %v", err)
		}
		t0 := time.Now()
		if err := l.Stop(ctx, victim); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		took := time.Since(t0)
		t.Logf("TIMING stop of a paused node: %s", took.Round(time.Millisecond))
		if took >= l.Config().StopTimeout || l.Node(victim).Running() {
			t.Errorf("Stop took %s (stop timeout %s), running %t", took, l.Config().StopTimeout, l.Node(victim).Running())
		}
		// Down's own stop of a paused node: a stopped process that never saw its SIGTERM
		// would leave processes behind or fail Down.
		other := 6 - victim - leader.Index
		if err := l.Pause(ctx, other); err != nil {
			t.Fatalf("Pause node%d: %v", other, err)
		}
		if err := l.Down(ctx); err != nil {
			t.Fatalf("Down: %v", err)
		}
		assertNothingLeft(t, l)
	})
}

func TestInstances(t *testing.T) {
	ctx := context.Background()
	l1 := ForTest(t, Config{Instance: 1, Nodes: 2})
	l2 := ForTest(t, Config{Instance: 2, Nodes: 2})
	if l1.Dir() == l2.Dir() || l1.Node(1).Addr == l2.Node(1).Addr {
		t.Fatalf("instances share dir %s or address %s", l1.Dir(), l1.Node(1).Addr)
	}
	for _, l := range []*Lab{l1, l2} {
		if nodes := listNodes(t, client1(t, l)); len(nodes) != 2 {
			t.Fatalf("instance %d lists %d nodes, want 2", l.Config().Instance, len(nodes))
		}
	}
	if err := l1.Down(ctx); err != nil {
		t.Fatalf("Down instance 1: %v", err)
	}
	assertNothingLeft(t, l1)
	k2 := instance(2)
	if ns := labNetns(k2); !slices.Equal(ns, []string{"st2lab1", "st2lab2"}) {
		t.Errorf("instance 2's namespaces after Down of 1: %v", ns)
	}
	if ok, err := forwardRulePresent(ctx, k2); err != nil || !ok {
		t.Errorf("instance 2's forward rule after Down of 1: %t %v", ok, err)
	}
	for _, n := range l2.Nodes() {
		if !n.Running() {
			t.Errorf("instance 2 %s stopped by Down of instance 1", n.Hostname)
		}
	}
	// Its swarm still works across its own bridge.
	if nodes := listNodes(t, client1(t, l2)); len(nodes) != 2 || nodes[0].Status.State != swarm.NodeStateReady || nodes[1].Status.State != swarm.NodeStateReady {
		t.Errorf("instance 2 after Down of 1: %+v", nodes)
	}
	// And a fresh Up of instance 1 (its Cleanup first) leaves instance 2 alone too. Up, not
	// ForTest: this test still holds instance 1's lock.
	l1, err := Up(ctx, Config{Instance: 1, Nodes: 1, Log: l2.log})
	if err != nil {
		t.Fatalf("Up instance 1 again: %v", err)
	}
	t.Cleanup(func() {
		if err := l1.Down(context.Background()); err != nil {
			t.Errorf("Down instance 1: %v", err)
		}
	})
	for _, n := range l2.Nodes() {
		if !n.Running() {
			t.Errorf("instance 2 %s stopped by Up of instance 1", n.Hostname)
		}
	}
	if nodes := listNodes(t, client1(t, l2)); len(nodes) != 2 {
		t.Errorf("instance 2 lists %d nodes after Up of instance 1", len(nodes))
	}
	if nodes := listNodes(t, client1(t, l1)); len(nodes) != 1 {
		t.Errorf("new instance 1 lists %d nodes, want 1", len(nodes))
	}
}

func listNodesErr(n *Node) ([]swarm.Node, error) {
	c, err := n.Client()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.NodeList(ctx, swarm.NodeListOptions{})
}

// waitFor polls cond for up to 60 s.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: timed out (last: %s)", what, last)
}
