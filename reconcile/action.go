package reconcile

import (
	"fmt"
	"maps"

	"github.com/swarmtopo/swarmtopo/spec"
)

// actionSpec is what one action means, in one place: the node spec it stores, its effect on the
// quorum model, who may take it, when it has settled, and what a human can do when it does not.
// Everything else (the model, the safety check, the controller's update and its wait) reads this
// table instead of switching over actions.
type actionSpec struct {
	// role is the desired role a role change stores (Spec.Role); "" for other actions.
	role Role
	// availability is what an availability step stores; "" for other actions.
	availability spec.Availability
	// labels marks the step that carries a LabelChange.
	labels bool
	// removes marks the step that takes the node out of the swarm.
	removes bool
	// eligible says whether the step fits n in m, swarm's own refusals included. Nil: any node.
	eligible func(m *model, n *Node) error
	// settled says whether the step has taken effect on n, the node as observed now (nil when
	// it is not listed); leader is whether the swarm has a leader.
	settled func(st Step, n *Node, leader bool) (bool, string)
	// advice is what a human can do when the step does not settle.
	advice func(st Step) string
}

var actions = map[Action]actionSpec{
	ActionPromote:  {role: RoleManager, eligible: promoteEligible, settled: promoteSettled, advice: promoteAdvice},
	ActionDemote:   {role: RoleWorker, eligible: demoteEligible, settled: demoteSettled, advice: demoteAdvice},
	ActionDrain:    {availability: spec.AvailabilityDrain, settled: availabilitySettled(spec.AvailabilityDrain)},
	ActionActivate: {availability: spec.AvailabilityActive, settled: availabilitySettled(spec.AvailabilityActive)},
	ActionPause:    {availability: spec.AvailabilityPause, settled: availabilitySettled(spec.AvailabilityPause)},
	ActionLabel:    {labels: true, settled: labelsSettled},
	ActionRemove:   {removes: true, eligible: removeEligible, settled: removeSettled},
}

// Known reports whether a is an action of the table.
func (a Action) Known() bool { _, ok := actions[a]; return ok }

// IsRoleChange reports whether the action changes raft membership: promote and demote.
func (a Action) IsRoleChange() bool { return actions[a].role != "" }

// ChangesMembership reports whether the action changes who is in the swarm or its raft:
// promote, demote and remove. At most one of these may be able to complete at any moment.
func (a Action) ChangesMembership() bool { return a.IsRoleChange() || actions[a].removes }

// Removes reports whether the action takes the node out of the swarm.
func (a Action) Removes() bool { return actions[a].removes }

// Role is the desired role a role change stores; "" for other actions.
func (a Action) Role() Role { return actions[a].role }

// Availability is the availability an availability step stores; "" for other actions.
func (a Action) Availability() spec.Availability { return actions[a].availability }

// RoleChangeTo is the action that asks for role r.
func RoleChangeTo(r Role) Action {
	if r == RoleWorker {
		return ActionDemote
	}
	return ActionPromote
}

// NodeSpec is the part of a node's spec that steps change.
type NodeSpec struct {
	Role         Role
	Availability spec.Availability
	Labels       map[string]string
}

// SpecAfter returns the spec st stores, starting from cur (never changed), and whether it
// differs from cur: false means an earlier pass or process already stored it.
func SpecAfter(cur NodeSpec, st Step) (NodeSpec, bool, error) {
	a, ok := actions[st.Action]
	switch {
	case !ok:
		return cur, false, fmt.Errorf("step for %s (%s) has unknown action %q", st.Hostname, st.Node, st.Action)
	case a.removes:
		return cur, false, fmt.Errorf("step for %s (%s) removes the node: it stores no spec", st.Hostname, st.Node)
	case a.labels && st.Labels == nil:
		return cur, false, fmt.Errorf("label step for %s (%s) has no label change", st.Hostname, st.Node)
	}
	out := cur
	out.Labels = maps.Clone(cur.Labels)
	if a.role != "" {
		out.Role = a.role
	}
	if a.availability != "" {
		out.Availability = a.availability
	}
	if a.labels {
		out.Labels = st.Labels.applyTo(out.Labels)
	}
	changed := out.Role != cur.Role || out.Availability != cur.Availability || !maps.Equal(out.Labels, cur.Labels)
	return out, changed, nil
}

// applyTo returns labels with the change made; labels itself is not changed.
func (lc *LabelChange) applyTo(labels map[string]string) map[string]string {
	out := maps.Clone(labels)
	if out == nil && len(lc.Add) > 0 {
		out = map[string]string{}
	}
	for _, k := range lc.Remove {
		delete(out, k)
	}
	maps.Copy(out, lc.Add)
	return out
}

// effect plays a settled step on one node: a promoted node is a reachable member, a demoted one
// has left the raft, the rest is what the spec says. Removal is the model's to do.
func (a actionSpec) effect(n *Node, st Step) {
	switch a.role {
	case RoleManager:
		n.DesiredRole, n.Member, n.Reachability = RoleManager, true, ReachabilityReachable
	case RoleWorker:
		if n.Member && n.Reachability != ReachabilityReachable {
			// Raft could not reach it: its daemon is gone or cut off, and the dispatcher
			// marks it down soon after. It is no worker to count on.
			n.State = StateDown
		}
		n.DesiredRole, n.Member, n.Reachability = RoleWorker, false, ""
	}
	if a.availability != "" {
		n.Availability = a.availability
	}
	if a.labels && st.Labels != nil {
		n.Labels = st.Labels.applyTo(n.Labels)
	}
}

