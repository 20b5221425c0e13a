package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/observe"
	"github.com/swarmtopo/swarmtopo/reconcile"
)

// Sentinel errors of observation. Match them with errors.Is.
var (
	// ErrNotManager means the daemon that answered is not a swarm manager, so it cannot tell
	// the swarm's state: point DOCKER_HOST at a manager.
	ErrNotManager = errors.New("controller: not a swarm manager")
	// ErrNotInSwarm means the daemon that answered is not an active member of a swarm.
	ErrNotInSwarm = errors.New("controller: not in a swarm")
)

// Observe takes one snapshot of the swarm through d, stamped now. It only reads; every call is
// bounded by DefaultCallTimeout.
//
// A swarm without a leader (quorum lost, or an election that has not finished) is not an
// error: the snapshot comes back with ClusterError set and no nodes, and the planner blocks on
// it. A daemon that is not a manager is an error wrapping ErrNotManager.
func Observe(ctx context.Context, d Reader, now time.Time) (reconcile.Snapshot, error) {
	return ObserveWithTimeout(ctx, d, now, DefaultCallTimeout)
}

// ObserveWithTimeout is Observe with each call bounded by timeout instead of the default.
func ObserveWithTimeout(ctx context.Context, d Reader, now time.Time, timeout time.Duration) (reconcile.Snapshot, error) {
	s, err := observeNodes(ctx, d, now, timeout)
	if err != nil || s.ClusterError != "" {
		return s, err
	}
	if err := readMaintenance(ctx, d, timeout, &s); err != nil {
		return reconcile.Snapshot{}, err
	}
	return s, nil
}

// observeNodes is ObserveWithTimeout without the maintenance lock: what a settle poll needs,
// since whether a step has settled depends on the nodes alone.
func observeNodes(ctx context.Context, d Reader, now time.Time, timeout time.Duration) (reconcile.Snapshot, error) {
	b := bounded{r: d, timeout: timeout}
	info, err := b.Info(ctx)
	if err != nil {
		if observe.IsNotManager(err) {
			return reconcile.Snapshot{}, fmt.Errorf("reading daemon info: %w: %w", ErrNotManager, err)
		}
		return reconcile.Snapshot{}, fmt.Errorf("reading daemon info: %w", err)
	}
	self := info.Swarm.NodeID
	// Checked before the node state: with quorum lost the daemon still says it is an active
	// manager, and only Swarm.Error tells what is going on.
	if msg := observe.NoLeaderFromInfo(info); msg != "" {
		return reconcile.Snapshot{Self: self, Time: now, ClusterError: msg}, nil
	}
	if st := info.Swarm.LocalNodeState; st != swarm.LocalNodeStateActive {
		return reconcile.Snapshot{}, fmt.Errorf("reading daemon info: %w: the daemon's swarm state is %q", ErrNotInSwarm, st)
	}
	if !info.Swarm.ControlAvailable {
		return reconcile.Snapshot{}, fmt.Errorf("reading daemon info: %w: node %s is a worker; point DOCKER_HOST at a manager", ErrNotManager, self)
	}
	nodes, err := b.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		switch {
		case observe.IsNoLeader(err):
			return reconcile.Snapshot{Self: self, Time: now, ClusterError: err.Error()}, nil
		case observe.IsNotManager(err):
			return reconcile.Snapshot{}, fmt.Errorf("listing nodes: %w: %w", ErrNotManager, err)
		case errors.Is(err, ErrCallTimeout) && ctx.Err() == nil:
			// A manager that lost quorum can hang node calls while Info still answers and
			// says so: ask it why the list did not come.
			if info, ierr := b.Info(ctx); ierr == nil {
				if msg := observe.NoLeaderFromInfo(info); msg != "" {
					return reconcile.Snapshot{Self: self, Time: now, ClusterError: msg}, nil
				}
			}
		}
		return reconcile.Snapshot{}, fmt.Errorf("listing nodes: %w", err)
	}
	s, err := observe.FromSwarm(nodes, self, now)
	if err != nil {
		return reconcile.Snapshot{}, fmt.Errorf("reading node list: %w", err)
	}
	return s, nil
}

