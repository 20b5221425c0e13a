package fakeswarm

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"
)

// Defaults for how many read calls the asynchronous changes take.
const (
	DefaultPromoteAfter  = 4
	DefaultDemoteAfter   = 4
	DefaultElectionReads = 4
)

// NodeConfig describes one node for New and AddNode. Zero values: a ready, active worker.
type NodeConfig struct {
	// ID defaults to a stable 25-character ID derived from the hostname.
	ID       string
	Hostname string
	Manager  bool
	Leader   bool
	// Reachability of a manager; reachable if empty.
	Reachability swarm.Reachability
	State        swarm.NodeState
	Availability swarm.NodeAvailability
	Labels       map[string]string
	// NeverJoins makes a promote of this node stay stored and never reach raft.
	NeverJoins bool
	// JoinsUnreachable makes a promote of this node join raft but never become reachable.
	JoinsUnreachable bool
	// JoinedVia is the ID of the manager the node joined the swarm through. In virtual-time
	// mode a promote of the node cannot join raft while that manager is away (moby#34835).
	JoinedVia string
}

// Call is one mutating call, recorded whether it succeeded or not.
type Call struct {
	Method  string // "NodeUpdate" or "NodeRemove"
	Node    string
	Version uint64 // NodeUpdate only
	Spec    swarm.NodeSpec
	Force   bool // NodeRemove only
	Err     error
}

type node struct {
	n                swarm.Node
	neverJoins       bool
	joinsUnreachable bool
	joinAt, leaveAt  int // read tick at which a pending role change completes; 0 none

	// Virtual-time mode only (see SetNow).
	joinedVia string // the manager this node joined the swarm through
	away      awayKind
	blocked   bool      // a promote waits for joinedVia to come back (moby#34835)
	wasLeader bool      // led when it went away: its return forces an election
	awayAt    time.Time // when it went away, while it is
	leftAt    time.Time // left raft by a demotion and holds no worker certificate yet
	ghost     bool      // rejoined raft after its demotion, then stopped its manager
	gen       int       // bumped whenever the daemon's state changes, to cancel stale timers
}

// Swarm is the fake. Its zero value is not usable; call New.
type Swarm struct {
	// PromoteAfter, DemoteAfter and ElectionReads say how many read calls a promote, a demote
	// and a leader election take. Set them before the swarm is used.
	PromoteAfter, DemoteAfter, ElectionReads int
	// OnMutate, if set before use, is called after every mutating call, outside the lock.
	OnMutate func(Call)

	mu       sync.Mutex
	index    uint64
	order    []string
	nodes    map[string]*node
	self     string
	reads    int
	calls    []Call
	election int // reads left without a leader

	quorumLost   bool
	hangCalls    bool
	hangInfo     bool
	loseOnUnhang bool

	subs          []*sub
	subscriptions int
	muted         bool

	lowestFT  int
	everLost  bool
	createdAt time.Time

	// OnEvent, if set before use, is called with every event the fake emits (muted or not),
	// under the fake's lock: it must not call back into the fake.
	OnEvent func(events.Message)
	// Timing is the virtual-time mode's delays; zero fields take DefaultTiming's.
	Timing Timing

	changes         int
	now             func() time.Time
	timers          []timer
	timerSeq        int
	leaderlessUntil time.Time
	unknownFrom     time.Time
	unknownUntil    time.Time
	lostAt          time.Time
}

