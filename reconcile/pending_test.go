package reconcile

import (
	"strings"
	"testing"
	"time"
)

func TestAMemberLeftBehindByADemotionIsReportedStuck(t *testing.T) {
	// node4 was asked to be a worker and is still an unreachable raft member while its node
	// reports ready: a demotion still under way, or, once it lasts, a member swarm took back
	// after the demotion and will never remove.
	behind := func(state NodeState, inFlightFor time.Duration, reach Reachability) Node {
		n := node("node4", "a")
		n.Member, n.Reachability, n.State = true, reach, state
		if inFlightFor > 0 {
			n.InFlightSince = t0.Add(-inFlightFor)
		}
		return n
	}
	tests := []struct {
		name  string
		node4 Node
		stuck bool
	}{
		{"for longer than swarm takes to remove it", behind(StateReady, MemberLeftBehindAfter, ReachabilityUnreachable), true},
		{"not yet: swarm may still remove it", behind(StateReady, MemberLeftBehindAfter-time.Second, ReachabilityUnreachable), false},
		{"since a time this process does not know", behind(StateReady, 0, ReachabilityUnreachable), false},
		{"its node down: a demotion of a manager that is away", behind(StateDown, time.Hour, ReachabilityUnreachable), false},
		{"reachable: a demotion swarm has not applied yet", behind(StateReady, time.Hour, ReachabilityReachable), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := snap(node("node1", "a", "M", "L"), node("node2", "b", "M"), node("node3", "c", "M"), tc.node4)
			p := mustPlan(t, topo(3), s)
			if len(p.InFlight) != 1 || p.InFlight[0].Node != "id-node4" {
				t.Fatalf("in flight: %+v", p.InFlight)
			}
			f := p.InFlight[0]
			if f.Stuck != tc.stuck {
				t.Fatalf("stuck = %v, want %v (%+v)", f.Stuck, tc.stuck, f)
			}
			if tc.stuck && (!strings.Contains(f.Advice, "docker node rm --force id-node4") || !strings.Contains(f.Reason, "never removes")) {
				t.Errorf("reason %q, advice %q: want the member named and its removal", f.Reason, f.Advice)
			}
			if tc.stuck && !strings.Contains(strings.Join(p.Warnings, "\n"), "docker node rm --force id-node4") {
				t.Errorf("the plan's warnings do not say what to do: %q", p.Warnings)
			}
		})
	}
}