// observe takes a snapshot with the controller's clock and timeout, and fills in when each
// unhealthy manager was first seen so by this process.
func (c *Controller) observe(ctx context.Context) (reconcile.Snapshot, error) {
	return c.stamped(ObserveWithTimeout(ctx, c.r, c.o.Clock.Now(), c.o.CallTimeout))
}

// poll is observe for a settle poll: the nodes only, one call fewer per poll.
func (c *Controller) poll(ctx context.Context) (reconcile.Snapshot, error) {
	return c.stamped(observeNodes(ctx, c.r, c.o.Clock.Now(), c.o.CallTimeout))
}

func (c *Controller) stamped(s reconcile.Snapshot, err error) (reconcile.Snapshot, error) {
	if err != nil {
		c.mu.Lock()
		c.leaderSince = time.Time{}
		if c.firstLook.IsZero() {
			c.firstLook = c.o.Clock.Now()
		}
		c.mu.Unlock()
		return s, err
	}
	c.stamp(&s)
	return s, nil
}

// stamp writes into the snapshot when this process first saw each manager unreachable or down
// (the planner's grace period runs from there), each role change in flight (for the plan and
// /status to say since when), and when such a manager left the member list (it is not
// promoted back at once). It also notes whether a leader is seen, and when a demoted node left
// raft (noteLeftRaft). It lives in memory only: after a restart the clocks start again, which
// delays a replacement rather than hurrying it.
func (c *Controller) stamp(s *reconcile.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A demoted node gets its worker certificate only from a leader: the hold runs from when
	// one was last seen again.
	led := false
	for i := range s.Nodes {
		led = led || s.Nodes[i].Leader && s.Nodes[i].Member
	}
	switch {
	case s.ClusterError != "" || !led:
		c.leaderSince = time.Time{}
	case c.leaderSince.IsZero():
		c.leaderSince = s.Time
	}
	if c.firstLook.IsZero() {
		c.firstLook = s.Time
	}
	if led && s.ClusterError == "" && c.firstLeader.IsZero() {
		c.firstLeader = s.Time
	}
	if s.ClusterError != "" {
		// Nothing was seen: keep what is known.
		return
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		_, wasUnhealthy := c.unreachableSince[n.ID]
		switch {
		case wasUnhealthy && !n.Member:
			c.leftUnreachable[n.ID] = s.Time
		case n.Member:
			delete(c.leftUnreachable, n.ID)
		}
		n.LeftUnreachableAt = c.leftUnreachable[n.ID]
		c.noteLeftRaft(n, s.Time)
		n.UnreachableSince = since(c.unreachableSince, n.ID, unhealthyManager(n), s.Time)
		n.InFlightSince = since(c.inFlightSince, n.ID, reconcile.RoleInFlight(n), s.Time)
	}
	forgetGone(c.unreachableSince, s.Nodes)
	forgetGone(c.inFlightSince, s.Nodes)
	forgetGone(c.leftUnreachable, s.Nodes)
	forgetGone(c.leftRaft, s.Nodes)
	forgetGone(c.leftUp, s.Nodes)
	forgetGone(c.lastRaft, s.Nodes)
}

