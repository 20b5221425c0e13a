package fakeswarm

import (
	"slices"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// Timing is how long the daemon's asynchronous work takes in virtual-time mode (SetNow). The
// defaults follow what docs/swarm-behaviour.md records of real swarms.
type Timing struct {
	// Promote is how long a stored promote takes to join raft and become reachable.
	Promote time.Duration
	// Demote is how long a stored demote takes to leave raft when nothing refuses it.
	Demote time.Duration
	// Retry is how often the role manager retries a demotion it could not make: 5 s.
	Retry time.Duration
	// Election is how long the swarm has no leader after the leader goes away or returns.
	Election time.Duration
	// Detect is how long the others still list a manager reachable after it went away.
	Detect time.Duration
	// Down is how long until a node that went away (or cannot join raft) shows down.
	Down time.Duration
	// Unknown is how long nodes show "unknown" after a new leader is elected.
	Unknown time.Duration
	// QuorumHang is how long node calls hang once quorum is lost, before they fail with
	// "The swarm does not have a leader".
	QuorumHang time.Duration
	// WorkerCert is how long a node that left raft by a demotion takes to hold its worker
	// certificate while the swarm has a leader (5.7 to 10 s on the lab). Until then it still
	// holds its manager certificate, which lets it join raft again.
	WorkerCert time.Duration
	// Rejoin is how long such a node waits for its worker certificate before it starts its
	// manager again and joins raft anew: swarm's node waits 16 s, forces a renewal, and waits
	// 16 s more (swarmkit#1991).
	Rejoin time.Duration
}

// DefaultTiming is the virtual-time mode's delays when Swarm.Timing leaves a field zero.
var DefaultTiming = Timing{
	Promote:    3 * time.Second,
	Demote:     time.Second,
	Retry:      5 * time.Second,
	Election:   5 * time.Second,
	Detect:     3 * time.Second,
	Down:       10 * time.Second,
	Unknown:    2 * time.Second,
	QuorumHang: 20 * time.Second,
	WorkerCert: 6 * time.Second,
	Rejoin:     32 * time.Second,
}

// How a node's daemon is away.
type awayKind int

const (
	here        awayKind = iota
	killed               // the daemon (or its machine) is stopped
	partitioned          // the daemon runs but reaches no other node
	paused               // the daemon is frozen (SIGSTOP): it answers nobody, not even locally
)

type timer struct {
	at  time.Time
	seq int
	fn  func()
}

// SetNow switches the fake to virtual-time mode: role changes, elections, failure detection and
// the demotion retries take the durations of Timing on the clock now, instead of counting read
// calls. Call it before the swarm is used. Kill and Revive then also take time, and Partition,
// Heal, Pause and Resume become available.
func (s *Swarm) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
	t, d := &s.Timing, DefaultTiming
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&t.Promote, d.Promote}, {&t.Demote, d.Demote}, {&t.Retry, d.Retry}, {&t.Election, d.Election},
		{&t.Detect, d.Detect}, {&t.Down, d.Down}, {&t.Unknown, d.Unknown}, {&t.QuorumHang, d.QuorumHang},
		{&t.WorkerCert, d.WorkerCert}, {&t.Rejoin, d.Rejoin},
	} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
}

// Advance applies the changes due by now (virtual-time mode). Every call does it too.
func (s *Swarm) Advance() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked()
}

// NextChange is when the next scheduled change is due, in virtual-time mode.
func (s *Swarm) NextChange() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.timers) == 0 {
		return time.Time{}, false
	}
	return s.timers[0].at, true
}

