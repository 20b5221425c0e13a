package fakeswarm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/observe"
)

func three() *Swarm {
	return New(
		NodeConfig{Hostname: "m1", Manager: true, Leader: true},
		NodeConfig{Hostname: "m2", Manager: true},
		NodeConfig{Hostname: "m3", Manager: true},
		NodeConfig{Hostname: "w1"},
	)
}

// update reads the node and sends fn's change with the version read.
func update(s *Swarm, host string, fn func(*swarm.NodeSpec)) error {
	n, ok := s.Node(host)
	if !ok {
		panic(host)
	}
	fn(&n.Spec)
	return s.NodeUpdate(context.Background(), n.ID, n.Version, n.Spec)
}

func role(r swarm.NodeRole) func(*swarm.NodeSpec) { return func(s *swarm.NodeSpec) { s.Role = r } }

func poll(s *Swarm, n int) {
	for i := 0; i < n; i++ {
		_, _ = s.NodeList(context.Background(), swarm.NodeListOptions{})
	}
}

func TestServerSideRules(t *testing.T) {
	tests := []struct {
		name  string
		setup func(s *Swarm)
		call  func(s *Swarm) error
		want  string
	}{
		{"A stale version is refused as out of sequence",
			func(s *Swarm) {},
			func(s *Swarm) error {
				n, _ := s.Node("w1")
				s.Touch(n.ID)
				return s.NodeUpdate(context.Background(), n.ID, n.Version, n.Spec)
			}, "update out of sequence"},
		{"The last manager cannot be demoted",
			func(s *Swarm) {
				_ = update(s, "m3", role(swarm.NodeRoleWorker))
				poll(s, 10)
				_ = update(s, "m2", role(swarm.NodeRoleWorker))
				poll(s, 20)
			},
			func(s *Swarm) error { return update(s, "m1", role(swarm.NodeRoleWorker)) },
			"attempting to demote the last manager of the swarm"},
		{"A demote that would lose quorum is refused",
			func(s *Swarm) { s.Kill(s.ID("m3")) },
			func(s *Swarm) error { return update(s, "m2", role(swarm.NodeRoleWorker)) },
			"this would result in a loss of quorum"},
		{"Undoing a promote that has not joined raft is refused",
			func(s *Swarm) {
				s.PromoteAfter = 1000
				_ = update(s, "w1", role(swarm.NodeRoleManager))
			},
			func(s *Swarm) error { return update(s, "w1", role(swarm.NodeRoleWorker)) },
			"can't find manager in raft memberlist"},
		{"A manager cannot be removed, even with force",
			func(s *Swarm) {},
			func(s *Swarm) error {
				return s.NodeRemove(context.Background(), s.ID("m2"), swarm.NodeRemoveOptions{Force: true})
			}, "must be demoted to worker before removal"},
		{"A ready node cannot be removed without force",
			func(s *Swarm) {},
			func(s *Swarm) error { return s.NodeRemove(context.Background(), s.ID("w1"), swarm.NodeRemoveOptions{}) },
			"is not down and can't be removed"},
		{"Calls to a worker are refused",
			func(s *Swarm) { s.SetSelf(s.ID("w1")) },
			func(s *Swarm) error { _, err := s.NodeList(context.Background(), swarm.NodeListOptions{}); return err },
			"This node is not a swarm manager"},
		{"Node calls fail once quorum is lost",
			func(s *Swarm) { s.Kill(s.ID("m2")); s.Kill(s.ID("m3")) },
			func(s *Swarm) error { return update(s, "w1", role(swarm.NodeRoleManager)) },
			"The swarm does not have a leader"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := three()
			tc.setup(s)
			before := len(s.Calls())
			err := tc.call(s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "Error response from daemon: ") {
				t.Errorf("error %q is not worded like the client's", err)
			}
			if mutating := tc.name != "Calls to a worker are refused"; mutating && len(s.Calls()) != before+1 {
				t.Errorf("refused mutating call not recorded: %+v", s.Calls()[before:])
			}
		})
	}
}

func TestErrorsAreClassifiedLikeTheClients(t *testing.T) {
	s := three()
	_, _, err := s.NodeInspectWithRaw(context.Background(), "nope")
	if !cerrdefs.IsNotFound(err) {
		t.Errorf("unknown node: %v is not NotFound", err)
	}
	n, _ := s.Node("w1")
	s.Touch(n.ID)
	if err := s.NodeUpdate(context.Background(), n.ID, n.Version, n.Spec); !observe.IsOutOfSequence(err) || !cerrdefs.IsInternal(err) {
		t.Errorf("stale update: %v", err)
	}
	s.SetSelf(s.ID("w1"))
	if _, err := s.NodeList(context.Background(), swarm.NodeListOptions{}); !observe.IsNotManager(err) || !cerrdefs.IsUnavailable(err) {
		t.Errorf("worker: %v", err)
	}
}

