package fakeswarm

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/observe"
)

func TestViewsAnswerForTheirOwnNode(t *testing.T) {
	s := three()
	m1, m2, w1 := s.ViewFrom(s.ID("m1")), s.ViewFrom(s.ID("m2")), s.ViewFrom(s.ID("w1"))
	ctx := context.Background()
	for _, v := range []*View{m1, m2, w1} {
		info, err := v.Info(ctx)
		if err != nil || info.Swarm.NodeID != v.Self() {
			t.Errorf("Info through the view of %s = %s, %v", v.Self(), info.Swarm.NodeID, err)
		}
	}
	if _, err := w1.NodeList(ctx, swarm.NodeListOptions{}); !observe.IsNotManager(err) {
		t.Errorf("NodeList through a worker's view = %v, want not a manager", err)
	}
	if s.Self() != s.ID("m1") {
		t.Errorf("using views moved the swarm's own self to %s", s.Self())
	}

	// m2 demotes the leader: the call is recorded as made by a node that did not lead, and
	// once the demotion settles m1's view answers like a worker's.
	n, _, err := m2.NodeInspectWithRaw(ctx, s.ID("m1"))
	if err != nil {
		t.Fatal(err)
	}
	n.Spec.Role = swarm.NodeRoleWorker
	if err := m2.NodeUpdate(ctx, n.ID, n.Version, n.Spec); err != nil {
		t.Fatal(err)
	}
	calls := m2.Calls()
	if len(calls) != 1 || calls[0].SelfLed || calls[0].Self != s.ID("m2") || len(m1.Calls()) != 0 || len(s.Calls()) != 1 {
		t.Errorf("view calls = %+v, m1's %+v, swarm's %+v", calls, m1.Calls(), s.Calls())
	}
	poll(s, 20)
	if _, err := m1.NodeList(ctx, swarm.NodeListOptions{}); !observe.IsNotManager(err) {
		t.Errorf("NodeList through the demoted node's view = %v, want not a manager", err)
	}
	if info, _ := m1.Info(ctx); info.Swarm.ControlAvailable {
		t.Errorf("the demoted node's Info still says it is a manager")
	}
	if nodes, err := m2.NodeList(ctx, swarm.NodeListOptions{}); err != nil || len(nodes) != 4 {
		t.Errorf("NodeList through m2 = %d nodes, %v", len(nodes), err)
	}
}
