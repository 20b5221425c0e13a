package reconcile

import (
	"maps"
	"slices"
	"time"

	"github.com/swarmtopo/swarmtopo/spec"
)

// Role is a node's role in the swarm.
type Role string

// Roles.
const (
	RoleManager Role = "manager"
	RoleWorker  Role = "worker"
)

// NodeState is a node's status as the dispatcher sees it.
type NodeState string

// Node states as swarm spells them.
const (
	StateReady        NodeState = "ready"
	StateDown         NodeState = "down"
	StateUnknown      NodeState = "unknown"
	StateDisconnected NodeState = "disconnected"
)

// Reachability of a raft member as the answering manager sees it.
type Reachability string

// Reachabilities as swarm spells them.
const (
	ReachabilityReachable   Reachability = "reachable"
	ReachabilityUnreachable Reachability = "unreachable"
	ReachabilityUnknown     Reachability = "unknown"
)

// Node is one observed swarm node.
type Node struct {
	ID       string `json:"id"`
	Version  uint64 `json:"version"`
	Hostname string `json:"hostname"`
	// DesiredRole is Spec.Role: what was last asked for.
	DesiredRole  Role              `json:"desiredRole"`
	Availability spec.Availability `json:"availability"`
	Labels       map[string]string `json:"labels,omitempty"`
	State        NodeState         `json:"state"`
	// Member is true when the node is in the raft member list (ManagerStatus is set):
	// the observed manager role. DesiredRole differs from it while a change is in flight.
	Member       bool         `json:"member"`
	Reachability Reachability `json:"reachability,omitempty"`
	Leader       bool         `json:"leader,omitempty"`
	Addr         string       `json:"addr,omitempty"`
	// UnreachableSince is when the operator first saw this manager unreachable or down.
	// Zero means unknown, which the planner treats as past any grace period.
	UnreachableSince time.Time `json:"unreachableSince,omitempty"`
	// InFlightSince is when the operator first saw this node's role change in flight (desired
	// role and raft membership disagreeing). Zero means unknown: a snapshot from a file, or a
	// process that started since.
	InFlightSince time.Time `json:"inFlightSince,omitzero"`
	// LeftUnreachableAt is when the operator saw this node, a manager it had seen unreachable or
	// down, leave the raft member list: it was replaced. Inside replaceUnreachableAfter of that
	// the node is not promoted back: a daemon that has just restarted shows ready before it is
	// well (a replacement at once would be two role changes for nothing, and a promotion that can
	// hang while it rejoins). Zero means not seen.
	LeftUnreachableAt time.Time `json:"leftUnreachableAt,omitzero"`
	// UpdatedAt is when swarm last changed the node's object, by its leader's clock. The
	// controller reads it for a node it first sees (see controller.Options.DemotionHold).
	UpdatedAt time.Time `json:"-"`
}

// Snapshot is everything the planner knows of the swarm at one moment.
// It never needs to connect to anything.
type Snapshot struct {
	Nodes []Node `json:"nodes"`
	// Self is the ID of the node the operator runs on; empty when planning from a file.
	Self string `json:"self,omitempty"`
	// Time is when the snapshot was taken.
	Time time.Time `json:"time"`
	// ClusterError is set when the swarm could not be observed because it has no leader
	// (quorum lost or an election that did not finish); the planner then blocks.
	ClusterError string `json:"clusterError,omitempty"`
	// Maintenance is the maintenance lock read from the swarm, valid or expired; nil if none.
	Maintenance *MaintenanceLock `json:"maintenance,omitempty"`
	// MaintenanceError says why the maintenance label could not be read as a lock.
	MaintenanceError string `json:"maintenanceError,omitempty"`
}

// Action is what a step does to one node.
type Action string

// Actions. Promote and Demote are the role changes; what each means is in action.go.
const (
	ActionPromote  Action = "promote"
	ActionDemote   Action = "demote"
	ActionDrain    Action = "drain"
	ActionActivate Action = "activate"
	ActionPause    Action = "pause"
	ActionLabel    Action = "label"
	ActionRemove   Action = "remove"
)

