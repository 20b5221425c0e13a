package controller

import (
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// holdController is a controller with only what stamp and demotionHold use.
func holdController() *Controller {
	c := &Controller{o: Options{}.Defaulted()}
	c.forget()
	return c
}

func TestTheNextMembershipChangeWaitsForTheDemotionHold(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	hold := DefaultDemotionHold
	leader := reconcile.Node{ID: "l", Hostname: "leader", DesiredRole: reconcile.RoleManager, Member: true, Leader: true,
		Reachability: reconcile.ReachabilityReachable, State: reconcile.StateReady}
	node := func(member bool, reach reconcile.Reachability, state reconcile.NodeState, updated time.Time) reconcile.Node {
		n := reconcile.Node{ID: "d", Hostname: "demoted", DesiredRole: reconcile.RoleWorker, Member: member, State: state, UpdatedAt: updated}
		if member {
			n.Reachability = reach
		}
		return n
	}
	worker := func(state reconcile.NodeState, updated time.Time) reconcile.Node {
		return node(false, "", state, updated)
	}
	type look struct {
		at       time.Duration // after t0
		d        reconcile.Node
		noLeader bool
	}
	tests := []struct {
		name  string
		looks []look
		want  time.Duration // the wait after the last look
	}{
		{"A node seen leaving raft while reachable holds the next change for the hold", []look{
			{0, node(true, reconcile.ReachabilityReachable, reconcile.StateReady, t0), false},
			{time.Second, worker(reconcile.StateReady, t0), false},
			{6 * time.Second, worker(reconcile.StateReady, t0), false},
		}, hold - 5*time.Second},
		{"The hold ends", []look{
			{0, node(true, reconcile.ReachabilityReachable, reconcile.StateReady, t0), false},
			{time.Second, worker(reconcile.StateReady, t0), false},
			{time.Second + hold, worker(reconcile.StateReady, t0), false},
		}, 0},
		{"A manager that left while unreachable and is still down holds nothing", []look{
			{0, node(true, reconcile.ReachabilityUnreachable, reconcile.StateDown, t0), false},
			{time.Second, worker(reconcile.StateDown, t0), false},
		}, 0},
		{"A dead manager that left while unreachable holds its replacement only until it shows down", []look{
			{0, node(true, reconcile.ReachabilityUnreachable, reconcile.StateUnknown, t0), false},
			{time.Second, worker(reconcile.StateUnknown, t0), false},
			{3 * time.Second, worker(reconcile.StateDown, t0), false},
		}, 0},
		{"One that left while unreachable and shows ready after the election holds for the hold", []look{
			{0, node(true, reconcile.ReachabilityUnreachable, reconcile.StateUnknown, t0), false},
			{time.Second, worker(reconcile.StateUnknown, t0), false},
			{3 * time.Second, worker(reconcile.StateReady, t0), false},
		}, hold - 2*time.Second},
		{"A manager that left while unreachable but is up again may lack its certificate", []look{
			{0, node(true, reconcile.ReachabilityUnreachable, reconcile.StateDown, t0), false},
			{time.Second, worker(reconcile.StateReady, t0), false},
		}, hold},
		{"A node first seen out of raft, updated 5 s before, holds for the hold: a leader may have been missing", []look{
			{10 * time.Second, worker(reconcile.StateReady, t0.Add(5*time.Second)), false},
		}, hold},
		{"A node first seen updated long ago holds nothing", []look{
			{10 * time.Minute, worker(reconcile.StateReady, t0), false},
		}, 0},
		{"A leader clock a little ahead holds at most the hold", []look{
			{0, worker(reconcile.StateReady, t0.Add(2*time.Second)), false},
		}, hold},
		{"A leader clock far ahead cannot tell, and holds nothing", []look{
			{0, worker(reconcile.StateReady, t0.Add(365*24*time.Hour)), false},
		}, 0},
		{"A node that goes down inside its hold holds until it is back, and then for the hold", []look{
			{0, node(true, reconcile.ReachabilityReachable, reconcile.StateReady, t0), false},
			{time.Second, worker(reconcile.StateReady, t0), false},
			{5 * time.Second, worker(reconcile.StateDown, t0), false},
			{5 * time.Minute, worker(reconcile.StateDown, t0), false},
			{5*time.Minute + time.Second, worker(reconcile.StateReady, t0), false},
		}, hold - time.Second},
		{"Without a leader the hold starts again when one is seen", []look{
			{0, node(true, reconcile.ReachabilityReachable, reconcile.StateReady, t0), false},
			{time.Second, worker(reconcile.StateReady, t0), false},
			{5 * time.Second, worker(reconcile.StateReady, t0), true},
			{time.Minute, worker(reconcile.StateReady, t0), false},
			{time.Minute + 4*time.Second, worker(reconcile.StateReady, t0), false},
		}, hold - 4*time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := holdController()
			var s reconcile.Snapshot
			for _, l := range tc.looks {
				ld := leader
				ld.Leader = !l.noLeader
				s = reconcile.Snapshot{Time: t0.Add(l.at), Nodes: []reconcile.Node{ld, l.d}}
				c.stamp(&s)
			}
			got, who := c.demotionHold(s, "other")
			if got != tc.want {
				t.Errorf("wait %s (for %q), want %s", got, who, tc.want)
			}
			if got > 0 && who != "demoted" {
				t.Errorf("waits for %q, want the demoted node", who)
			}
			if own, _ := c.demotionHold(s, "d"); own != 0 {
				t.Errorf("a change of the demoted node itself waits %s", own)
			}
		})
	}
}
