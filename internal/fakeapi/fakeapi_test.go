package fakeapi_test

import (
	"context"
	"slices"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/internal/fakeapi"
	"github.com/swarmtopo/swarmtopo/observe"
)

func newClient(t *testing.T, s *fakeapi.Server) *client.Client {
	t.Helper()
	c, err := client.NewClientWithOpts(client.WithHost(s.Host()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestTheRealClientDrivesTheFakeSwarm runs every call swarmtopo makes through the real Docker
// client and the fake API, and checks both the fake swarm's state and the recorded templates.
func TestTheRealClientDrivesTheFakeSwarm(t *testing.T) {
	fs := fakeswarm.New(
		fakeswarm.NodeConfig{Hostname: "node1", Manager: true, Leader: true},
		fakeswarm.NodeConfig{Hostname: "node2", State: swarm.NodeStateDown},
	)
	api := fakeapi.New(fs)
	defer api.Close()
	c := newClient(t, api)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	info, err := c.Info(ctx)
	if err != nil || info.Swarm.NodeID != fs.ID("node1") {
		t.Fatalf("Info = %+v, %v", info.Swarm, err)
	}
	if c.ClientVersion() != fakeapi.APIVersion {
		t.Errorf("negotiated API %s, want %s", c.ClientVersion(), fakeapi.APIVersion)
	}
	msgs, errs := c.Events(ctx, events.ListOptions{Filters: filters.NewArgs(filters.Arg("type", "node"))})
	nodes, err := c.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil || len(nodes) != 2 {
		t.Fatalf("NodeList = %d nodes, %v", len(nodes), err)
	}
	n, _, err := c.NodeInspectWithRaw(ctx, fs.ID("node1"))
	if err != nil || n.Description.Hostname != "node1" {
		t.Fatalf("NodeInspect = %+v, %v", n.Description, err)
	}
	spec := n.Spec
	spec.Labels = map[string]string{"az": "a"}
	if err := c.NodeUpdate(ctx, n.ID, n.Version, spec); err != nil {
		t.Fatalf("NodeUpdate = %v", err)
	}
	if got, _ := fs.Node("node1"); got.Spec.Labels["az"] != "a" {
		t.Errorf("the label did not reach the fake swarm: %v", got.Spec.Labels)
	}
	if err := c.NodeUpdate(ctx, n.ID, n.Version, spec); !observe.IsOutOfSequence(err) {
		t.Errorf("a stale version = %v, want update out of sequence", err)
	}
	select {
	case m := <-msgs:
		if m.Type != events.NodeEventType || m.Actor.ID != n.ID {
			t.Errorf("event %+v, want a node event of node1", m)
		}
	case err := <-errs:
		t.Fatalf("event stream ended: %v", err)
	case <-ctx.Done():
		t.Fatal("no event for the update")
	}
	if err := c.NodeRemove(ctx, fs.ID("node2"), swarm.NodeRemoveOptions{}); err != nil {
		t.Fatalf("NodeRemove of a down worker = %v", err)
	}
	if _, ok := fs.Node("node2"); ok {
		t.Error("node2 is still in the fake swarm")
	}
	if _, _, err := c.NodeInspectWithRaw(ctx, "nosuchnode"); !cerrdefs.IsNotFound(err) {
		t.Errorf("inspect of an unknown node = %v, want not found", err)
	}
	fs.LoseQuorum()
	if _, err := c.NodeList(ctx, swarm.NodeListOptions{}); !observe.IsNoLeader(err) {
		t.Errorf("NodeList without quorum = %v, want the daemon's no-leader message", err)
	}
	if _, err := c.ServiceList(ctx, swarm.ServiceListOptions{}); err == nil {
		t.Error("an endpoint the fake does not serve answered")
	}
	// The swarm object updates like raft's: with the version read, and only then.
	sw, err := c.SwarmInspect(ctx)
	if err != nil {
		t.Fatalf("SwarmInspect: %v", err)
	}
	sw.Spec.Labels = map[string]string{"k": "v"}
	if err := c.SwarmUpdate(ctx, sw.Version, sw.Spec, swarm.UpdateFlags{}); err != nil {
		t.Errorf("SwarmUpdate with the version read: %v", err)
	}
	if err := c.SwarmUpdate(ctx, sw.Version, sw.Spec, swarm.UpdateFlags{}); !observe.IsOutOfSequence(err) {
		t.Errorf("SwarmUpdate with a stale version = %v, want update out of sequence", err)
	}
	if got := api.SwarmLabels()["k"]; got != "v" {
		t.Errorf("swarm label k = %q", got)
	}

	want := []string{
		"DELETE /nodes/{id}", "GET /events", "GET /info", "GET /nodes", "GET /nodes/{id}",
		"GET /services", "GET /swarm", "HEAD /_ping", "POST /nodes/{id}/update", "POST /swarm/update",
	}
	if got := api.Endpoints(); !slices.Equal(got, want) {
		t.Errorf("recorded %v\nwant     %v", got, want)
	}
}