// Settled reports whether st has taken effect in s, and says what is seen either way. Role
// changes also need a leader: until one exists the swarm cannot take the next change.
func Settled(s Snapshot, st Step) (bool, string) {
	if s.ClusterError != "" {
		return false, "the swarm has no leader yet: " + s.ClusterError
	}
	a, ok := actions[st.Action]
	if !ok {
		return false, fmt.Sprintf("unknown action %q", st.Action)
	}
	var n *Node
	leader := false
	for i := range s.Nodes {
		if s.Nodes[i].ID == st.Node {
			n = &s.Nodes[i]
		}
		leader = leader || s.Nodes[i].Leader
	}
	return a.settled(st, n, leader)
}

// Advice says what a human can do about st when it does not settle.
func Advice(st Step) string {
	if a := actions[st.Action]; a.advice != nil {
		return a.advice(st)
	}
	return "check the node with `docker node inspect " + st.Node + "`"
}

func promoteEligible(_ *model, n *Node) error {
	if n.Member {
		return fmt.Errorf("%w: %s is already a manager", ErrNotEligible, n.Hostname)
	}
	if n.State != StateReady {
		return fmt.Errorf("%w: %s is %s, only ready nodes are promoted", ErrNotEligible, n.Hostname, n.State)
	}
	return nil
}

func demoteEligible(m *model, n *Node) error {
	switch {
	case !n.Member && n.DesiredRole != RoleManager:
		return fmt.Errorf("%w: %s is not a manager", ErrNotEligible, n.Hostname)
	case !n.Member:
		// Swarm refuses it too: "can't find manager in raft memberlist".
		return fmt.Errorf("%w: %s is not in the raft member list yet; its promotion must finish first", ErrNotEligible, n.Hostname)
	case m.raft.members == 1:
		return fmt.Errorf("%w: %s is the last manager", ErrQuorumLost, n.Hostname)
	}
	return nil
}

func removeEligible(_ *model, n *Node) error {
	if n.Member || n.DesiredRole == RoleManager {
		// Swarm would take a down node whose promotion never reached raft, and that would end
		// the promotion; swarmtopo leaves that to a human (see PendingPromotion).
		return fmt.Errorf("%w: %s is a manager; demote it before removal", ErrNotEligible, n.Hostname)
	}
	if n.State != StateDown {
		return fmt.Errorf("%w: %s is %s, only down nodes are removed", ErrNotEligible, n.Hostname, n.State)
	}
	return nil
}

func promoteSettled(_ Step, n *Node, leader bool) (bool, string) {
	switch {
	case n == nil:
		return false, "the node is no longer in the swarm"
	case !n.Member && n.State != StateReady:
		return false, fmt.Sprintf("the node is not in the raft member list and is %s", n.State)
	case !n.Member:
		return false, "the node is not in the raft member list yet"
	case n.Reachability != ReachabilityReachable:
		return false, fmt.Sprintf("the node is a raft member but %s", n.Reachability)
	case !leader:
		return false, "the swarm has no leader yet"
	}
	return true, "the node is a reachable manager"
}

func demoteSettled(_ Step, n *Node, leader bool) (bool, string) {
	switch {
	case n == nil:
		return true, "the node is no longer in the swarm"
	case n.Member:
		return false, fmt.Sprintf("the node is still in the raft member list (%s)", n.Reachability)
	case !leader:
		return false, "the swarm has no leader yet"
	}
	return true, "the node is a worker"
}

func removeSettled(_ Step, n *Node, _ bool) (bool, string) {
	if n == nil {
		return true, "the node is removed"
	}
	return false, fmt.Sprintf("the node is still listed (%s)", n.State)
}

func availabilitySettled(want spec.Availability) func(Step, *Node, bool) (bool, string) {
	return func(_ Step, n *Node, _ bool) (bool, string) {
		if n == nil {
			return false, "the node is no longer in the swarm"
		}
		return n.Availability == want, "availability reads back " + string(n.Availability)
	}
}

func labelsSettled(st Step, n *Node, _ bool) (bool, string) {
	switch {
	case n == nil:
		return false, "the node is no longer in the swarm"
	case !labelsApplied(n.Labels, st.Labels):
		return false, "labels do not read back yet"
	}
	return true, "labels read back"
}

func labelsApplied(have map[string]string, lc *LabelChange) bool {
	if lc == nil {
		return true
	}
	for k, v := range lc.Add {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	for _, k := range lc.Remove {
		if _, ok := have[k]; ok {
			return false
		}
	}
	return true
}

func promoteAdvice(st Step) string {
	return fmt.Sprintf("check that node %s's Docker daemon runs and reaches the managers on port 2377 "+
		"(on Engine 20.10 a worker that joined through a manager that is now away cannot join raft, moby#34835). "+
		"If it joined raft but stays unreachable, undo it with `docker node demote %s`. If it never joined, swarm "+
		"refuses the demote and nothing else changes until it joins or leaves the swarm: %s",
		st.Hostname, st.Node, pendingPromotionAdvice(st.Hostname, st.Node))
}

func demoteAdvice(Step) string {
	return "the daemon retries a demotion every 5 s and refuses one that would lose quorum; " +
		"check that the other managers are reachable"
}

// QuorumLostAdvice is what a human can do while the swarm has no quorum, and whose call the
// last resort is. Every output that reports a lost quorum uses it.
const QuorumLostAdvice = "Running tasks keep running, but nothing in the swarm can be changed. " +
	"Bring the unreachable managers back (restart their Docker daemons or machines) until more than half are online. " +
	"As a last resort, `docker swarm init --force-new-cluster` on a surviving manager makes a new swarm from its state " +
	"with that manager alone; it is a human's decision, and swarmtopo never makes it."
