package fakeswarm

import (
	"context"
	"encoding/json"
	"maps"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
)

// hang blocks until ctx ends when node calls are set to hang, and reports whether it did. self
// is the node answering ("" for the swarm's own).
func (s *Swarm) hang(ctx context.Context, info bool, self string) (bool, error) {
	s.mu.Lock()
	h := s.hangCalls
	if info {
		h = s.hangInfo
	}
	if !h && s.now != nil {
		if self == "" {
			self = s.self
		}
		h = s.hangsLocked(self, info)
	}
	s.mu.Unlock()
	if !h {
		return false, nil
	}
	<-ctx.Done()
	if !info {
		s.mu.Lock()
		if s.loseOnUnhang {
			s.hangCalls, s.loseOnUnhang, s.quorumLost = false, false, true
			s.noteLocked()
		}
		s.mu.Unlock()
	}
	return true, ctx.Err()
}

// gateLocked answers what a manager answers before it looks at any node.
func (s *Swarm) gateLocked() error {
	if me, ok := s.nodes[s.self]; !ok || me.n.ManagerStatus == nil {
		return errNotManager()
	}
	if s.noLeaderLocked() {
		return errNoLeader()
	}
	return nil
}

// NodeList lists every node. Filters are ignored: the controller lists all nodes.
func (s *Swarm) NodeList(ctx context.Context, _ swarm.NodeListOptions) ([]swarm.Node, error) {
	if hung, err := s.hang(ctx, false, ""); hung {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickLocked()
	if err := s.gateLocked(); err != nil {
		return nil, err
	}
	return s.listLocked(), nil
}

// NodeInspectWithRaw returns one node by full ID: the controller never addresses nodes any
// other way, so the fake does not resolve hostnames or prefixes.
func (s *Swarm) NodeInspectWithRaw(ctx context.Context, id string) (swarm.Node, []byte, error) {
	if hung, err := s.hang(ctx, false, ""); hung {
		return swarm.Node{}, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickLocked()
	if err := s.gateLocked(); err != nil {
		return swarm.Node{}, nil, err
	}
	n, ok := s.nodes[id]
	if !ok {
		return swarm.Node{}, nil, errNodeNotFound(id)
	}
	out := s.shownLocked(n)
	raw, err := json.Marshal(out)
	return out, raw, err
}

// Info answers like `docker info` on the operator's node; with quorum lost it still answers,
// with Swarm.Error set.
func (s *Swarm) Info(ctx context.Context) (system.Info, error) {
	if hung, err := s.hang(ctx, true, ""); hung {
		return system.Info{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.infoLocked(), nil
}

// infoLocked is Info's answer from node s.self; the caller holds s.mu.
func (s *Swarm) infoLocked() system.Info {
	s.tickLocked()
	sw := swarm.Info{NodeID: s.self, LocalNodeState: swarm.LocalNodeStateActive}
	if me, ok := s.nodes[s.self]; ok {
		sw.NodeAddr = me.n.Status.Addr
		sw.ControlAvailable = me.n.ManagerStatus != nil
	}
	// While calls hang the survivor has not noticed yet, so Info says nothing either.
	if sw.ControlAvailable && s.noLeaderLocked() && !s.loseOnUnhang {
		sw.Error = MsgNoLeader
	}
	for _, id := range s.order {
		n := s.nodes[id]
		sw.Nodes++
		if n.n.ManagerStatus != nil {
			sw.Managers++
			sw.RemoteManagers = append(sw.RemoteManagers, swarm.Peer{NodeID: id, Addr: n.n.ManagerStatus.Addr})
		}
	}
	return system.Info{ID: "fake-" + s.self, Name: s.hostnameLocked(s.self), Swarm: sw}
}

func (s *Swarm) hostnameLocked(id string) string {
	if n, ok := s.nodes[id]; ok {
		return n.n.Description.Hostname
	}
	return ""
}

// NodeUpdate stores a new spec if version is current, with the daemon's demotion checks.
// Role changes then happen asynchronously, after PromoteAfter or DemoteAfter read calls.
func (s *Swarm) NodeUpdate(ctx context.Context, id string, version swarm.Version, spec swarm.NodeSpec) error {
	spec.Labels = maps.Clone(spec.Labels)
	call := Call{Method: "NodeUpdate", Node: id, Version: version.Index, Spec: spec}
	if hung, err := s.hang(ctx, false, ""); hung {
		call.Err = err
		s.record(call)
		return err
	}
	s.mu.Lock()
	call.Err = s.updateLocked(id, version, spec)
	s.mu.Unlock()
	s.record(call)
	return call.Err
}

func (s *Swarm) updateLocked(id string, version swarm.Version, spec swarm.NodeSpec) error {
	if err := s.gateLocked(); err != nil {
		return err
	}
	n, ok := s.nodes[id]
	if !ok {
		return errNodeNotFound(id)
	}
	// Demotion sanity checks come before the version check, as in swarmkit's controlapi.
	demote := n.n.Spec.Role == swarm.NodeRoleManager && spec.Role == swarm.NodeRoleWorker
	if demote {
		members, _ := s.membersLocked()
		if members == 1 && n.n.ManagerStatus != nil {
			return errLastManager()
		}
		if n.n.ManagerStatus == nil {
			return errNotInRaft()
		}
		if !s.canRemoveMemberLocked(id) {
			return errLoseQuorum()
		}
	}
	if version.Index != n.n.Version.Index {
		return errOutOfSequence()
	}
	old := n.n.Spec
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	n.n.Spec = spec
	s.touchLocked(n)
	switch {
	case s.now != nil && (old.Role != spec.Role || demote):
		s.roleStoredLocked(n, demote)
	case old.Role == swarm.NodeRoleWorker && spec.Role == swarm.NodeRoleManager:
		n.leaveAt = 0
		if n.n.ManagerStatus == nil {
			n.joinAt = s.reads + max(s.PromoteAfter, 1)
		}
	case demote:
		n.joinAt = 0
		delay := max(s.DemoteAfter, 1)
		if ms := n.n.ManagerStatus; ms.Leader {
			// Leadership moves first; the swarm has no leader until the election ends.
			ms.Leader = false
			s.electLocked(id)
			delay += s.election
		}
		n.leaveAt = s.reads + delay
	}
	if old.Availability != spec.Availability {
		s.emitLocked(nodeEvent("update", n, "availability", string(old.Availability), string(spec.Availability)))
	} else {
		s.emitLocked(nodeEvent("update", n, "", "", ""))
	}
	s.noteLocked()
	return nil
}

// NodeRemove removes a node with the daemon's checks: never a raft member, and a ready node
// only with force.
func (s *Swarm) NodeRemove(ctx context.Context, id string, o swarm.NodeRemoveOptions) error {
	call := Call{Method: "NodeRemove", Node: id, Force: o.Force}
	if hung, err := s.hang(ctx, false, ""); hung {
		call.Err = err
		s.record(call)
		return err
	}
	s.mu.Lock()
	call.Err = s.removeLocked(id, o.Force)
	s.mu.Unlock()
	s.record(call)
	return call.Err
}

func (s *Swarm) removeLocked(id string, force bool) error {
	if err := s.gateLocked(); err != nil {
		return err
	}
	n, ok := s.nodes[id]
	if !ok {
		return errNodeNotFound(id)
	}
	if n.n.Spec.Role == swarm.NodeRoleManager && n.n.ManagerStatus != nil {
		return errRemoveManager(id)
	}
	if !force && n.n.Status.State == swarm.NodeStateReady {
		return errNotDown(id)
	}
	delete(s.nodes, id)
	for i, oid := range s.order {
		if oid == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	s.emitLocked(nodeEvent("remove", n, "", "", ""))
	if s.now != nil {
		// The nodes that joined through it turn to the managers left: a promote that waited
		// for it goes ahead.
		s.unblockLocked(id)
	}
	return nil
}

func (s *Swarm) record(c Call) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	hook := s.OnMutate
	s.mu.Unlock()
	if hook != nil {
		hook(c)
	}
}