// LabelChange is what a label step adds (or overwrites) and removes.
type LabelChange struct {
	Add    map[string]string `json:"add,omitempty"`
	Remove []string          `json:"remove,omitempty"`
}

// Edits lists the change as +key=value and -key, sorted so that output is stable.
func (c *LabelChange) Edits() []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(c.Add)) {
		out = append(out, "+"+k+"="+c.Add[k])
	}
	removes := slices.Clone(c.Remove)
	slices.Sort(removes)
	for _, k := range removes {
		out = append(out, "-"+k)
	}
	return out
}

// Step is one change to one node.
type Step struct {
	Action   Action `json:"action"`
	Node     string `json:"node"`
	Hostname string `json:"hostname"`
	Zone     string `json:"zone,omitempty"`
	// Labels is shared by the steps of one plan that make the same change: read it, never
	// change it.
	Labels *LabelChange `json:"labels,omitempty"`
	Reason string       `json:"reason"`
	// FaultTolerance is the model's fault tolerance once this step has settled.
	FaultTolerance int `json:"faultTolerance"`
	// Tasks is how many tasks a drain moves off the node: filled in by the controller when it
	// has read the tasks (nil when not read, as when planning from a snapshot file).
	Tasks *int `json:"tasks,omitempty"`
}

// MovesTasks reports whether the step stops the tasks on its node: a drain.
func (st Step) MovesTasks() bool { return st.Action.Availability() == spec.AvailabilityDrain }

// Summary is the control plane's shape at one point of a plan.
type Summary struct {
	Managers       int            `json:"managers"`
	Reachable      int            `json:"reachable"`
	FaultTolerance int            `json:"faultTolerance"`
	Zones          map[string]int `json:"zones"`
}

// InFlight is a role change already asked for that swarm has not finished.
type InFlight struct {
	Node     string `json:"node"`
	Hostname string `json:"hostname"`
	// To is the role the node is becoming.
	To Role `json:"to"`
	// Since is when the operator first saw it in flight; zero when unknown (Node.InFlightSince).
	Since time.Time `json:"since,omitzero"`
	// Stuck is set for a promotion that cannot complete now (PromotionStuck), or a member left
	// behind by a demotion (DemotionStuck), which swarm never removes: it holds every
	// other promote, demote and removal until it completes or its node leaves the swarm.
	Stuck bool `json:"stuck,omitempty"`
	// Reason says why it has not completed, and Advice what a human can do; set when Stuck.
	Reason string `json:"reason,omitempty"`
	Advice string `json:"advice,omitempty"`
}

// Plan is the planner's answer.
type Plan struct {
	Steps    []Step     `json:"steps"`
	InFlight []InFlight `json:"inFlight,omitempty"`
	Warnings []string   `json:"warnings"`
	// Blocked says why nothing may be done; empty when the plan may proceed.
	Blocked string `json:"blocked"`
	// Unmet says why the nodes there are cannot meet the file (too few eligible nodes for the
	// count or a zone, a manager that should go but nothing can replace). The plan still does
	// the safe part; once it is done the swarm is as close to the file as it can get, but it
	// does not match it, so the plan is not converged. Empty when the file can be met.
	Unmet  []string `json:"unmet,omitempty"`
	Before Summary  `json:"before"`
	After  Summary  `json:"after"`
	// LowestFaultTolerance is the lowest fault tolerance at any point of the plan.
	LowestFaultTolerance int `json:"lowestFaultTolerance"`
	// Floor is min(fault tolerance before, fault tolerance of the target): no step may go below it.
	Floor int `json:"floor"`
	// Time is the snapshot's time.
	Time time.Time `json:"time"`
	// Maintenance is the valid maintenance lock, if a node is in maintenance.
	Maintenance *MaintenanceLock `json:"maintenance,omitempty"`
}

// Converged reports whether the swarm matches the file: nothing left to do or wait for, and
// nothing the file asks for that the nodes cannot give.
func (p *Plan) Converged() bool {
	return p.Idle() && len(p.Unmet) == 0
}

// Idle reports whether there is nothing left to do or wait for, whether or not the file is met.
func (p *Plan) Idle() bool {
	return p.Blocked == "" && len(p.Steps) == 0 && len(p.InFlight) == 0
}
