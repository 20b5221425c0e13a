package reconcile

import (
	"fmt"
	"maps"
	"testing"

	"pgregory.net/rapid"

	"github.com/swarmtopo/swarmtopo/spec"
)

// The reference model: how swarm changes once a step has settled, written from what swarm
// does, without the planner's model (ApplyStep, Settle), so that the property tests do not
// check the planner against itself.
//
//   - promote: the node joins the raft member list and is reachable (only ready nodes are
//     promoted, and a promote settles when the new member is reachable);
//   - demote: the node leaves the member list; one raft could not reach is gone or cut off,
//     and the dispatcher soon shows it down;
//   - remove: the node leaves the node list;
//   - drain, activate, pause: the availability; label: the labels;
//   - a leader that leaves hands over to a reachable member (here the first in list order);
//   - what was asked and has not happened happens: a node asked to be a manager that is ready
//     joins; a node asked to be a worker that is a member leaves. A node asked to be a
//     manager while it is away cannot join until it returns.

// refSettle completes the role changes in flight.
func refSettle(in []Node) []Node {
	out := make([]Node, 0, len(in))
	for _, n := range in {
		switch {
		case n.DesiredRole == RoleManager && !n.Member && n.State == StateReady:
			n.Member, n.Reachability = true, ReachabilityReachable
		case n.DesiredRole == RoleWorker && n.Member:
			n.Member, n.Reachability, n.Leader = false, "", false
		}
		n.Labels = maps.Clone(n.Labels)
		out = append(out, n)
	}
	return refHandOver(out)
}

// refApply returns the nodes once st has settled; in is not changed.
func refApply(in []Node, st Step) []Node {
	out := make([]Node, 0, len(in))
	for _, n := range in {
		n.Labels = maps.Clone(n.Labels)
		if n.ID != st.Node {
			out = append(out, n)
			continue
		}
		n.Version++
		switch st.Action {
		case ActionRemove:
			continue
		case ActionPromote:
			n.DesiredRole, n.Member, n.Reachability = RoleManager, true, ReachabilityReachable
		case ActionDemote:
			if n.Member && n.Reachability != ReachabilityReachable {
				n.State = StateDown
			}
			n.DesiredRole, n.Member, n.Reachability, n.Leader = RoleWorker, false, "", false
		case ActionDrain:
			n.Availability = spec.AvailabilityDrain
		case ActionActivate:
			n.Availability = spec.AvailabilityActive
		case ActionPause:
			n.Availability = spec.AvailabilityPause
		case ActionLabel:
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			for _, k := range st.Labels.Remove {
				delete(n.Labels, k)
			}
			for k, v := range st.Labels.Add {
				n.Labels[k] = v
			}
		}
		out = append(out, n)
	}
	return refHandOver(out)
}

// refHandOver makes sure that, if any member is reachable, a member leads, and nobody else.
func refHandOver(nodes []Node) []Node {
	leader := -1
	for i := range nodes {
		if !nodes[i].Member {
			nodes[i].Leader = false
		} else if nodes[i].Leader && leader < 0 {
			leader = i
		}
	}
	if leader >= 0 {
		return nodes
	}
	for i := range nodes {
		if nodes[i].Member && nodes[i].Reachability == ReachabilityReachable {
			nodes[i].Leader = true
			break
		}
	}
	return nodes
}

// refFaultTolerance is the admin guide's formula on the reference nodes.
func refFaultTolerance(nodes []Node) int {
	members, reachable := 0, 0
	for _, n := range nodes {
		if n.Member {
			members++
			if n.Reachability == ReachabilityReachable {
				reachable++
			}
		}
	}
	if members == 0 {
		return 0
	}
	return reachable - (members/2 + 1)
}

// The fault tolerance the planner writes on each step, and the managers it says the plan ends
// with, must be what the reference model gives.
func TestPropertyTheStepsFaultToleranceAndTheOutcomeMatchTheReferenceModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, _, p := genPlan(t)
		if p.Blocked != "" {
			return
		}
		nodes := refSettle(s.Nodes)
		for i, st := range p.Steps {
			nodes = refApply(nodes, st)
			if got := refFaultTolerance(nodes); got != st.FaultTolerance {
				t.Fatalf("step %d (%s %s) says fault tolerance %d, the reference model %d\nplan: %s\nswarm:%s",
					i+1, st.Action, st.Hostname, st.FaultTolerance, got, stepList(p), describe(s))
			}
		}
		zones := map[string]int{}
		for _, n := range nodes {
			if n.Member {
				z := n.Labels["az"]
				if z == "" {
					z = NoZone
				}
				zones[z]++
			}
		}
		if got, want := fmt.Sprint(zones), fmt.Sprint(p.After.Zones); got != want || refFaultTolerance(nodes) != p.After.FaultTolerance {
			t.Fatalf("the plan ends with managers %s (fault tolerance %d), the reference model with %s (%d)\nplan: %s\nswarm:%s",
				want, p.After.FaultTolerance, got, refFaultTolerance(nodes), stepList(p), describe(s))
		}
	})
}
