package fakeswarm

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// timed is a swarm in virtual-time mode on a clock the test moves.
func timed(nodes ...NodeConfig) (*Swarm, func(time.Duration)) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := New(nodes...)
	s.SetNow(func() time.Time { return now })
	// Moved in small steps, as the simulator wakes at every change due: a change scheduled by
	// another is timed from when that one happened.
	return s, func(d time.Duration) {
		for end := now.Add(d); now.Before(end); {
			now = now.Add(min(100*time.Millisecond, end.Sub(now)))
			s.Advance()
		}
	}
}

func TestTimedRoleChangesTakeTheirTime(t *testing.T) {
	s, wait := timed(NodeConfig{Hostname: "m1", Manager: true, Leader: true}, NodeConfig{Hostname: "m2", Manager: true},
		NodeConfig{Hostname: "m3", Manager: true}, NodeConfig{Hostname: "w1"})
	if err := s.Human(s.ID("w1"), func(sp *swarm.NodeSpec) { sp.Role = swarm.NodeRoleManager }); err != nil {
		t.Fatal(err)
	}
	wait(DefaultTiming.Promote - time.Millisecond)
	if p := s.PendingChanges(); len(p) != 1 || !p[0].Promote || !p[0].Able {
		t.Fatalf("pending before the promote delay = %+v", p)
	}
	wait(time.Millisecond)
	if p := s.PendingChanges(); len(p) != 0 || len(s.Managers()) != 4 {
		t.Fatalf("after the delay: pending %+v, managers %v", p, s.Managers())
	}
	// With two of four managers listed reachable, the daemon refuses a demote outright.
	s.Stop(s.ID("m2"))
	s.Stop(s.ID("w1"))
	wait(DefaultTiming.Detect)
	if err := s.Human(s.ID("m3"), func(sp *swarm.NodeSpec) { sp.Role = swarm.NodeRoleWorker }); err == nil {
		t.Fatalf("a demote that loses quorum was accepted")
	}
}

func TestTimedPromoteWaitsForTheManagerItJoinedThrough(t *testing.T) {
	m1 := StableID("m1")
	s, wait := timed(NodeConfig{Hostname: "m1", Manager: true, Leader: true}, NodeConfig{Hostname: "m2", Manager: true},
		NodeConfig{Hostname: "m3", Manager: true}, NodeConfig{Hostname: "w1", JoinedVia: m1}, NodeConfig{Hostname: "w2", JoinedVia: m1})
	s.Partition(m1)
	wait(DefaultTiming.Detect + DefaultTiming.Election)
	for _, h := range []string{"w1", "w2"} {
		if err := s.Human(s.ID(h), func(sp *swarm.NodeSpec) { sp.Role = swarm.NodeRoleManager }); err != nil {
			t.Fatal(err)
		}
	}
	wait(time.Minute)
	if n, _ := s.Node("w1"); n.Status.State != swarm.NodeStateDown || n.ManagerStatus != nil {
		t.Fatalf("w1 during the partition: %s, %+v", n.Status.State, n.ManagerStatus)
	}
	p := s.PendingChanges()
	if len(p) != 2 || !p[0].Blocked || !p[0].Able {
		t.Fatalf("pending during the partition: %+v", p)
	}
	if err := s.Human(s.ID("w1"), func(sp *swarm.NodeSpec) { sp.Role = swarm.NodeRoleWorker }); err == nil {
		t.Fatalf("taking back a promote that has not joined raft was accepted")
	}
	s.Heal(m1)
	// Both complete at the heal, together, during the heal's own election.
	if got := len(s.Managers()); got != 5 {
		t.Fatalf("managers right after the heal = %v", s.Managers())
	}
	if s.Leader() != "" {
		t.Errorf("the old leader's return did not hold an election")
	}
}

// Found by the simulator (seed 5282): the election held when a partitioned old leader returned
// chose a manager whose demotion was pending; that manager then left raft as the leader and
// the swarm never had a leader again.
func TestTimedLeaderNeverLeavesRaftAsLeader(t *testing.T) {
	s, wait := timed(NodeConfig{Hostname: "m1", Manager: true}, NodeConfig{Hostname: "m2", Manager: true, Leader: true},
		NodeConfig{Hostname: "m3", Manager: true}, NodeConfig{Hostname: "w1"})
	s.Partition(s.ID("m2"))
	wait(DefaultTiming.Detect)
	if l := s.Leader(); l != "" {
		t.Fatalf("no election after the leader was cut off")
	}
	wait(DefaultTiming.Election)
	if err := s.Human(s.ID(s.hostnameOf(s.Leader())), func(sp *swarm.NodeSpec) { sp.Role = swarm.NodeRoleWorker }); err != nil {
		t.Fatal(err)
	}
	s.Heal(s.ID("m2"))
	wait(time.Minute)
	if s.Leader() == "" {
		t.Fatalf("no leader a minute after the heal; managers %v", s.Managers())
	}
	if got := len(s.Managers()); got != 2 {
		t.Errorf("managers = %v, want the demoted one gone", s.Managers())
	}
}

