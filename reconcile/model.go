package reconcile

import (
	"fmt"
	"github.com/swarmtopo/swarmtopo/spec"
	"maps"
)

// ApplyStep returns the nodes as they are once st has settled, as the quorum model sees it:
// a promoted node is a reachable member, a demoted one has left the raft. The input is not changed.
func ApplyStep(nodes []Node, st Step) []Node {
	out := make([]Node, 0, len(nodes))
	for _, n := range nodes {
		if n.ID != st.Node {
			out = append(out, n)
			continue
		}
		if st.Action == ActionRemove {
			continue
		}
		n.Version++
		switch st.Action {
		case ActionPromote:
			n.DesiredRole, n.Member, n.Reachability = RoleManager, true, ReachabilityReachable
		case ActionDemote:
			if n.Member && n.Reachability != ReachabilityReachable {
				// Raft could not reach it: its daemon is gone or cut off, and the dispatcher
				// marks it down soon after. It is no worker to count on.
				n.State = StateDown
			}
			n.DesiredRole, n.Member, n.Reachability = RoleWorker, false, ""
		case ActionDrain, ActionActivate, ActionPause:
			n.Availability = availabilityOf(st.Action)
		case ActionLabel:
			labels := maps.Clone(n.Labels)
			if labels == nil {
				labels = map[string]string{}
			}
			for _, k := range st.Labels.Remove {
				delete(labels, k)
			}
			maps.Copy(labels, st.Labels.Add)
			n.Labels = labels
		}
		out = append(out, n)
	}
	if st.Action == ActionDemote {
		out = electLeader(out)
	}
	return out
}

// Settle returns the nodes as they are once every role change in flight has finished.
func Settle(nodes []Node) []Node {
	out := make([]Node, len(nodes))
	for i, n := range nodes {
		if roleInFlight(&n) {
			if n.DesiredRole == RoleManager {
				n.Member, n.Reachability = true, ReachabilityReachable
			} else {
				n.Member, n.Reachability = false, ""
			}
		}
		out[i] = n
	}
	return electLeader(out)
}

// electLeader moves leadership to the first reachable member when the leader has left.
func electLeader(nodes []Node) []Node {
	for i := range nodes {
		if !nodes[i].Member {
			nodes[i].Leader = false
		} else if nodes[i].Leader {
			return nodes
		}
	}
	for i := range nodes {
		if nodes[i].Member && nodes[i].Reachability == ReachabilityReachable {
			nodes[i].Leader = true
			return nodes
		}
	}
	return nodes
}

func availabilityOf(a Action) spec.Availability {
	switch a {
	case ActionDrain:
		return spec.AvailabilityDrain
	case ActionPause:
		return spec.AvailabilityPause
	default:
		return spec.AvailabilityActive
	}
}

// verify replays the plan on the quorum model with the same check the controller runs before
// every call, and fills in the fault tolerance of each step, the floor and the summaries.
func verify(p *Plan, s *Snapshot, zoneLabel string) error {
	start := Settle(s.Nodes)
	final := start
	for _, st := range p.Steps {
		final = ApplyStep(final, st)
	}
	ftBefore := memberState(s.Nodes).ft()
	ftStart := memberState(start).ft()
	p.Floor = min(ftBefore, ftStart, memberState(final).ft())
	p.LowestFaultTolerance = min(ftBefore, ftStart)
	cur := start
	for i := range p.Steps {
		st := &p.Steps[i]
		if err := CheckStep(Snapshot{Nodes: cur, Self: s.Self, Time: s.Time}, *st, p.Floor); err != nil {
			return fmt.Errorf("%w: step %d (%s %s): %w", ErrUnsafePlan, i+1, st.Action, st.Hostname, err)
		}
		cur = ApplyStep(cur, *st)
		st.FaultTolerance = memberState(cur).ft()
		p.LowestFaultTolerance = min(p.LowestFaultTolerance, st.FaultTolerance)
	}
	p.After = summarize(final, zoneLabel)
	return nil
}

// NoZone is the key under which a summary counts managers without a zone label.
const NoZone = "(none)"

// summarize counts the managers, reachable managers and managers per zone.
func summarize(nodes []Node, zoneLabel string) Summary {
	r := memberState(nodes)
	sum := Summary{Managers: r.members, Reachable: r.reachable, FaultTolerance: r.ft(), Zones: map[string]int{}}
	for i := range nodes {
		if nodes[i].Member {
			z := nodes[i].Labels[zoneLabel]
			if z == "" {
				z = NoZone
			}
			sum.Zones[z]++
		}
	}
	return sum
}
