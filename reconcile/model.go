package reconcile

import (
	"fmt"
	"github.com/swarmtopo/swarmtopo/spec"
	"maps"
	"slices"
)

// model is the swarm as the quorum model tracks it while a plan is replayed: one step at a
// time, in place, so that replaying a plan costs what the plan costs, not steps × nodes.
type model struct {
	nodes []Node
	// index maps node IDs to positions in nodes. It is never written once made, so models of
	// the same nodes share it; a removed node is marked gone instead.
	index    map[string]int
	gone     map[int]bool
	raft     raftState
	inFlight map[string]bool
	// labels says whether label steps change the model's labels. Replays that only check
	// quorum turn it off: labels decide no check, and copying them is most of a replay's cost.
	labels bool
}

func newModel(nodes []Node) *model { return newModelOf(nodes, indexOf(nodes), true) }

// newModelOf models a copy of nodes; index must be indexOf(nodes) or of nodes in the same order.
func newModelOf(nodes []Node, index map[string]int, labels bool) *model {
	m := &model{nodes: slices.Clone(nodes), index: index, gone: map[int]bool{}, inFlight: map[string]bool{}, labels: labels}
	for i := range m.nodes {
		if RoleInFlight(&m.nodes[i]) {
			m.inFlight[m.nodes[i].ID] = true
		}
	}
	m.raft = memberState(m.nodes)
	return m
}

func indexOf(nodes []Node) map[string]int {
	index := make(map[string]int, len(nodes))
	for i := range nodes {
		index[nodes[i].ID] = i
	}
	return index
}

func (m *model) node(id string) *Node {
	i, ok := m.index[id]
	if !ok || m.gone[i] {
		return nil
	}
	return &m.nodes[i]
}

// result returns the nodes as they are now.
func (m *model) result() []Node {
	if len(m.gone) == 0 {
		return m.nodes
	}
	out := make([]Node, 0, len(m.nodes)-len(m.gone))
	for i := range m.nodes {
		if !m.gone[i] {
			out = append(out, m.nodes[i])
		}
	}
	return out
}

// apply plays one step as it is once settled: a promoted node is a reachable member, a demoted
// one has left the raft.
func (m *model) apply(st Step) {
	i, ok := m.index[st.Node]
	if !ok || m.gone[i] {
		return
	}
	n := &m.nodes[i]
	if n.Member {
		m.raft.members--
		if n.Reachability == ReachabilityReachable {
			m.raft.reachable--
		}
	}
	n.Version++
	switch st.Action {
	case ActionRemove:
		m.gone[i] = true
		n.Member = false
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
		if !m.labels {
			break
		}
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
	if n.Member {
		m.raft.members++
		if n.Reachability == ReachabilityReachable {
			m.raft.reachable++
		}
	}
	delete(m.inFlight, n.ID)
	if st.Action != ActionRemove && RoleInFlight(n) {
		m.inFlight[n.ID] = true
	}
	if !n.Member && n.Leader {
		n.Leader = false
		electLeader(m.nodes)
	}
}

// ApplyStep returns the nodes as they are once st has settled, as the quorum model sees it.
// The input is not changed.
func ApplyStep(nodes []Node, st Step) []Node {
	m := newModel(nodes)
	m.apply(st)
	return m.result()
}

// Settle returns the nodes as they are once every role change in flight has finished.
func Settle(nodes []Node) []Node {
	out := make([]Node, len(nodes))
	for i, n := range nodes {
		if RoleInFlight(&n) {
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
// start is Settle(s.Nodes) and index indexOf(start).
func verify(p *Plan, s *Snapshot, start []Node, index map[string]int, zoneLabel string) error {
	final := newModelOf(start, index, false)
	for _, st := range p.Steps {
		final.apply(st)
	}
	ftBefore := memberState(s.Nodes).ft()
	ftStart := memberState(start).ft()
	p.Floor = min(ftBefore, ftStart, final.raft.ft())
	p.LowestFaultTolerance = min(ftBefore, ftStart)
	cur := newModelOf(start, index, false)
	for i := range p.Steps {
		st := &p.Steps[i]
		if err := cur.check(*st, p.Floor); err != nil {
			return fmt.Errorf("%w: step %d (%s %s): %w", ErrUnsafePlan, i+1, st.Action, st.Hostname, err)
		}
		cur.apply(*st)
		st.FaultTolerance = cur.raft.ft()
		p.LowestFaultTolerance = min(p.LowestFaultTolerance, st.FaultTolerance)
	}
	p.After = summarize(final.result(), zoneLabel, zonesSet(p.Steps, zoneLabel))
	return nil
}

// zonesSet returns the zone label each label step leaves on its node, by node ID: the replays
// leave labels alone (see model.labels).
func zonesSet(steps []Step, zoneLabel string) map[string]string {
	var zones map[string]string
	for _, st := range steps {
		if st.Action != ActionLabel || st.Labels == nil {
			continue
		}
		v, set := st.Labels.Add[zoneLabel]
		if !set && !slices.Contains(st.Labels.Remove, zoneLabel) {
			continue
		}
		if zones == nil {
			zones = map[string]string{}
		}
		zones[st.Node] = v
	}
	return zones
}

// NoZone is the key under which a summary counts managers without a zone label.
const NoZone = "(none)"

// summarize counts the managers, reachable managers and managers per zone. zones, when it has
// the node's ID, overrides the node's zone label.
func summarize(nodes []Node, zoneLabel string, zones map[string]string) Summary {
	r := memberState(nodes)
	sum := Summary{Managers: r.members, Reachable: r.reachable, FaultTolerance: r.ft(), Zones: map[string]int{}}
	for i := range nodes {
		if nodes[i].Member {
			z, ok := zones[nodes[i].ID]
			if !ok {
				z = nodes[i].Labels[zoneLabel]
			}
			if z == "" {
				z = NoZone
			}
			sum.Zones[z]++
		}
	}
	return sum
}