func (s *Swarm) hostnameOf(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hostnameLocked(id)
}

// Found by the simulator (seed 3723, on the code before the fix of two pending promotions): a
// promote that waited for the manager its node joined through stayed pending forever once that
// manager was removed from the swarm; the node then uses the managers left.
func TestTimedPromoteGoesAheadOnceItsJoinManagerIsRemoved(t *testing.T) {
	m1 := StableID("m1")
	s, wait := timed(NodeConfig{Hostname: "m1", Manager: true}, NodeConfig{Hostname: "m2", Manager: true, Leader: true},
		NodeConfig{Hostname: "m3", Manager: true}, NodeConfig{Hostname: "w1", JoinedVia: m1})
	s.Stop(m1)
	wait(DefaultTiming.Down)
	if err := s.Human(s.ID("w1"), func(sp *swarm.NodeSpec) { sp.Role = swarm.NodeRoleManager }); err != nil {
		t.Fatal(err)
	}
	if err := s.Human(m1, func(sp *swarm.NodeSpec) { sp.Role = swarm.NodeRoleWorker }); err != nil {
		t.Fatal(err)
	}
	wait(time.Minute)
	if p := s.PendingChanges(); len(p) != 1 || p[0].Hostname != "w1" || !p[0].Blocked {
		t.Fatalf("before the removal: pending %+v", p)
	}
	if err := s.NodeRemove(context.Background(), m1, swarm.NodeRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	wait(time.Second)
	if p := s.PendingChanges(); len(p) != 0 {
		t.Fatalf("the promote still waits for a manager that was removed: %+v", p)
	}
}

func TestTimedDemotedNodeRejoinsRaftWithoutItsWorkerCertificate(t *testing.T) {
	managers := func(n int) []NodeConfig {
		var out []NodeConfig
		for i := 1; i <= n; i++ {
			out = append(out, NodeConfig{Hostname: fmt.Sprintf("m%d", i), Manager: true, Leader: i == 1})
		}
		return out
	}
	demote := func(t *testing.T, s *Swarm, h string) {
		t.Helper()
		if err := s.Human(s.ID(h), func(sp *swarm.NodeSpec) { sp.Role = swarm.NodeRoleWorker }); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("with a leader, it takes its worker certificate and stays out", func(t *testing.T) {
		s, wait := timed(managers(3)...)
		demote(t, s, "m3")
		wait(DefaultTiming.Demote + time.Millisecond)
		if p := s.PendingChanges(); len(p) != 1 || !p[0].Rejoin || !p[0].Able || len(s.Managers()) != 2 {
			t.Fatalf("right after it left raft: pending %+v, managers %v", p, s.Managers())
		}
		wait(DefaultTiming.WorkerCert)
		if p := s.PendingChanges(); len(p) != 0 {
			t.Fatalf("with its worker certificate: pending %+v", p)
		}
		wait(DefaultTiming.Rejoin)
		if len(s.Managers()) != 2 {
			t.Fatalf("it joined raft again: managers %v", s.Managers())
		}
	})
	t.Run("without a leader for 32 s, it joins raft again and leaves a member behind", func(t *testing.T) {
		// As on the lab: three managers, one demoted, the leader stopped for 45 s.
		s, wait := timed(managers(3)...)
		demote(t, s, "m3")
		wait(DefaultTiming.Demote + time.Millisecond)
		s.Stop(s.ID("m1"))
		wait(45 * time.Second)
		s.Start(s.ID("m1"))
		wait(time.Second + DefaultTiming.Election)
		if n, _ := s.Node("m3"); n.ManagerStatus == nil || n.Spec.Role != swarm.NodeRoleWorker {
			t.Fatalf("m3 after the leader's return: role %s, %+v", n.Spec.Role, n.ManagerStatus)
		}
		wait(DefaultTiming.Retry + DefaultTiming.WorkerCert)
		n, _ := s.Node("m3")
		if n.ManagerStatus == nil || n.ManagerStatus.Reachability != swarm.ReachabilityUnreachable || n.Status.State != swarm.NodeStateReady {
			t.Fatalf("m3 once it has its worker certificate: %s, %+v", n.Status.State, n.ManagerStatus)
		}
		p := s.PendingChanges()
		if len(p) != 1 || !p[0].Ghost || p[0].Able {
			t.Fatalf("pending: %+v, want m3 left behind, unable to complete", p)
		}
		wait(time.Minute)
		if n, _ := s.Node("m3"); n.ManagerStatus == nil {
			t.Fatalf("swarm removed the member left behind; nothing in swarm does")
		}
	})
}