// New returns a swarm holding nodes. The operator's own node (Self) is the leader, or the first
// manager if none is marked leader; that manager becomes the leader.
func New(nodes ...NodeConfig) *Swarm {
	s := &Swarm{
		PromoteAfter:  DefaultPromoteAfter,
		DemoteAfter:   DefaultDemoteAfter,
		ElectionReads: DefaultElectionReads,
		index:         10,
		nodes:         map[string]*node{},
		createdAt:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	for _, c := range nodes {
		s.AddNode(c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var firstManager string
	for _, id := range s.order {
		n := s.nodes[id]
		if n.n.ManagerStatus == nil {
			continue
		}
		if firstManager == "" && n.n.ManagerStatus.Reachability == swarm.ReachabilityReachable {
			firstManager = id
		}
		if n.n.ManagerStatus.Leader {
			s.self = id
		}
	}
	if s.self == "" && firstManager != "" {
		s.self = firstManager
		s.nodes[firstManager].n.ManagerStatus.Leader = true
	}
	s.lowestFT = s.ftLocked()
	return s
}

// AddNode adds a node and returns its ID.
func (s *Swarm) AddNode(c NodeConfig) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := c.ID
	if id == "" {
		id = StableID(c.Hostname)
	}
	if _, dup := s.nodes[id]; dup {
		panic("fakeswarm: duplicate node ID " + id)
	}
	n := swarm.Node{
		ID: id,
		Meta: swarm.Meta{
			Version:   swarm.Version{Index: s.bumpLocked()},
			CreatedAt: s.createdAt,
			UpdatedAt: s.createdAt,
		},
		Spec: swarm.NodeSpec{
			Annotations:  swarm.Annotations{Labels: maps.Clone(c.Labels)},
			Role:         swarm.NodeRoleWorker,
			Availability: c.Availability,
		},
		Description: swarm.NodeDescription{
			Hostname: c.Hostname,
			Platform: swarm.Platform{Architecture: "x86_64", OS: "linux"},
			Engine:   swarm.EngineDescription{EngineVersion: "28.5.2"},
		},
		Status: swarm.NodeStatus{State: c.State, Addr: fmt.Sprintf("10.213.7.%d", len(s.order)+11)},
	}
	if n.Spec.Labels == nil {
		n.Spec.Labels = map[string]string{}
	}
	if n.Spec.Availability == "" {
		n.Spec.Availability = swarm.NodeAvailabilityActive
	}
	if n.Status.State == "" {
		n.Status.State = swarm.NodeStateReady
	}
	if c.Manager {
		n.Spec.Role = swarm.NodeRoleManager
		r := c.Reachability
		if r == "" {
			r = swarm.ReachabilityReachable
		}
		n.ManagerStatus = &swarm.ManagerStatus{Leader: c.Leader, Reachability: r, Addr: n.Status.Addr + ":2377"}
	}
	s.nodes[id] = &node{n: n, neverJoins: c.NeverJoins, joinsUnreachable: c.JoinsUnreachable, joinedVia: c.JoinedVia}
	s.order = append(s.order, id)
	return id
}

// StableID is the ID AddNode gives a node without one: 25 lowercase base32 characters, like
// swarm's, derived from the hostname so tests and golden files stay stable.
func StableID(hostname string) string {
	sum := sha256.Sum256([]byte(hostname))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:]))[:25]
}

// Self is the ID of the node the fake daemon runs on (Info().Swarm.NodeID).
func (s *Swarm) Self() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.self
}

// SetSelf changes which node answers the calls.
func (s *Swarm) SetSelf(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.self = id
}

// ID returns the ID of the node with hostname h, or "".
func (s *Swarm) ID(hostname string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.order {
		if s.nodes[id].n.Description.Hostname == hostname {
			return id
		}
	}
	return ""
}

// Nodes returns a copy of every node, whatever faults are injected.
func (s *Swarm) Nodes() []swarm.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listLocked()
}

// Node returns a copy of one node by ID or hostname, whatever faults are injected.
func (s *Swarm) Node(idOrHostname string) (swarm.Node, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.order {
		if n := s.nodes[id]; id == idOrHostname || n.n.Description.Hostname == idOrHostname {
			return copyNode(n.n), true
		}
	}
	return swarm.Node{}, false
}

// Calls returns every mutating call made so far.
func (s *Swarm) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Reads returns how many read calls were made: the fake's clock for asynchronous changes.
func (s *Swarm) Reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// FaultTolerance is reachable managers minus quorum, from the fake's own state.
func (s *Swarm) FaultTolerance() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ftLocked()
}

// LowestFaultTolerance is the lowest fault tolerance the swarm has had since New or the last
// ResetLowest, and whether quorum was lost at any point (a leaderless election included).
func (s *Swarm) LowestFaultTolerance() (lowest int, quorumLost bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lowestFT, s.everLost
}

// ResetLowest starts LowestFaultTolerance over from the current state.
func (s *Swarm) ResetLowest() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lowestFT, s.everLost = s.ftLocked(), false
}

// Managers returns the hostnames of raft members, in insertion order.
func (s *Swarm) Managers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range s.order {
		if n := s.nodes[id]; n.n.ManagerStatus != nil {
			out = append(out, n.n.Description.Hostname)
		}
	}
	return out
}

// LoseQuorum makes every node call fail with the no-leader error and Info report it, as a
// manager does once quorum is lost. RestoreQuorum undoes it.
func (s *Swarm) LoseQuorum() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quorumLost = true
	s.noteLocked()
}

// RestoreQuorum undoes LoseQuorum and HangThenLoseQuorum.
func (s *Swarm) RestoreQuorum() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quorumLost, s.hangCalls, s.loseOnUnhang = false, false, false
}

