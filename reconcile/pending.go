package reconcile

import (
	"fmt"
	"strings"
	"time"
)

// inFlightOf describes the role change in flight on n for Plan.InFlight.
func inFlightOf(n *Node, now time.Time) InFlight {
	f := InFlight{Node: n.ID, Hostname: n.Hostname, To: n.DesiredRole, Since: n.InFlightSince}
	switch {
	case PromotionStuck(n):
		f.Stuck = true
		f.Reason, f.Advice = StuckPromotion(n)
	case DemotionStuck(n, now):
		f.Stuck = true
		f.Reason, f.Advice = StuckDemotion(n)
	}
	return f
}

// holdForStuckPromotion drops every promote, demote and removal while a promotion is stuck
// (PromotionStuck), with the steps that ride on them (the availability of a node whose role
// change is held), and says so. Availability and label steps of other nodes still go: they
// change no membership. At no moment may two membership changes be able to complete, and a
// stuck promotion can complete at any moment.
func holdForStuckPromotion(steps []Step, s *Snapshot, warn func(string, ...any)) []Step {
	var stuck []string
	for i := range s.Nodes {
		if PromotionStuck(&s.Nodes[i]) {
			stuck = append(stuck, s.Nodes[i].Hostname)
		}
	}
	if len(stuck) == 0 {
		return steps
	}
	held := map[string]bool{}
	for _, st := range steps {
		if st.Action.ChangesMembership() {
			held[st.Node] = true
		}
	}
	if len(held) == 0 {
		return steps
	}
	out := steps[:0:0]
	var names []string
	for _, st := range steps {
		if !held[st.Node] {
			out = append(out, st)
			continue
		}
		if st.Action.ChangesMembership() {
			names = append(names, fmt.Sprintf("%s %s", st.Action, st.Hostname))
		}
	}
	warn("held while the promotion of %s is pending: %s; they are planned again once it completes or the node leaves the swarm",
		strings.Join(stuck, ", "), strings.Join(names, ", "))
	return out
}