// noteLeftRaft stamps when n, asked to be a worker, left the raft member list: when this
// process saw it go or, the first time it sees n already out and swarm updated it lately (a
// demotion by an instance that acted before this one: swarm writes the node's worker role
// within seconds of the removal), now. A stamp lasts until the hold has passed with a leader
// seen, or, for a node not seen leaving while reachable, until swarm shows it down. Caller
// holds c.mu.
func (c *Controller) noteLeftRaft(n *reconcile.Node, now time.Time) {
	prev, known := c.lastRaft[n.ID]
	c.lastRaft[n.ID] = ""
	if n.Member {
		c.lastRaft[n.ID] = n.Reachability
	}
	switch {
	case n.Member || n.DesiredRole != reconcile.RoleWorker:
		delete(c.leftRaft, n.ID)
		delete(c.leftUp, n.ID)
	case prev == reconcile.ReachabilityReachable || prev != "" && n.State != reconcile.StateDown:
		// It left while reachable, or its daemon is not known to be down (right after an
		// election every node shows unknown for a moment): it may not hold its worker
		// certificate yet. One that left while away and is still down gets it at its return,
		// swarm having long written its worker role by then.
		if _, ok := c.leftRaft[n.ID]; !ok {
			c.leftRaft[n.ID] = now
			c.leftUp[n.ID] = prev == reconcile.ReachabilityReachable
		}
	case !known && !n.UpdatedAt.IsZero():
		// By the leader's clock: updated within the hold either way of now, the node may have
		// just left; further off, the clocks disagree too much to tell. Until this process has
		// seen a leader, it cannot tell how long the swarm had one since then either: from its
		// first look on, without one, no certificate was signed. The hold runs from now.
		since := now
		if c.firstLeader.IsZero() || !c.firstLeader.Before(now) {
			since = c.firstLook
		}
		if d := since.Sub(n.UpdatedAt); d < c.o.DemotionHold && now.Sub(n.UpdatedAt) > -c.o.DemotionHold {
			c.leftRaft[n.ID] = now
		}
	}
	if at, ok := c.leftRaft[n.ID]; ok {
		switch {
		case n.State != reconcile.StateReady && c.leftUp[n.ID]:
			// It left raft reachable and is gone before it could hold its worker
			// certificate: it can still join raft at its return, and its wait starts again
			// then.
			c.leftRaft[n.ID] = now
		case n.State == reconcile.StateDown && !c.leftUp[n.ID]:
			// Seen leaving while away (right after an election, when every node shows
			// unknown), and down: a dead manager replaced. Back one day, it gets its worker
			// certificate at once, swarm having long written its worker role.
			delete(c.leftRaft, n.ID)
			delete(c.leftUp, n.ID)
		case !c.leaderSince.IsZero() && now.Sub(latest(at, c.leaderSince)) >= c.o.DemotionHold:
			delete(c.leftRaft, n.ID)
			delete(c.leftUp, n.ID)
		}
	}
}

// demotionHold is how much longer a membership change of node id must wait for the nodes that
// have just left raft, and the latest of them: DemotionHold from when each left, or from when a
// leader was seen again if that is later.
func (c *Controller) demotionHold(s reconcile.Snapshot, id string) (time.Duration, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var wait time.Duration
	var who string
	for _, n := range s.Nodes {
		at, ok := c.leftRaft[n.ID]
		if !ok || n.ID == id {
			continue
		}
		if c.leaderSince.IsZero() {
			return c.o.DemotionHold, n.Hostname
		}
		if left := c.o.DemotionHold - s.Time.Sub(latest(at, c.leaderSince)); left > wait {
			wait, who = left, n.Hostname
		}
	}
	return wait, who
}

// since returns when id was first seen in a state (now if it is new), or zero and forgets it
// when it is no longer in it.
func since(first map[string]time.Time, id string, in bool, now time.Time) time.Time {
	if !in {
		delete(first, id)
		return time.Time{}
	}
	t, ok := first[id]
	if !ok {
		t = now
		first[id] = t
	}
	return t
}

func forgetGone[V any](first map[string]V, nodes []reconcile.Node) {
	if len(first) == 0 {
		return
	}
	seen := make(map[string]bool, len(nodes))
	for i := range nodes {
		seen[nodes[i].ID] = true
	}
	for id := range first {
		if !seen[id] {
			delete(first, id)
		}
	}
}

func unhealthyManager(n *reconcile.Node) bool {
	return n.Member && (n.Reachability != reconcile.ReachabilityReachable || n.State == reconcile.StateDown)
}

// faultTolerance is the snapshot's current fault tolerance; with no leader it is reported as
// -1, "quorum lost".
func faultTolerance(s reconcile.Snapshot) int {
	if s.ClusterError != "" {
		return -1
	}
	members, reachable := s.Members()
	return reconcile.FaultTolerance(members, reachable)
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
