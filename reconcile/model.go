package reconcile

import (
	"fmt"
	"slices"
)

// model is the swarm as the quorum model tracks it while a plan is replayed: one step at a
// time, in place, so that replaying a plan costs what the plan costs, not steps × nodes. The
// nodes it starts from are shared and never written: a node a step changes is copied first.
type model struct {
	base []Node
	// changed holds the copies of the nodes steps have changed, by position in base.
	changed map[int]*Node
	// index maps node IDs to positions in base. It is never written once made, so models of
	// the same nodes share it; a removed node is marked gone instead.
	index map[string]int
	// lastID and lastPos remember the last lookup: a replay checks a step, then plays it.
	lastID   string
	lastPos  int
	gone     map[int]bool
	raft     raftState
	inFlight map[string]bool
	// full says whether label steps are played. Replays that only check quorum turn it off:
	// a label step changes no role, availability or membership, and playing it would copy
	// every labelled node.
	full bool
}

func newModel(nodes []Node) *model { return newModelOf(nodes, indexOf(nodes), true) }

// newModelOf models nodes, which it never changes; index must be indexOf(nodes).
func newModelOf(nodes []Node, index map[string]int, full bool) *model {
	m := &model{base: nodes, changed: map[int]*Node{}, index: index, gone: map[int]bool{}, inFlight: map[string]bool{}, full: full}
	for i := range nodes {
		if RoleInFlight(&nodes[i]) {
			m.inFlight[nodes[i].ID] = true
		}
	}
	m.raft = memberState(nodes)
	return m
}

func indexOf(nodes []Node) map[string]int {
	index := make(map[string]int, len(nodes))
	for i := range nodes {
		index[nodes[i].ID] = i
	}
	return index
}

// at is node i as it is now, to read.
func (m *model) at(i int) *Node {
	if n, ok := m.changed[i]; ok {
		return n
	}
	return &m.base[i]
}

// mut is node i as it is now, to change.
func (m *model) mut(i int) *Node {
	if n, ok := m.changed[i]; ok {
		return n
	}
	n := m.base[i]
	m.changed[i] = &n
	return &n
}

// pos is the position of the node with that ID, false when there is none (any more).
func (m *model) pos(id string) (int, bool) {
	i, ok := m.lastPos, m.lastID == id && id != ""
	if !ok {
		i, ok = m.index[id]
		if ok {
			m.lastID, m.lastPos = id, i
		}
	}
	return i, ok && !m.gone[i]
}

func (m *model) node(id string) *Node {
	i, ok := m.pos(id)
	if !ok {
		return nil
	}
	return m.at(i)
}

// result returns the nodes as they are now.
func (m *model) result() []Node {
	out := make([]Node, 0, len(m.base)-len(m.gone))
	for i := range m.base {
		if !m.gone[i] {
			out = append(out, *m.at(i))
		}
	}
	return out
}

// electLeader moves leadership on when the leader has left.
func (m *model) electLeader() {
	// As electLeader on a slice: the first member that leads keeps it, members before it and
	// non-members lose it; with no leading member the first reachable one leads.
	for i := range m.base {
		n := m.at(i)
		if !n.Member {
			if n.Leader {
				m.mut(i).Leader = false
			}
		} else if n.Leader {
			return
		}
	}
	for i := range m.base {
		if n := m.at(i); n.Member && n.Reachability == ReachabilityReachable {
			m.mut(i).Leader = true
			return
		}
	}
}

// apply plays one step as it is once settled: a promoted node is a reachable member, a demoted
// one has left the raft.
func (m *model) apply(st Step) {
	if st.Action == ActionLabel && !m.full {
		return
	}
	i, ok := m.pos(st.Node)
	if !ok {
		return
	}
	n := m.mut(i)
	m.raft = m.raft.without(n)
	n.Version++
	a := actions[st.Action]
	if a.removes {
		m.gone[i] = true
		n.Member = false
	} else {
		a.effect(n, st)
	}
	m.raft = m.raft.with(n)
	delete(m.inFlight, n.ID)
	if !a.removes && RoleInFlight(n) {
		m.inFlight[n.ID] = true
	}
	if !n.Member && n.Leader {
		n.Leader = false
		m.electLeader()
	}
}

// ApplyStep returns the nodes as they are once st has settled, as the quorum model sees it.
// The input is not changed.
func ApplyStep(nodes []Node, st Step) []Node {
	m := newModel(nodes)
	m.apply(st)
	return m.result()
}

// Settle returns the nodes as they are once every role change in flight that can finish now has
// finished. A stuck promotion (PromotionStuck) stays as it is: it finishes only when its node
// returns, and until then it holds every other membership change.
func Settle(nodes []Node) []Node {
	out := make([]Node, len(nodes))
	for i, n := range nodes {
		if RoleInFlight(&n) && !PromotionStuck(&n) {
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

// verify replays the plan on the quorum model with the same check the controller runs before
// every call, and fills in the fault tolerance of each step, the floor and the summaries.
// start is Settle(s.Nodes) and index indexOf(start).
// final is the model once every step is played (keepQuorum's).
func verify(p *Plan, s *Snapshot, start []Node, index map[string]int, final *model, zoneLabel string) error {
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
	p.After = final.summarize(zoneLabel, zonesSet(p.Steps, zoneLabel))
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

// summarize is summarize of m.result(), without making it.
func (m *model) summarize(zoneLabel string, zones map[string]string) Summary {
	sum := Summary{Managers: m.raft.members, Reachable: m.raft.reachable, FaultTolerance: m.raft.ft(), Zones: map[string]int{}}
	for i := range m.base {
		if n := m.at(i); n.Member && !m.gone[i] {
			sum.Zones[zoneOf(n, zoneLabel, zones)]++
		}
	}
	return sum
}

func zoneOf(n *Node, zoneLabel string, zones map[string]string) string {
	z, ok := zones[n.ID]
	if !ok {
		z = n.Labels[zoneLabel]
	}
	if z == "" {
		z = NoZone
	}
	return z
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
			sum.Zones[zoneOf(&nodes[i], zoneLabel, zones)]++
		}
	}
	return sum
}
