package observe

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

func swarmNode(id, hostname string, role swarm.NodeRole) swarm.Node {
	n := swarm.Node{
		ID:   id,
		Meta: swarm.Meta{Version: swarm.Version{Index: 9}},
		Spec: swarm.NodeSpec{
			Annotations:  swarm.Annotations{Labels: map[string]string{"az": "a"}},
			Role:         role,
			Availability: swarm.NodeAvailabilityActive,
		},
		Description: swarm.NodeDescription{Hostname: hostname},
		Status:      swarm.NodeStatus{State: swarm.NodeStateReady},
	}
	if role == swarm.NodeRoleManager {
		n.ManagerStatus = &swarm.ManagerStatus{Reachability: swarm.ReachabilityReachable, Addr: "10.0.0.1:2377"}
	}
	return n
}

func TestFromSwarm(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		nodes func() []swarm.Node
		self  string
		check func(t *testing.T, s reconcile.Snapshot, in []swarm.Node)
	}{
		{"the snapshot carries the time and the operator's own node", func() []swarm.Node {
			return []swarm.Node{swarmNode("m1", "a", swarm.NodeRoleManager)}
		}, "m1", func(t *testing.T, s reconcile.Snapshot, _ []swarm.Node) {
			if !s.Time.Equal(now) || s.Self != "m1" {
				t.Errorf("time = %v, self = %q", s.Time, s.Self)
			}
		}},
		{"labels are copied so editing the snapshot leaves the client's node alone", func() []swarm.Node {
			return []swarm.Node{swarmNode("m1", "a", swarm.NodeRoleManager)}
		}, "", func(t *testing.T, s reconcile.Snapshot, in []swarm.Node) {
			s.Nodes[0].Labels["az"] = "changed"
			if in[0].Spec.Labels["az"] != "a" {
				t.Errorf("input label = %q", in[0].Spec.Labels["az"])
			}
		}},
		{"a promotion in flight is a desired manager outside the member list", func() []swarm.Node {
			n := swarmNode("w1", "a", swarm.NodeRoleWorker)
			n.Spec.Role = swarm.NodeRoleManager
			return []swarm.Node{n}
		}, "", func(t *testing.T, s reconcile.Snapshot, _ []swarm.Node) {
			if n := s.Nodes[0]; n.DesiredRole != reconcile.RoleManager || n.Member {
				t.Errorf("node = %+v", n)
			}
		}},
		{"manager status gives leader, reachability and address", func() []swarm.Node {
			n := swarmNode("m1", "a", swarm.NodeRoleManager)
			n.ManagerStatus.Leader = true
			return []swarm.Node{n}
		}, "", func(t *testing.T, s reconcile.Snapshot, _ []swarm.Node) {
			n := s.Nodes[0]
			if !n.Member || !n.Leader || n.Reachability != reconcile.ReachabilityReachable || n.Addr != "10.0.0.1:2377" || n.Version != 9 {
				t.Errorf("node = %+v", n)
			}
		}},
		{"nodes are sorted by hostname and then ID whatever the daemon's order", func() []swarm.Node {
			return []swarm.Node{
				swarmNode("z", "b", swarm.NodeRoleWorker), swarmNode("y", "a", swarm.NodeRoleWorker), swarmNode("x", "b", swarm.NodeRoleWorker),
			}
		}, "", func(t *testing.T, s reconcile.Snapshot, _ []swarm.Node) {
			var got string
			for _, n := range s.Nodes {
				got += n.Hostname + "/" + n.ID + " "
			}
			if got != "a/y b/x b/z " {
				t.Errorf("order = %q", got)
			}
		}},
		{"the input slice keeps its order", func() []swarm.Node {
			return []swarm.Node{swarmNode("z", "b", swarm.NodeRoleWorker), swarmNode("y", "a", swarm.NodeRoleWorker)}
		}, "", func(t *testing.T, _ reconcile.Snapshot, in []swarm.Node) {
			if in[0].ID != "z" {
				t.Errorf("input reordered: first is %q", in[0].ID)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.nodes()
			s, err := FromSwarm(in, tt.self, now)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s, in)
		})
	}
}

func TestFromSwarmRejects(t *testing.T) {
	tests := []struct {
		name  string
		nodes []swarm.Node
		self  string
		want  string
	}{
		{"an empty node list", nil, "", "no nodes"},
		{"an own node that is not in the list", []swarm.Node{swarmNode("m1", "a", swarm.NodeRoleManager)}, "m2",
			`own node "m2" is not among the 1 nodes`},
		{"a node without an ID", []swarm.Node{swarmNode("", "a", swarm.NodeRoleManager)}, "",
			`node [0] (hostname "a"): ID: missing`},
		{"an unknown role from a future engine", []swarm.Node{swarmNode("m1", "a", "overlord")}, "",
			`node [0] (ID "m1", hostname "a"): Spec.Role: unknown value "overlord"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromSwarm(tt.nodes, tt.self, time.Time{})
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalidSnapshot) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want one wrapping ErrInvalidSnapshot that says %q", err, tt.want)
			}
		})
	}
}

func TestNodeErrorIsMatchedWithErrorsAs(t *testing.T) {
	_, err := FromSwarm([]swarm.Node{swarmNode("m1", "a", swarm.NodeRoleManager), swarmNode("m1", "b", swarm.NodeRoleWorker)}, "", time.Time{})
	var ne *NodeError
	if !errors.As(err, &ne) {
		t.Fatalf("error %v is not a *NodeError", err)
	}
	if ne.Index != 1 || ne.ID != "m1" || ne.Hostname != "b" || ne.Field != "ID" {
		t.Errorf("NodeError = %+v", ne)
	}
}
