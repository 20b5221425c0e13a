//go:build e2e

// A mixed lab: Engine 20.10 beside Engine 26.1 (hack/engine-26.1.sh provisions it; the test
// fails, never skips, without it).
//
//	go test -tags e2e -run TestMixedEngines -v -timeout 10m ./lab/
package lab

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

func TestMixedEngines(t *testing.T) {
	l := ForTest(t, Config{Nodes: 3, Managers: 3, Zones: []string{"a", "b", "c"},
		Engines: map[int]string{3: Engine26Root}})
	want := map[string]string{"node1": "20.10.", "node2": "20.10.", "node3": "26.1."}

	// Each engine about itself.
	for _, n := range l.Nodes() {
		c, err := n.Client()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		info, err := c.Info(ctx)
		cancel()
		c.Close()
		if err != nil {
			t.Fatalf("%s: info: %v", n.Hostname, err)
		}
		t.Logf("%s: ServerVersion %s, swarm %s, node %s", n.Hostname, info.ServerVersion, info.Swarm.LocalNodeState, info.Swarm.NodeID)
		if !strings.HasPrefix(info.ServerVersion, want[n.Hostname]) {
			t.Errorf("%s: docker info says version %s, want %s*", n.Hostname, info.ServerVersion, want[n.Hostname])
		}
		if info.Swarm.LocalNodeState != swarm.LocalNodeStateActive || info.Swarm.NodeID != n.ID {
			t.Errorf("%s: swarm state %s node %s, want active as %s", n.Hostname, info.Swarm.LocalNodeState, info.Swarm.NodeID, n.ID)
		}
	}

	// One swarm: node3 (26.1) lists all three, every manager reachable, versions as swarm sees them.
	c, err := l.Node(3).Client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	nodes := listNodes(t, c)
	if len(nodes) != 3 {
		t.Fatalf("node3 lists %d nodes, want 3", len(nodes))
	}
	for _, sn := range nodes {
		h := sn.Description.Hostname
		v := sn.Description.Engine.EngineVersion
		t.Logf("%s: EngineVersion %s, role %s, manager %+v", h, v, sn.Spec.Role, sn.ManagerStatus)
		if !strings.HasPrefix(v, want[h]) {
			t.Errorf("%s: NodeList says engine %s, want %s*", h, v, want[h])
		}
		if sn.ManagerStatus == nil || sn.ManagerStatus.Reachability != swarm.ReachabilityReachable {
			t.Errorf("%s: not a reachable manager: %+v", h, sn.ManagerStatus)
		}
	}
}
