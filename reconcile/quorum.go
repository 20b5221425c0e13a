package reconcile

import (
	"errors"
	"fmt"
	"time"
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
	if !st.Action.ChangesMembership() {
		return nil
	}
	for id := range m.inFlight {
		if o := m.node(id); id != n.ID {
			if PromotionStuck(o) {
				return fmt.Errorf("%w: the promotion of %s is pending while it is %s", ErrInFlight, o.Hostname, o.State)
			}
			return fmt.Errorf("%w: %s is still becoming a %s", ErrInFlight, o.Hostname, o.DesiredRole)
		}
	}
	a := actions[st.Action]
	if a.eligible != nil {
		if err := a.eligible(m, n); err != nil {
			return err
		}
	}
	if a.removes {
		return nil
	}
	if !n.Member {
		// A promote. Raft counts the new member toward the quorum as soon as it adds it, before
		// the node has caught up, and for good if it cannot join (a worker that joined through
		// a manager now away cannot, moby#34835). Until then only the members already
		// reachable answer, and they must be a majority of the grown swarm: with one of three
		// managers unreachable, a fourth member would leave 2 of 4. Growing a single manager
		// always depends on the newcomer, and is allowed.
		if before.members > 1 && before.reachable < Quorum(before.members+1) {
			return fmt.Errorf("%w: promoting %s while %d of %d managers are reachable would leave the quorum depending on it until it joins raft",
				ErrQuorumLost, n.Hostname, before.reachable, before.members)
		}
		return nil
	}
	after := before.after(st, n)
	if after.ft() < 0 {
		return fmt.Errorf("%w: %s %s would leave %d of %d managers reachable", ErrQuorumLost, st.Action, n.Hostname, after.reachable, after.members)
	}
	if after.ft() < floor {
		return fmt.Errorf("%w: %s %s would lower fault tolerance to %d, floor is %d", ErrBelowFloor, st.Action, n.Hostname, after.ft(), floor)
	}
	return nil
}

// after returns the raft counts once st has settled on n.
func (r raftState) after(st Step, n *Node) raftState {
	m := *n
	actions[st.Action].effect(&m, st)
	return r.without(n).with(&m)
}

func (r raftState) with(n *Node) raftState {
	if n.Member {
		r.members++
		if n.Reachability == ReachabilityReachable {
			r.reachable++
		}
	}
	return r
}

func (r raftState) without(n *Node) raftState {
	if n.Member {
		r.members--
		if n.Reachability == ReachabilityReachable {
			r.reachable--
		}
	}
	return r
}

// RoleInFlight reports whether a role change on n was asked for and has not completed: the
// desired role (Spec.Role) and raft membership disagree. That includes a promotion whose node
// is not ready (PromotionStuck): swarm refuses to take it back, and it completes by itself the
// moment the node reaches the managers again, so until it completes or the node leaves the
// swarm it holds every other membership change like any change in flight.
func RoleInFlight(n *Node) bool {
	if n.DesiredRole == RoleManager {
		return !n.Member
	}
	return n.Member
}

// PromotionStuck reports whether n's promotion is in flight and cannot complete now: the node
// is not ready, so it cannot join raft (on Engine 20.10 a worker that joined through a manager
// that is now away cannot, moby#34835), and swarm refuses the demote that would take it back
// ("can't find manager in raft memberlist"). Waiting for it is pointless and starting another
// membership change is unsafe: when the node returns, its promotion completes at a moment
// nobody chose, together with whatever else was started meanwhile (swarmkit#2196 is the same
// hazard). See docs/swarm-behaviour.md.
func PromotionStuck(n *Node) bool {
	return n.DesiredRole == RoleManager && !n.Member && n.State != StateReady
}

// StuckPromotion explains a stuck promotion of n: why nothing else changes, and what a human
// can do.
func StuckPromotion(n *Node) (reason, advice string) {
	since := ""
	if !n.InFlightSince.IsZero() {
		since = " (pending since " + n.InFlightSince.UTC().Format(time.RFC3339) + ")"
	}
	reason = fmt.Sprintf("node %s was asked to become a manager%s and is %s: it is not in the raft member list, so it cannot "+
		"join raft now and swarm refuses to take the promotion back (a demote fails with \"can't find manager in raft memberlist\"). "+
		"It completes by itself once the node reaches the managers again, so no other promote, demote or removal starts until it "+
		"completes or the node leaves the swarm", n.Hostname, since, n.State)
	return reason, pendingPromotionAdvice(n.Hostname, n.ID)
}

// MemberLeftBehindAfter is how long a demotion of an unreachable member whose node is ready
// must have been seen in flight before it counts as a member left behind (DemotionStuck). With
// quorum, swarm's role manager removes an unreachable member within its 5 s retry.
const MemberLeftBehindAfter = 30 * time.Second

// DemotionStuck reports whether n looks like a member swarm took back after its demotion: asked
// to be a worker, in the raft member list and unreachable while its daemon reports ready, for
// MemberLeftBehindAfter by now. A demoted node keeps its manager certificate until a leader
// signs it a worker one; without one 32 s after it left raft (no leader meanwhile, or the node
// cut off) it starts its manager again and joins raft anew, and when the worker certificate
// comes it stops that manager. The member stays, and nothing in swarm removes it
// (swarmkit#1991; reproduced on the lab, see docs/swarm-behaviour.md). The API does not show
// the role swarm has written, so only the time tells it from a demotion still under way.
func DemotionStuck(n *Node, now time.Time) bool {
	return n.DesiredRole == RoleWorker && n.Member && n.Reachability != ReachabilityReachable && n.State == StateReady &&
		!n.InFlightSince.IsZero() && now.Sub(n.InFlightSince) >= MemberLeftBehindAfter
}

// ChangeStuck reports whether n's role change is in flight and cannot complete by itself by
// now: a stuck promotion (PromotionStuck) or a member a demotion left behind (DemotionStuck).
func ChangeStuck(n *Node, now time.Time) bool { return PromotionStuck(n) || DemotionStuck(n, now) }

// StuckDemotion says why a demotion is stuck (DemotionStuck) and what a human can do.
func StuckDemotion(n *Node) (reason, advice string) {
	reason = fmt.Sprintf("node %s was asked to become a worker and runs (%s), yet an unreachable raft member stands for it: after its demotion swarm took it "+
		"back into raft before it held a worker certificate, and its manager has stopped since. Swarm never removes such a member, and it counts "+
		"against the quorum, so no other promote, demote or removal starts", n.Hostname, n.State)
	advice = fmt.Sprintf("while the swarm has a leader, run `docker node rm --force %s`: it removes the member (do not promote the node: on Engine "+
		"20.10 that crashed its daemon); then rejoin the machine as a worker (on it `docker swarm leave --force`, then `docker swarm join` with "+
		"the worker token and a manager's address)", n.ID)
	return reason, advice
}

func pendingPromotionAdvice(hostname, id string) string {
	return fmt.Sprintf("bring node %s back, and the manager it joined the swarm through, still a manager, so that it joins raft "+
		"(on Engine 20.10 it joins only through that manager, and never once that one has been demoted or removed); "+
		"otherwise run `docker node rm --force %s` once it shows down, which ends the promotion (swarm removes a down node that is not "+
		"in the raft member list), and rejoin the machine through a current manager (on it `docker swarm leave --force`, "+
		"then `docker swarm join` with the worker token and that manager's address)", hostname, id)
}
