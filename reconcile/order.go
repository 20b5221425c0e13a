package reconcile

import (
	"fmt"

	"github.com/swarmtopo/swarmtopo/spec"
)

// orderSteps turns the target into ordered steps: availability of nodes that keep their role,
// then role changes (promote before demote, one at a time, failed managers first, the leader
// and the operator's own node last), then removals, then the leader's and the operator's own
// availability, since draining them moves the operator itself.
func orderSteps(sp *spec.Spec, nodes []*planNode, tg *target, self string) []Step {
	promoting, demoting := make([]bool, len(nodes)), make([]bool, len(nodes))
	for _, n := range tg.promote {
		promoting[n.idx] = true
	}
	for _, n := range tg.demote {
		demoting[n.idx] = true
	}
	removeDown := func(n *planNode) bool {
		return sp.Policy.RemoveDownNodes && n.State == StateDown
	}
	managerAfter := func(n *planNode) bool {
		return promoting[n.idx] || (tg.keep[n.idx] && !demoting[n.idx])
	}
	wantAvail := func(n *planNode) spec.Availability {
		if managerAfter(n) {
			return sp.Managers.Availability
		}
		return sp.Workers.Availability
	}
	availStep := func(n *planNode) []Step {
		want := wantAvail(n)
		if want == "" || n.Availability == want {
			return nil
		}
		reason := fmt.Sprintf("spec.workers.availability is %s", want)
		if managerAfter(n) {
			reason = fmt.Sprintf("spec.managers.availability is %s", want)
			if want == spec.AvailabilityDrain {
				reason += ": managers are manager-only"
			}
		}
		return []Step{{Action: availabilityAction(want), Node: n.ID, Hostname: n.Hostname, Zone: n.zone, Reason: reason}}
	}

	// Workers that are down, and demotions in flight of down nodes, are removed instead.
	removable := func(n *planNode) bool {
		return removeDown(n) && !promoting[n.idx] && (n.class == classWorker || n.class == classDemoting)
	}
	var steps, last []Step
	for _, n := range nodes {
		if promoting[n.idx] || demoting[n.idx] || removable(n) {
			continue
		}
		if n.ID == self || n.Leader {
			last = append(last, availStep(n)...)
			continue
		}
		steps = append(steps, availStep(n)...)
	}

	var promotes, demotes [][]Step
	for _, n := range replacementsFirst(tg) {
		s := []Step{{Action: ActionPromote, Node: n.ID, Hostname: n.Hostname, Zone: n.zone, Reason: tg.reasons[n.ID]}}
		promotes = append(promotes, append(s, availStep(n)...))
	}
	demoteNodes := demoteOrder(tg.demote, self)
	for _, n := range demoteNodes {
		s := []Step{{Action: ActionDemote, Node: n.ID, Hostname: n.Hostname, Zone: n.zone, Reason: tg.reasons[n.ID]}}
		// A failed manager is down, or soon will be: the removal waits for that if need be.
		if removeDown(n) || sp.Policy.RemoveDownNodes && (n.class == classFailed || n.class == classGrace) {
			s = append(s, Step{Action: ActionRemove, Node: n.ID, Hostname: n.Hostname, Zone: n.zone,
				Reason: "it is down and spec.policy.removeDownNodes is set"})
		} else {
			s = append(s, availStep(n)...)
		}
		demotes = append(demotes, s)
	}
	// A promote goes only while the reachable members are a majority of the grown swarm
	// (model.check): until then, managers that do not count toward quorum and are to go are
	// demoted first, which can only raise the fault tolerance. Otherwise the replacement goes
	// first and the unreachable manager stays a member until then: on Engine 20.10 a node that
	// joined through it can join raft only while it is a manager (moby#34835). Their removal
	// (removeDownNodes) can wait for swarm to show them down: it comes after the promotes.
	// Then promote before demote, and never more than one extra member at a time: promotes
	// that grow the swarm first, then promote/demote pairs, then demotes that shrink it.
	// Counted as the model counts them: with what is in flight settled (Settle).
	members, reachable := 0, 0
	for _, n := range nodes {
		switch {
		case n.class == classDemoting, n.class == classPromoting && PromotionStuck(n.Node):
		case n.class == classPromoting || (n.Member && n.Reachability == ReachabilityReachable):
			members++
			reachable++
		case n.Member:
			members++
		}
	}
	var removals []Step
	for len(promotes) > 0 && len(demotes) > 0 && unreachableMember(demoteNodes[0]) &&
		members > 1 && reachable < Quorum(members+1) {
		steps = append(steps, demotes[0][0])
		removals = append(removals, demotes[0][1:]...)
		demotes, demoteNodes = demotes[1:], demoteNodes[1:]
		members--
	}
	extra := len(promotes) - len(demotes)
	for ; extra > 0; extra-- {
		steps = append(steps, promotes[0]...)
		promotes = promotes[1:]
	}
	for len(promotes) > 0 {
		steps = append(steps, promotes[0]...)
		steps = append(steps, demotes[0]...)
		promotes, demotes = promotes[1:], demotes[1:]
	}
	for _, d := range demotes {
		steps = append(steps, d...)
	}
	steps = append(steps, removals...)

	for _, n := range nodes {
		if removable(n) {
			steps = append(steps, Step{Action: ActionRemove, Node: n.ID, Hostname: n.Hostname, Zone: n.zone,
				Reason: "it is down and spec.policy.removeDownNodes is set"})
		}
	}
	return append(steps, last...)
}

// unreachableMember reports whether n is a manager that does not count toward quorum now.
func unreachableMember(n *planNode) bool {
	return n.Member && n.Reachability != ReachabilityReachable
}

// replacementsFirst orders promotes so that replacements of failed managers come first.
func replacementsFirst(tg *target) []*planNode {
	var first, rest []*planNode
	for _, n := range tg.promote {
		if _, ok := tg.replaced[n.ID]; ok {
			first = append(first, n)
		} else {
			rest = append(rest, n)
		}
	}
	return append(first, rest...)
}

// demoteOrder puts managers that do not count toward quorum first (their removal can only
// raise the fault tolerance), then healthy ones, then the leader, then the operator's own node.
func demoteOrder(ds []*planNode, self string) []*planNode {
	rank := func(n *planNode) int {
		switch {
		case n.class == classFailed || n.class == classGrace:
			return 0
		case n.ID == self:
			return 3
		case n.Leader:
			return 2
		default:
			return 1
		}
	}
	out := make([]*planNode, 0, len(ds))
	for r := 0; r <= 3; r++ {
		for _, n := range ds {
			if rank(n) == r {
				out = append(out, n)
			}
		}
	}
	return out
}

func availabilityAction(a spec.Availability) Action {
	switch a {
	case spec.AvailabilityDrain:
		return ActionDrain
	case spec.AvailabilityPause:
		return ActionPause
	default:
		return ActionActivate
	}
}
