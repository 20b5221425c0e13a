package reconcile

import (
	"errors"
	"fmt"
)

// Sentinel errors of the safety check. Match them with errors.Is.
var (
	// ErrQuorumLost means the swarm has no quorum now, or a step would leave it without one.
	ErrQuorumLost = errors.New("reconcile: quorum lost")
	// ErrBelowFloor means a step would take the fault tolerance below the plan's floor.
	ErrBelowFloor = errors.New("reconcile: fault tolerance below floor")
	// ErrInFlight means another role change has not settled yet.
	ErrInFlight = errors.New("reconcile: role change in flight")
	// ErrNotEligible means the step does not fit the node's current state.
	ErrNotEligible = errors.New("reconcile: node not eligible")
	// ErrUnsafePlan means the planner produced a plan its own model rejects: a bug.
	ErrUnsafePlan = errors.New("reconcile: planner produced an unsafe plan")
)

// Quorum is the raft majority of n members.
func Quorum(members int) int { return members/2 + 1 }

// FaultTolerance is how many more reachable managers may fail before quorum is lost:
// reachable − quorum. Negative means quorum is already lost; an empty swarm tolerates nothing.
func FaultTolerance(members, reachable int) int {
	if members == 0 {
		return 0
	}
	return reachable - Quorum(members)
}

// Members counts the raft members of the snapshot and how many of them are reachable.
func (s *Snapshot) Members() (members, reachable int) {
	r := memberState(s.Nodes)
	return r.members, r.reachable
}

// raftState is the part of the swarm the quorum model tracks.
type raftState struct {
	members   int
	reachable int
}

func (r raftState) ft() int { return FaultTolerance(r.members, r.reachable) }

// memberState returns the raft counts of the observed nodes.
func memberState(nodes []Node) raftState {
	var r raftState
	for i := range nodes {
		if nodes[i].Member {
			r.members++
			if nodes[i].Reachability == ReachabilityReachable {
				r.reachable++
			}
		}
	}
	return r
}

// apply returns the raft counts once a role change on n has settled.
func (r raftState) apply(a Action, n *Node) raftState {
	switch a {
	case ActionPromote:
		// Only ready nodes are promoted, and a promote settles when the new member is reachable.
		r.members++
		r.reachable++
	case ActionDemote:
		r.members--
		if n.Reachability == ReachabilityReachable {
			r.reachable--
		}
	}
	return r
}

// CheckStep re-checks one step against a fresh observation just before it is applied:
// the world may have moved since the plan was made. floor is the plan's fault tolerance floor.
// Every code path that changes a role goes through here; the planner replays its own plans
// through the same check.
func CheckStep(s Snapshot, st Step, floor int) error {
	if s.ClusterError != "" {
		return fmt.Errorf("%w: %s", ErrQuorumLost, s.ClusterError)
	}
	if err := checkMaintenance(&s, st); err != nil {
		return err
	}
	return newModel(s.Nodes).check(st, floor)
}

// check is CheckStep on the model.
func (m *model) check(st Step, floor int) error {
	n := m.node(st.Node)
	if n == nil {
		return fmt.Errorf("%w: node %s (%s) is no longer in the swarm", ErrNotEligible, st.Hostname, st.Node)
	}
	// Every change is a raft write: without quorum it hangs, and it lands later, unasked,
	// when the managers come back.
	before := m.raft
	if before.members > 0 && before.ft() < 0 {
		return fmt.Errorf("%w: %d of %d managers reachable, %d needed", ErrQuorumLost, before.reachable, before.members, Quorum(before.members))
	}
	if !st.Action.IsRoleChange() && st.Action != ActionRemove {
		return nil
	}
	for id := range m.inFlight {
		if o := m.node(id); id != n.ID {
			return fmt.Errorf("%w: %s is still becoming a %s", ErrInFlight, o.Hostname, o.DesiredRole)
		}
	}
	switch st.Action {
	case ActionPromote:
		if n.Member {
			return fmt.Errorf("%w: %s is already a manager", ErrNotEligible, n.Hostname)
		}
		if n.State != StateReady {
			return fmt.Errorf("%w: %s is %s, only ready nodes are promoted", ErrNotEligible, n.Hostname, n.State)
		}
	case ActionDemote:
		if !n.Member && n.DesiredRole != RoleManager {
			return fmt.Errorf("%w: %s is not a manager", ErrNotEligible, n.Hostname)
		}
		if !n.Member {
			// Swarm refuses it too: "can't find manager in raft memberlist".
			return fmt.Errorf("%w: %s is not in the raft member list yet; its promotion must finish first", ErrNotEligible, n.Hostname)
		}
		if n.Member && before.members == 1 {
			return fmt.Errorf("%w: %s is the last manager", ErrQuorumLost, n.Hostname)
		}
	case ActionRemove:
		if n.Member || n.DesiredRole == RoleManager {
			return fmt.Errorf("%w: %s is a manager; demote it before removal", ErrNotEligible, n.Hostname)
		}
		if n.State != StateDown {
			return fmt.Errorf("%w: %s is %s, only down nodes are removed", ErrNotEligible, n.Hostname, n.State)
		}
		return nil
	}
	if !n.Member {
		return nil // a promote: a new member cannot lower the fault tolerance
	}
	after := before.apply(st.Action, n)
	if after.ft() < 0 {
		return fmt.Errorf("%w: %s %s would leave %d of %d managers reachable", ErrQuorumLost, st.Action, n.Hostname, after.reachable, after.members)
	}
	if after.ft() < floor {
		return fmt.Errorf("%w: %s %s would lower fault tolerance to %d, floor is %d", ErrBelowFloor, st.Action, n.Hostname, after.ft(), floor)
	}
	return nil
}

// RoleInFlight reports whether a role change on n was asked for and has not settled:
// the desired role (Spec.Role) and raft membership disagree. A promote of a node that is
// not ready cannot progress, so it does not hold up other changes.
func RoleInFlight(n *Node) bool {
	if n.DesiredRole == RoleManager {
		return !n.Member && n.State == StateReady
	}
	return n.Member
}