func TestRoleChangesSettleAsynchronously(t *testing.T) {
	s := three()
	s.PromoteAfter, s.DemoteAfter = 3, 3
	if err := update(s, "w1", role(swarm.NodeRoleManager)); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Node("w1"); n.ManagerStatus != nil || n.Spec.Role != swarm.NodeRoleManager {
		t.Fatalf("promote visible at once: %+v", n)
	}
	poll(s, 3)
	n, _ := s.Node("w1")
	if n.ManagerStatus == nil || n.ManagerStatus.Reachability != swarm.ReachabilityReachable {
		t.Fatalf("promote did not settle after 3 reads: %+v", n.ManagerStatus)
	}
	if err := update(s, "w1", role(swarm.NodeRoleWorker)); err != nil {
		t.Fatal(err)
	}
	poll(s, 3)
	if n, _ := s.Node("w1"); n.ManagerStatus != nil {
		t.Errorf("demote did not settle")
	}
	if got := s.Managers(); len(got) != 3 {
		t.Errorf("managers = %v", got)
	}
}

func TestDemotingTheLeaderHoldsAnElection(t *testing.T) {
	s := three()
	s.SetSelf(s.ID("m2"))
	s.ElectionReads, s.DemoteAfter = 3, 1
	if err := update(s, "m1", role(swarm.NodeRoleWorker)); err != nil {
		t.Fatal(err)
	}
	_, err := s.NodeList(context.Background(), swarm.NodeListOptions{})
	if !observe.IsNoLeader(err) {
		t.Fatalf("during the election NodeList = %v, want no leader", err)
	}
	info, _ := s.Info(context.Background())
	if observe.NoLeaderFromInfo(info) == "" {
		t.Errorf("Info does not say there is no leader during the election")
	}
	poll(s, 5)
	nodes, err := s.NodeList(context.Background(), swarm.NodeListOptions{})
	if err != nil {
		t.Fatalf("after the election: %v", err)
	}
	leaders := 0
	for _, n := range nodes {
		if n.ManagerStatus != nil && n.ManagerStatus.Leader {
			leaders++
		}
		if n.Description.Hostname == "m1" && n.ManagerStatus != nil {
			t.Errorf("m1 still a member")
		}
	}
	if leaders != 1 {
		t.Errorf("%d leaders", leaders)
	}
	if _, lost := s.LowestFaultTolerance(); lost {
		t.Errorf("an election counted as quorum loss")
	}
}

func TestHangThenLoseQuorum(t *testing.T) {
	s := three()
	s.HangThenLoseQuorum()
	info, err := s.Info(context.Background())
	if err != nil || info.Swarm.Error != "" {
		t.Fatalf("Info while hanging = %+v, %v; want no error yet", info.Swarm, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.NodeList(ctx, swarm.NodeListOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung NodeList = %v", err)
	}
	if info, _ := s.Info(context.Background()); observe.NoLeaderFromInfo(info) == "" {
		t.Errorf("after the hang Info does not report the lost quorum")
	}
	if _, err := s.NodeList(context.Background(), swarm.NodeListOptions{}); !observe.IsNoLeader(err) {
		t.Errorf("after the hang NodeList = %v", err)
	}
	if _, lost := s.LowestFaultTolerance(); !lost {
		t.Errorf("quorum loss not recorded")
	}
}

func TestEvents(t *testing.T) {
	s := three()
	ctx, cancel := context.WithCancel(context.Background())
	msgs, errs := s.Events(ctx, events.ListOptions{})
	if err := update(s, "w1", func(sp *swarm.NodeSpec) { sp.Availability = swarm.NodeAvailabilityDrain }); err != nil {
		t.Fatal(err)
	}
	m := <-msgs
	if m.Type != events.NodeEventType || m.Action != events.ActionUpdate || m.Actor.Attributes["availability.new"] != "drain" || m.Actor.Attributes["name"] != "w1" {
		t.Errorf("event = %+v", m)
	}
	s.BreakEvents(nil)
	if err := <-errs; !errors.Is(err, ErrStreamBroken) {
		t.Errorf("broken stream error = %v", err)
	}
	if _, ok := <-errs; ok {
		t.Errorf("errs not closed after the error")
	}
	_, errs2 := s.Events(ctx, events.ListOptions{})
	cancel()
	if err := <-errs2; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled stream error = %v", err)
	}
	if total, open := s.Subscriptions(); total != 2 || open != 0 {
		t.Errorf("subscriptions %d open %d", total, open)
	}
}

func TestClock(t *testing.T) {
	start := time.Unix(0, 0)
	c := NewClock(start)
	ch := c.After(time.Second)
	c.Advance(999 * time.Millisecond)
	select {
	case <-ch:
		t.Fatalf("fired early")
	default:
	}
	c.Advance(time.Millisecond)
	if got := <-ch; !got.Equal(start.Add(time.Second)) {
		t.Errorf("fired at %s", got)
	}
	a := NewAutoClock(start)
	<-a.After(time.Minute)
	if !a.Now().Equal(start.Add(time.Minute)) || a.AfterCalls() != 1 {
		t.Errorf("auto clock at %s after %d calls", a.Now(), a.AfterCalls())
	}
}