// HangThenLoseQuorum is what a manager does in the first seconds after quorum is lost: node
// calls hang (until their context ends) while Info still says nothing is wrong; once a hung call
// gives up, the swarm answers as after LoseQuorum.
func (s *Swarm) HangThenLoseQuorum() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangCalls, s.loseOnUnhang = true, true
}

// Hang makes node calls (not Info) block until their context ends.
func (s *Swarm) Hang(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangCalls = on
}

// HangInfo makes Info block until its context ends.
func (s *Swarm) HangInfo(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangInfo = on
}

// Kill stops a node's daemon: a manager becomes unreachable and the node goes down. If it led,
// another reachable manager is elected (with an election window) when quorum remains.
func (s *Swarm) Kill(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.now != nil {
		s.advanceLocked()
		s.goAwayLocked(id, killed)
		return
	}
	n := s.mustLocked(id)
	old := n.n.Status.State
	n.n.Status.State = swarm.NodeStateDown
	if ms := n.n.ManagerStatus; ms != nil {
		ms.Reachability = swarm.ReachabilityUnreachable
		if ms.Leader {
			ms.Leader = false
			if !s.noLeaderLocked() {
				s.electLocked(id)
			}
		}
	}
	s.touchLocked(n)
	s.emitLocked(nodeEvent("update", n, "state", string(old), string(swarm.NodeStateDown)))
	s.noteLocked()
}

// Revive restarts a killed node's daemon: it is ready again and, if a manager, reachable. A
// swarm that had lost quorum elects a leader again if a quorum is back.
func (s *Swarm) Revive(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.now != nil {
		s.advanceLocked()
		s.comeBackLocked(id)
		return
	}
	n := s.mustLocked(id)
	old := n.n.Status.State
	n.n.Status.State = swarm.NodeStateReady
	if ms := n.n.ManagerStatus; ms != nil {
		ms.Reachability = swarm.ReachabilityReachable
	}
	if !s.noLeaderLocked() && !s.hasLeaderLocked() {
		s.electLocked("")
	}
	s.touchLocked(n)
	s.emitLocked(nodeEvent("update", n, "state", string(old), string(swarm.NodeStateReady)))
	s.noteLocked()
}

func (s *Swarm) hasLeaderLocked() bool {
	for _, id := range s.order {
		if ms := s.nodes[id].n.ManagerStatus; ms != nil && ms.Leader {
			return true
		}
	}
	return false
}

// SetState sets a node's Status.State, e.g. down for a worker that stopped.
func (s *Swarm) SetState(id string, st swarm.NodeState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.mustLocked(id)
	old := n.n.Status.State
	n.n.Status.State = st
	s.touchLocked(n)
	s.emitLocked(nodeEvent("update", n, "state", string(old), string(st)))
}

// Touch moves a node's version without a spec change, as status updates do on a real swarm.
func (s *Swarm) Touch(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touchLocked(s.mustLocked(id))
}

// SetLabel changes a label behind the operator's back (no event is emitted).
func (s *Swarm) SetLabel(id, key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.mustLocked(id)
	n.n.Spec.Labels[key] = value
	s.touchLocked(n)
}

func (s *Swarm) mustLocked(id string) *node {
	n, ok := s.nodes[id]
	if !ok {
		panic("fakeswarm: no node " + id)
	}
	return n
}

func (s *Swarm) bumpLocked() uint64 {
	s.index++
	return s.index
}

func (s *Swarm) touchLocked(n *node) {
	s.changes++
	n.n.Version.Index = s.bumpLocked()
	n.n.UpdatedAt = n.n.UpdatedAt.Add(time.Second)
	if s.now != nil {
		n.n.UpdatedAt = s.now()
	}
}

func (s *Swarm) listLocked() []swarm.Node {
	out := make([]swarm.Node, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.shownLocked(s.nodes[id]))
	}
	return out
}

func copyNode(n swarm.Node) swarm.Node {
	n.Spec.Labels = maps.Clone(n.Spec.Labels)
	if n.ManagerStatus != nil {
		ms := *n.ManagerStatus
		n.ManagerStatus = &ms
	}
	return n
}

// members counts raft members and the reachable ones.
func (s *Swarm) membersLocked() (members, reachable int) {
	for _, id := range s.order {
		if ms := s.nodes[id].n.ManagerStatus; ms != nil {
			members++
			if ms.Reachability == swarm.ReachabilityReachable {
				reachable++
			}
		}
	}
	return members, reachable
}

