package reconcile

import (
	"fmt"
	"slices"
)

// model is the swarm as the quorum model tracks it while a plan is replayed: one step at a
// time, in place, so that replaying a plan costs what the plan costs, not steps × nodes.
type model struct {
	nodes    []Node
	index    map[string]int
	gone     map[int]bool
	raft     raftState
	inFlight map[string]bool
}

func newModel(nodes []Node) *model {
	m := &model{nodes: slices.Clone(nodes), index: make(map[string]int, len(nodes)), gone: map[int]bool{}, inFlight: map[string]bool{}}
	for i := range m.nodes {
		m.index[m.nodes[i].ID] = i
		if RoleInFlight(&m.nodes[i]) {
			m.inFlight[m.nodes[i].ID] = true
		}
	}
	m.raft = memberState(m.nodes)
	return m
}

func (m *model) node(id string) *Node {
	i, ok := m.index[id]
	if !ok {
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
	if !ok {
		return
	}
	n := &m.nodes[i]
	m.raft = m.raft.without(n)
	n.Version++
	a := actions[st.Action]
	if a.removes {
		delete(m.index, st.Node)
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
func verify(p *Plan, s *Snapshot, zoneLabel string) error {
	start := Settle(s.Nodes)
	final := newModel(start)
	for _, st := range p.Steps {
		final.apply(st)
	}
	ftBefore := memberState(s.Nodes).ft()
	ftStart := memberState(start).ft()
	p.Floor = min(ftBefore, ftStart, final.raft.ft())
	p.LowestFaultTolerance = min(ftBefore, ftStart)
	cur := newModel(start)
	for i := range p.Steps {
		st := &p.Steps[i]
		if err := cur.check(*st, p.Floor); err != nil {
			return fmt.Errorf("%w: step %d (%s %s): %w", ErrUnsafePlan, i+1, st.Action, st.Hostname, err)
		}
		cur.apply(*st)
		st.FaultTolerance = cur.raft.ft()
		p.LowestFaultTolerance = min(p.LowestFaultTolerance, st.FaultTolerance)
	}
	p.After = summarize(final.result(), zoneLabel)
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