func (s *Swarm) atLocked(d time.Duration, fn func()) {
	s.timerSeq++
	t := timer{at: s.now().Add(d), seq: s.timerSeq, fn: fn}
	i, _ := slices.BinarySearchFunc(s.timers, t, func(a, b timer) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	s.timers = slices.Insert(s.timers, i, t)
}

func (s *Swarm) advanceLocked() {
	now := s.now()
	for len(s.timers) > 0 && !s.timers[0].at.After(now) {
		t := s.timers[0]
		s.timers = s.timers[1:]
		t.fn()
	}
	s.checkQuorumLocked()
	s.noteLocked()
}

// later runs fn after d unless the node's daemon state changed in between.
func (s *Swarm) laterLocked(n *node, d time.Duration, fn func()) {
	gen := n.gen
	s.atLocked(d, func() {
		if n.gen == gen {
			fn()
		}
	})
}

// checkQuorumLocked notes when quorum was lost, for the calls that hang a while after it.
func (s *Swarm) checkQuorumLocked() {
	m, r := s.membersLocked()
	lost := m > 0 && r < m/2+1
	switch {
	case lost && s.lostAt.IsZero():
		s.lostAt = s.now()
	case !lost:
		s.lostAt = time.Time{}
	}
}

// leaderlessLocked opens an election window; once it ends, nodes show "unknown" for a while.
func (s *Swarm) leaderlessLocked() {
	now := s.now()
	s.leaderlessUntil = later(s.leaderlessUntil, now.Add(s.Timing.Election))
	s.unknownFrom = s.leaderlessUntil
	s.unknownUntil = s.leaderlessUntil.Add(s.Timing.Unknown)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// shownLocked is a node as the daemon lists it: in virtual-time mode, right after an election
// every ready node but the leader shows "unknown" until it reports to the new leader.
func (s *Swarm) shownLocked(n *node) swarm.Node {
	out := copyNode(n.n)
	if s.now == nil || out.Status.State != swarm.NodeStateReady {
		return out
	}
	if now := s.now(); !now.Before(s.unknownFrom) && now.Before(s.unknownUntil) &&
		(out.ManagerStatus == nil || !out.ManagerStatus.Leader) {
		out.Status.State = swarm.NodeStateUnknown
	}
	return out
}

// hangsLocked reports whether a call answered by node self hangs now (virtual-time mode): a
// paused daemon answers nothing; a partitioned one answers Info but cannot serve node calls;
// the survivors hang node calls for a while once quorum is lost.
func (s *Swarm) hangsLocked(self string, info bool) bool {
	s.advanceLocked()
	if n, ok := s.nodes[self]; ok {
		switch n.away {
		case paused:
			return true
		case partitioned:
			return !info
		}
	}
	return !info && !s.lostAt.IsZero() && s.now().Before(s.lostAt.Add(s.Timing.QuorumHang))
}

// Hangs reports whether a call to the view's node hangs now (virtual-time mode): a caller that
// bounds calls by a deadline can then wait for the deadline itself.
func (v *View) Hangs(info bool) bool {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	if v.s.now == nil {
		return info && v.s.hangInfo || !info && v.s.hangCalls
	}
	return v.s.hangsLocked(v.self, info)
}

// roleStoredLocked schedules what the role manager does with a role just stored.
func (s *Swarm) roleStoredLocked(n *node, demote bool) {
	n.joinAt, n.leaveAt, n.blocked = 0, 0, false
	n.leftAt = time.Time{} // a promote gets it a manager certificate anyway
	if demote {
		d := s.Timing.Demote
		if ms := n.n.ManagerStatus; ms.Leader && s.successorLocked(n.n.ID) {
			// Leadership moves first; the swarm has no leader until the election ends.
			ms.Leader = false
			s.electLocked(n.n.ID)
			d = s.leaderlessUntil.Sub(s.now()) + s.Timing.Demote
		}
		s.atLocked(d, func() { s.tryLeaveLocked(n) })
		return
	}
	if n.n.Spec.Role == swarm.NodeRoleManager && n.n.ManagerStatus == nil {
		s.atLocked(s.Timing.Promote, func() { s.tryJoinLocked(n) })
	}
}

func (s *Swarm) tryLeaveLocked(n *node) {
	if _, ok := s.nodes[n.n.ID]; !ok || n.n.Spec.Role != swarm.NodeRoleWorker || n.n.ManagerStatus == nil || n.ghost {
		return
	}
	if s.noLeaderLocked() || !s.canRemoveMemberLocked(n.n.ID) {
		s.atLocked(s.Timing.Retry, func() { s.tryLeaveLocked(n) })
		return
	}
	if ms := n.n.ManagerStatus; ms.Leader {
		if !s.successorLocked(n.n.ID) {
			// Every other member is leaving too: the leader removes them first and stays.
			s.atLocked(s.Timing.Retry, func() { s.tryLeaveLocked(n) })
			return
		}
		// Leadership moves first, as for a demote sent to the leader.
		ms.Leader = false
		s.electLocked(n.n.ID)
		s.atLocked(s.leaderlessUntil.Sub(s.now())+s.Timing.Demote, func() { s.tryLeaveLocked(n) })
		return
	}
	n.n.ManagerStatus = nil
	s.touchLocked(n)
	s.emitLocked(nodeEvent("update", n, "role", "manager", "worker"))
	s.noteLocked()
	s.leftRaftLocked(n)
}

// successorLocked reports whether a reachable member other than id is to stay a manager: one
// that can take the lead from id without leaving raft itself.
func (s *Swarm) successorLocked(id string) bool {
	for _, oid := range s.order {
		o := s.nodes[oid]
		if ms := o.n.ManagerStatus; oid != id && ms != nil && ms.Reachability == swarm.ReachabilityReachable && o.away == here &&
			o.n.Spec.Role == swarm.NodeRoleManager {
			return true
		}
	}
	return false
}

// leftRaftLocked starts a demoted node's wait for its worker certificate. Swarm removes the
// member first and writes the worker role later; the certificate authority signs the role
// written, and only a leader runs it. Until the node holds a worker certificate it may start
// its manager again and join raft anew (after Rejoin), and once that certificate comes it stops
// that manager and leaves a member behind that nothing removes.
//
// A node that was away when it left gets no such window: by the time it is back swarm has long
// written its worker role, and its first renewal brings a worker certificate.
func (s *Swarm) leftRaftLocked(n *node) {
	if n.away != here {
		return
	}
	n.leftAt = s.now()
	left := n.leftAt
	s.atLocked(s.Timing.WorkerCert, func() { s.certifyLocked(n, left) })
	s.atLocked(s.Timing.Rejoin, func() { s.rejoinLocked(n, left) })
}

// certifyLocked gives the node that left raft at left its worker certificate, once a leader
// can sign it and the node can ask.
func (s *Swarm) certifyLocked(n *node, left time.Time) {
	if _, ok := s.nodes[n.n.ID]; !ok || !n.leftAt.Equal(left) {
		return
	}
	if s.noLeaderLocked() || n.away != here {
		s.atLocked(s.Timing.Retry, func() { s.certifyLocked(n, left) })
		return
	}
	n.leftAt = time.Time{}
	if ms := n.n.ManagerStatus; ms != nil {
		// It had joined raft again: with a worker certificate it stops its manager, and its
		// member stays, unreachable, with nothing in swarm to remove it.
		n.ghost = true
		ms.Reachability = swarm.ReachabilityUnreachable
		s.touchLocked(n)
		s.checkQuorumLocked()
		s.noteLocked()
	}
}

// rejoinLocked is the node, still without a worker certificate, starting its manager again and
// joining raft under a new raft ID; it keeps trying until a leader takes it.
func (s *Swarm) rejoinLocked(n *node, left time.Time) {
	if _, ok := s.nodes[n.n.ID]; !ok || !n.leftAt.Equal(left) || n.n.ManagerStatus != nil {
		return
	}
	if s.noLeaderLocked() || n.away != here {
		s.atLocked(time.Second, func() { s.rejoinLocked(n, left) })
		return
	}
	n.n.ManagerStatus = &swarm.ManagerStatus{Reachability: swarm.ReachabilityReachable, Addr: n.n.Status.Addr + ":2377"}
	s.touchLocked(n)
	s.emitLocked(nodeEvent("update", n, "role", "worker", "manager"))
	s.noteLocked()
}

// tryJoinLocked makes a stored promote join raft, unless the node is away (it joins when it
// comes back) or the manager it joined through is (it joins when that one comes back).
func (s *Swarm) tryJoinLocked(n *node) {
	if _, ok := s.nodes[n.n.ID]; !ok || n.n.Spec.Role != swarm.NodeRoleManager || n.n.ManagerStatus != nil || n.neverJoins {
		return
	}
	if n.away != here {
		n.blocked = true
		return
	}
	if via, ok := s.nodes[n.joinedVia]; ok && via.away != here {
		n.blocked = true
		// It keeps trying and stops reporting to the dispatcher: it shows down.
		s.laterLocked(n, s.Timing.Down, func() { s.setStateLocked(n, swarm.NodeStateDown) })
		return
	}
	if s.noLeaderLocked() {
		s.atLocked(s.Timing.Retry, func() { s.tryJoinLocked(n) })
		return
	}
	n.blocked = false
	s.becomeMemberLocked(n)
	s.noteLocked()
}

// unblockLocked completes the promotes that waited for node via (or for their own node) to
// come back: all of them at once, as swarm does at a heal.
func (s *Swarm) unblockLocked(via string) {
	for _, id := range s.order {
		m := s.nodes[id]
		if !m.blocked || m.away != here {
			continue
		}
		if v, ok := s.nodes[m.joinedVia]; id == via || m.joinedVia == via || !ok || v.away == here {
			m.blocked = false
			m.gen++
			if m.n.Status.State != swarm.NodeStateReady {
				s.setStateLocked(m, swarm.NodeStateReady)
			}
			m.n.ManagerStatus = &swarm.ManagerStatus{Reachability: swarm.ReachabilityReachable, Addr: m.n.Status.Addr + ":2377"}
			s.touchLocked(m)
			s.emitLocked(nodeEvent("update", m, "role", "worker", "manager"))
		}
	}
}

func (s *Swarm) setStateLocked(n *node, st swarm.NodeState) {
	old := n.n.Status.State
	if old == st {
		return
	}
	n.n.Status.State = st
	s.touchLocked(n)
	s.emitLocked(nodeEvent("update", n, "state", string(old), string(st)))
}

// goAwayLocked takes node id's daemon away: raft notices after Detect (a leader that went away
// is replaced by an election), the dispatcher after Down.
func (s *Swarm) goAwayLocked(id string, how awayKind) {
	n := s.mustLocked(id)
	s.changes++
	if n.away != here {
		n.away = how
		return
	}
	n.away, n.wasLeader = how, n.n.ManagerStatus != nil && n.n.ManagerStatus.Leader
	n.awayAt = s.now()
	n.gen++
	s.laterLocked(n, s.Timing.Detect, func() {
		if ms := n.n.ManagerStatus; ms != nil {
			ms.Reachability = swarm.ReachabilityUnreachable
			if ms.Leader {
				ms.Leader = false
				if m, r := s.membersLocked(); r >= m/2+1 {
					s.electLocked(id)
				}
			}
			s.touchLocked(n)
			s.checkQuorumLocked()
			s.noteLocked()
		}
		s.laterLocked(n, s.Timing.Down-s.Timing.Detect, func() { s.setStateLocked(n, swarm.NodeStateDown) })
	})
}

// comeBackLocked returns node id's daemon: it is reachable and ready again; an old leader
// returns with a higher term and forces an election; a swarm that had no quorum elects a
// leader; promotes that waited for it complete at once.
func (s *Swarm) comeBackLocked(id string) {
	n := s.mustLocked(id)
	if n.away == here {
		return
	}
	n.away = here
	n.awayAt = time.Time{}
	n.gen++
	if ms := n.n.ManagerStatus; ms != nil && !n.ghost {
		ms.Reachability = swarm.ReachabilityReachable
		ms.Leader = false
	}
	s.setStateLocked(n, swarm.NodeStateReady)
	s.touchLocked(n)
	s.unblockLocked(id)
	if !s.hasLeaderLocked() || n.wasLeader {
		if m, r := s.membersLocked(); m > 0 && r >= m/2+1 {
			for _, oid := range s.order {
				if ms := s.nodes[oid].n.ManagerStatus; ms != nil {
					ms.Leader = false
				}
			}
			s.electLocked("")
		}
	}
	n.wasLeader = false
	if n.n.Spec.Role == swarm.NodeRoleWorker && n.n.ManagerStatus != nil && !n.ghost {
		s.atLocked(s.Timing.Demote, func() { s.tryLeaveLocked(n) })
	}
	s.checkQuorumLocked()
	s.noteLocked()
}

// Stop, Partition and Pause take a node's daemon away in virtual-time mode: killed, cut off
// the network, or frozen. Start, Heal and Resume bring it back; any of them undoes any other.
func (s *Swarm) Stop(id string)      { s.away(id, killed) }
func (s *Swarm) Partition(id string) { s.away(id, partitioned) }
func (s *Swarm) Pause(id string)     { s.away(id, paused) }

// Start restarts a stopped daemon; Heal and Resume are the same return for the other two.
func (s *Swarm) Start(id string)  { s.back(id) }
func (s *Swarm) Heal(id string)   { s.back(id) }
func (s *Swarm) Resume(id string) { s.back(id) }

func (s *Swarm) away(id string, how awayKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked()
	s.goAwayLocked(id, how)
}

func (s *Swarm) back(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked()
	s.comeBackLocked(id)
}

// Away reports whether node id's daemon is stopped, partitioned or paused, and whether it is
// stopped (it cannot do anything until started again).
func (s *Swarm) Away(id string) (away, stopped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.nodes[id]
	if !ok {
		return false, false
	}
	return n.away != here, n.away == killed
}

// Human sends a spec change as a person at the docker CLI would, through the same daemon
// checks as the operator's calls, with the version just read; it is not recorded in Calls.
func (s *Swarm) Human(id string, change func(*swarm.NodeSpec)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked()
	n, ok := s.nodes[id]
	if !ok {
		return errNodeNotFound(id)
	}
	sp := copyNode(n.n).Spec
	change(&sp)
	return s.updateLocked(id, n.n.Version, sp)
}

// Pending is a membership change swarm has stored and not finished.
type Pending struct {
	Node, Hostname string
	// Promote is true for a node becoming a manager, false for one leaving raft.
	Promote bool
	// Able is whether it can still complete by itself: its node's daemon is not stopped.
	Able bool
	// Blocked is a promote that waits for the manager its node joined through.
	Blocked bool
	// Rejoin is a node that left raft by a demotion and holds no worker certificate yet:
	// swarm may still add it back to raft.
	Rejoin bool
	// Ghost is a member whose node rejoined raft after its demotion and then stopped its
	// manager: nothing in swarm removes it, so it cannot complete (Able is false).
	Ghost bool
	// AwaySince is when the node's daemon went away, if it is away.
	AwaySince time.Time
}

// PendingChanges lists the stored role changes that raft has not made yet, in node order.
func (s *Swarm) PendingChanges() []Pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked()
	var out []Pending
	for _, id := range s.order {
		n := s.nodes[id]
		member := n.n.ManagerStatus != nil
		wantManager := n.n.Spec.Role == swarm.NodeRoleManager
		rejoin := !member && !n.leftAt.IsZero()
		if !rejoin && (member == wantManager || wantManager && n.neverJoins) {
			continue
		}
		out = append(out, Pending{Node: id, Hostname: n.n.Description.Hostname, Promote: wantManager,
			Able: n.away != killed && !n.ghost, Blocked: n.blocked, Rejoin: rejoin, Ghost: n.ghost, AwaySince: n.awayAt})
	}
	return out
}

// Changes counts the changes of the swarm's state so far (versions moved, daemons gone or
// back): a caller can skip looking again while it stays the same.
func (s *Swarm) Changes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked()
	return s.changes
}

// Leader is the node raft has elected, "" during an election or without quorum.
func (s *Swarm) Leader() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked()
	if s.noLeaderLocked() {
		return ""
	}
	for _, id := range s.order {
		if ms := s.nodes[id].n.ManagerStatus; ms != nil && ms.Leader && s.nodes[id].away == here {
			return id
		}
	}
	return ""
}
