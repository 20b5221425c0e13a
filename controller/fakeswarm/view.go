package fakeswarm

import (
	"context"
	"encoding/json"
	"maps"
	"sync"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
)

// View is the swarm as one node's daemon answers it: Info names that node, node calls fail as on
// a worker once that node is no longer a manager, and raft's removal check counts that node as
// reachable. Several views of one Swarm stand for operators running on different nodes of the
// same swarm; the Swarm's own methods keep answering for SetSelf's node.
//
// Each call takes the swarm's lock and answers for the view's node while it holds it, so views
// may be used from many goroutines at once.
type View struct {
	s    *Swarm
	self string

	mu    sync.Mutex
	calls []ViewCall
}

// ViewCall is a mutating call made through a view.
type ViewCall struct {
	Call
	// Self is the view's node; SelfLed whether that node was the raft leader when the call
	// arrived.
	Self    string
	SelfLed bool
}

// ViewFrom returns the swarm as the daemon on node id answers it.
func (s *Swarm) ViewFrom(id string) *View { return &View{s: s, self: id} }

// Self is the view's node ID.
func (v *View) Self() string { return v.self }

// Calls returns the mutating calls made through this view.
func (v *View) Calls() []ViewCall {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]ViewCall(nil), v.calls...)
}

// locked runs fn under the swarm's lock with the swarm answering for the view's node.
func (v *View) locked(fn func()) {
	s := v.s
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.self
	s.self = v.self
	defer func() { s.self = old }()
	fn()
}

// NodeList is Swarm.NodeList as the view's node answers it.
func (v *View) NodeList(ctx context.Context, _ swarm.NodeListOptions) ([]swarm.Node, error) {
	if hung, err := v.s.hang(ctx, false, v.self); hung {
		return nil, err
	}
	var (
		out []swarm.Node
		err error
	)
	v.locked(func() {
		v.s.tickLocked()
		if err = v.s.gateLocked(); err == nil {
			out = v.s.listLocked()
		}
	})
	return out, err
}

// NodeInspectWithRaw is Swarm.NodeInspectWithRaw as the view's node answers it.
func (v *View) NodeInspectWithRaw(ctx context.Context, id string) (swarm.Node, []byte, error) {
	if hung, err := v.s.hang(ctx, false, v.self); hung {
		return swarm.Node{}, nil, err
	}
	var (
		out   swarm.Node
		err   error
		found bool
	)
	v.locked(func() {
		v.s.tickLocked()
		if err = v.s.gateLocked(); err != nil {
			return
		}
		var n *node
		if n, found = v.s.nodes[id]; found {
			out = v.s.shownLocked(n)
		}
	})
	if err != nil {
		return swarm.Node{}, nil, err
	}
	if !found {
		return swarm.Node{}, nil, errNodeNotFound(id)
	}
	raw, err := json.Marshal(out)
	return out, raw, err
}

// Info is Swarm.Info as the view's node answers it.
func (v *View) Info(ctx context.Context) (system.Info, error) {
	if hung, err := v.s.hang(ctx, true, v.self); hung {
		return system.Info{}, err
	}
	var info system.Info
	v.locked(func() { info = v.s.infoLocked() })
	return info, nil
}

// Events is Swarm.Events: the fake's events reach every subscriber, whichever node it runs on.
func (v *View) Events(ctx context.Context, o events.ListOptions) (<-chan events.Message, <-chan error) {
	return v.s.Events(ctx, o)
}

// NodeUpdate is Swarm.NodeUpdate sent to the view's node.
func (v *View) NodeUpdate(ctx context.Context, id string, version swarm.Version, spec swarm.NodeSpec) error {
	spec.Labels = maps.Clone(spec.Labels)
	vc := ViewCall{Call: Call{Method: "NodeUpdate", Node: id, Version: version.Index, Spec: spec}, Self: v.self}
	if hung, err := v.s.hang(ctx, false, v.self); hung {
		vc.Err = err
		return v.record(vc)
	}
	v.locked(func() {
		vc.SelfLed = v.s.ledLocked(v.self)
		vc.Err = v.s.updateLocked(id, version, spec)
	})
	return v.record(vc)
}

// NodeRemove is Swarm.NodeRemove sent to the view's node.
func (v *View) NodeRemove(ctx context.Context, id string, o swarm.NodeRemoveOptions) error {
	vc := ViewCall{Call: Call{Method: "NodeRemove", Node: id, Force: o.Force}, Self: v.self}
	if hung, err := v.s.hang(ctx, false, v.self); hung {
		vc.Err = err
		return v.record(vc)
	}
	v.locked(func() {
		vc.SelfLed = v.s.ledLocked(v.self)
		vc.Err = v.s.removeLocked(id, o.Force)
	})
	return v.record(vc)
}

// record keeps the call in the view and in the swarm, and returns its error.
func (v *View) record(vc ViewCall) error {
	v.mu.Lock()
	v.calls = append(v.calls, vc)
	v.mu.Unlock()
	v.s.record(vc.Call)
	return vc.Err
}

func (s *Swarm) ledLocked(id string) bool {
	n, ok := s.nodes[id]
	return ok && n.n.ManagerStatus != nil && n.n.ManagerStatus.Leader
}