func (s *Swarm) ftLocked() int {
	m, r := s.membersLocked()
	if m == 0 {
		return 0
	}
	return r - (m/2 + 1)
}

// noLeaderLocked reports whether the swarm has no leader now: quorum lost or an election.
func (s *Swarm) noLeaderLocked() bool {
	if s.quorumLost || s.election > 0 || s.now != nil && s.now().Before(s.leaderlessUntil) {
		return true
	}
	m, r := s.membersLocked()
	return m > 0 && r < m/2+1
}

// noteLocked records the invariant watermark after a state change. A leader election is not
// counted as quorum loss: the members are all there, only the leader is being chosen.
func (s *Swarm) noteLocked() {
	s.lowestFT = min(s.lowestFT, s.ftLocked())
	if m, r := s.membersLocked(); s.quorumLost || m > 0 && r < m/2+1 {
		s.everLost = true
	}
}

// electLocked makes the first reachable member other than except the leader, after an
// election window.
func (s *Swarm) electLocked(except string) {
	// A member whose demotion is pending is elected only when no other can be (virtual-time
	// mode): it would leave raft as the leader. Raft itself knows nothing of desired roles, so
	// with no other candidate it still leads, and its demotion waits (it cannot leave a swarm
	// it alone holds).
	for _, anyRole := range []bool{false, true} {
		for _, id := range s.order {
			n := s.nodes[id]
			if ms := n.n.ManagerStatus; id != except && ms != nil && ms.Reachability == swarm.ReachabilityReachable && n.away == here &&
				(s.now == nil || anyRole || n.n.Spec.Role == swarm.NodeRoleManager) {
				ms.Leader = true
				s.election = s.ElectionReads
				if s.now != nil {
					s.election = 0
					s.leaderlessLocked()
				}
				s.touchLocked(n)
				return
			}
		}
	}
}

// canRemoveMemberLocked is raft's CanRemoveMember: the reachable members left after the removal,
// the answering manager included, must be a quorum of the members left.
func (s *Swarm) canRemoveMemberLocked(id string) bool {
	members, reachable := 0, 0
	for _, oid := range s.order {
		ms := s.nodes[oid].n.ManagerStatus
		if ms == nil {
			continue
		}
		members++
		if oid == id {
			continue
		}
		if oid == s.self || ms.Reachability == swarm.ReachabilityReachable {
			reachable++
		}
	}
	return reachable >= (members-1)/2+1
}

// tickLocked is one read call: the fake's time moves on and due changes happen.
func (s *Swarm) tickLocked() {
	if s.now != nil {
		s.advanceLocked()
		return
	}
	s.reads++
	if s.election > 0 {
		s.election--
	}
	for _, id := range s.order {
		n := s.nodes[id]
		if n.joinAt > 0 && s.reads >= n.joinAt {
			s.joinLocked(n)
		}
		if n.leaveAt > 0 && s.reads >= n.leaveAt {
			s.leaveLocked(n)
		}
	}
	s.noteLocked()
}

func (s *Swarm) joinLocked(n *node) {
	switch {
	case n.n.Spec.Role != swarm.NodeRoleManager || n.n.ManagerStatus != nil:
		n.joinAt = 0
	case n.neverJoins:
		n.joinAt = 0
	case n.n.Status.State != swarm.NodeStateReady:
		n.joinAt = s.reads + 1
	default:
		n.joinAt = 0
		s.becomeMemberLocked(n)
	}
}

// becomeMemberLocked makes n a raft member (unreachable if it joinsUnreachable), as a completed
// promotion does in both modes of the fake.
func (s *Swarm) becomeMemberLocked(n *node) {
	r := swarm.ReachabilityReachable
	if n.joinsUnreachable {
		r = swarm.ReachabilityUnreachable
	}
	n.n.ManagerStatus = &swarm.ManagerStatus{Reachability: r, Addr: n.n.Status.Addr + ":2377"}
	s.touchLocked(n)
	s.emitLocked(nodeEvent("update", n, "role", "worker", "manager"))
}

func (s *Swarm) leaveLocked(n *node) {
	switch {
	case n.n.Spec.Role != swarm.NodeRoleWorker || n.n.ManagerStatus == nil:
		n.leaveAt = 0
	case s.election > 0 || !s.canRemoveMemberLocked(n.n.ID):
		// The role manager retries (every 5 s on a real daemon).
		n.leaveAt = s.reads + 1
	default:
		n.leaveAt = 0
		n.n.ManagerStatus = nil
		s.touchLocked(n)
		s.emitLocked(nodeEvent("update", n, "role", "manager", "worker"))
	}
}
