package controller_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
)

// Draining three managers that run a service's tasks: each drain is held until its tasks run
// elsewhere, so when Once returns every replica runs on an active node, and a drain never
// starts while another's tasks are still moving (spec.policy.maxUnavailable 1).
func TestDrainsWaitForTheirTasksOneAtATime(t *testing.T) {
	s := cluster(6, 3, "a", "b", "c")
	s.AddService(fakeswarm.ServiceConfig{Name: "web", Replicas: 12})
	moving := func() []string { // drained nodes that still run tasks
		var out []string
		run := s.RunningTasks()
		for _, n := range s.Nodes() {
			if n.Spec.Availability == swarm.NodeAvailabilityDrain && run[n.ID] > 0 {
				out = append(out, n.Description.Hostname)
			}
		}
		return out
	}
	var overlap []string
	s.OnMutate = func(c fakeswarm.Call) {
		if c.Spec.Availability == swarm.NodeAvailabilityDrain {
			if m := moving(); len(m) > 1 {
				overlap = append(overlap, strings.Join(m, "+"))
			}
		}
	}
	before := s.RunningTasks()
	for _, h := range []string{"node1", "node2", "node3"} {
		if before[s.ID(h)] == 0 {
			t.Fatalf("setup: %s runs no task: %v", h, before)
		}
	}
	c, h := newController(t, s, (&toy{managers: []string{"node1", "node2", "node3"}, drain: true}).plan, controller.Options{})
	if _, err := c.Once(context.Background()); err != nil {
		t.Fatalf("Once: %v", err)
	}
	run, total := s.RunningTasks(), 0
	for _, n := range s.Nodes() {
		total += run[n.ID]
		if n.Spec.Availability == swarm.NodeAvailabilityDrain && run[n.ID] > 0 {
			t.Errorf("drained %s still runs %d task(s) when Once returns", n.Description.Hostname, run[n.ID])
		}
	}
	if total != 12 || len(s.PendingTasks()) > 0 {
		t.Errorf("%d replicas running, pending %v; want all 12 running", total, s.PendingTasks())
	}
	if len(overlap) > 0 {
		t.Errorf("drains overlapped: %v", overlap)
	}
	waits := h.logs.find("Waiting for the drain")
	for _, host := range []string{"node1", "node2", "node3"} {
		found := false
		for _, l := range waits {
			found = found || strings.Contains(l, `"hostname"="`+host+`"`) && strings.Contains(l, `"stillRunning"=`)
		}
		if !found {
			t.Errorf("no \"Waiting for the drain\" with counts for %s", host)
		}
	}
	// The plan said how many tasks each drain moves.
	counted := false
	for _, p := range h.plans {
		for _, st := range p.Steps {
			if st.MovesTasks() && st.Hostname == "node1" && st.Tasks != nil && *st.Tasks == before[s.ID("node1")] {
				counted = true
			}
		}
	}
	if !counted {
		t.Errorf("no plan said node1's drain moves %d task(s)", before[s.ID("node1")])
	}
}

// Tasks nothing can place (a service only for managers, every manager drained) do not hold
// the drain until its timeout: it ends with a warning naming the service and the scheduler's
// reason.
func TestADrainWhoseTasksCannotBePlacedEndsWithAWarning(t *testing.T) {
	s := cluster(5, 3, "a", "b", "c")
	id := s.AddService(fakeswarm.ServiceConfig{Name: "ctl", Replicas: 3, Role: swarm.NodeRoleManager})
	c, h := newController(t, s, (&toy{managers: []string{"node1", "node2", "node3"}, drain: true}).plan, controller.Options{})
	if _, err := c.Once(context.Background()); err != nil {
		t.Fatalf("Once: %v", err)
	}
	warn := h.logs.find("Drain warning: tasks cannot be placed on any node")
	if len(warn) == 0 || !strings.Contains(strings.Join(warn, "\n"), id) || !strings.Contains(strings.Join(warn, "\n"), "no suitable node") {
		t.Errorf("warnings %q; want one naming %s and the scheduler's reason", warn, id)
	}
	if len(h.logs.find("Drain did not finish")) > 0 {
		t.Errorf("a drain ran into its timeout")
	}
}

// A drain whose tasks never move (they start on no node in time) is bounded by DrainTimeout
// and says what it still waits for.
func TestADrainIsBoundedByTheDrainTimeout(t *testing.T) {
	s := cluster(4, 3, "a", "b", "c")
	s.AddService(fakeswarm.ServiceConfig{Name: "slow", Replicas: 4, StartAfter: 1 << 30})
	c, _ := newController(t, s, (&toy{managers: []string{"node1", "node2", "node3"}, drain: true}).plan,
		controller.Options{DrainTimeout: 5e9})
	_, err := c.Once(context.Background())
	if err == nil || !strings.Contains(err.Error(), "drain did not finish after 5s") {
		t.Errorf("Once = %v; want the drain timeout with what it waits for", err)
	}
}

// Relabelling every node is one pass of parallel updates, not a pass per node: API traffic
// grows with N (one read and one update per node, and a few node lists), not N².
func TestLabelStepsGoOutInOnePass(t *testing.T) {
	const n = 60
	s := cluster(n, 3)
	labels := map[string]map[string]string{}
	for _, node := range s.Nodes() {
		labels[node.Description.Hostname] = map[string]string{"tier": "app"}
	}
	counter := &countingDocker{Docker: s}
	passes := 0
	c, _ := newController(t, s, (&toy{managers: []string{"node1", "node2", "node3"}, labels: labels}).plan,
		controller.Options{Docker: counter, OnPass: func(controller.Result, error) { passes++ }})
	if _, err := c.Once(context.Background()); err != nil {
		t.Fatalf("Once: %v", err)
	}
	_, _, got := world(s)
	for host, l := range got {
		if l["tier"] != "app" {
			t.Errorf("%s labels %v, want tier=app", host, l)
		}
	}
	if passes > 3 {
		t.Errorf("%d passes for %d label steps; want one pass for all (and one to see it converged)", passes, n)
	}
	if counter.nodesListed > 10*n {
		t.Errorf("%d nodes listed in all for %d nodes: not O(N)", counter.nodesListed, n)
	}
}

// countingDocker counts calls and the nodes the lists return.
type countingDocker struct {
	controller.Docker
	nodesListed int
}

func (c *countingDocker) NodeList(ctx context.Context, o swarm.NodeListOptions) ([]swarm.Node, error) {
	ns, err := c.Docker.NodeList(ctx, o)
	c.nodesListed += len(ns)
	return ns, err
}

// A drain that timed out still counts against maxUnavailable: the next pass does not send the
// next drain until that one's tasks have moved.
func TestTheNextDrainWaitsForOneThatTimedOut(t *testing.T) {
	s := cluster(5, 3, "a", "b", "c")
	id := s.AddService(fakeswarm.ServiceConfig{Name: "slow", Replicas: 5, StartAfter: 1 << 30})
	c, h := newController(t, s, (&toy{managers: []string{"node1", "node2", "node3"}, drain: true}).plan,
		controller.Options{DrainTimeout: 5e9})
	drained := func() (out []string) {
		_, avail, _ := world(s)
		for _, host := range []string{"node1", "node2", "node3"} {
			if avail[host] == swarm.NodeAvailabilityDrain {
				out = append(out, host)
			}
		}
		return out
	}
	for i := range 3 {
		if _, err := c.Reconcile(context.Background()); err == nil || !strings.Contains(err.Error(), "drain did not finish") {
			t.Fatalf("pass %d: %v; want the drain timeout", i+1, err)
		}
		if d := drained(); len(d) != 1 {
			t.Fatalf("after pass %d, drained managers %v; want only the first while its tasks have not moved", i+1, d)
		}
	}
	if len(h.logs.find("Next drain held: an earlier drain has not finished")) == 0 {
		t.Errorf("no log says the next drain is held")
	}
	s.SetTaskStartAfter(id, 1)
	if _, err := c.Once(context.Background()); err != nil {
		t.Fatalf("Once once the tasks can move: %v", err)
	}
	if d := drained(); len(d) != 3 {
		t.Errorf("drained managers %v; want all three", d)
	}
}

// touchOnce bumps a node's version right after the controller read it, once: its update then
// carries a stale version.
type touchOnce struct {
	*fakeswarm.Swarm
	node    string
	touched bool
	mu      sync.Mutex
}

func (d *touchOnce) NodeInspectWithRaw(ctx context.Context, id string) (swarm.Node, []byte, error) {
	n, raw, err := d.Swarm.NodeInspectWithRaw(ctx, id)
	d.mu.Lock()
	defer d.mu.Unlock()
	if id == d.node && !d.touched {
		d.touched = true
		d.Touch(id)
	}
	return n, raw, err
}

// Parallel updates still send the version they read: the one node that changed meanwhile is
// refused "update out of sequence" and planned again; the others are not held back.
func TestAParallelUpdateWithAStaleVersionIsPlannedAgain(t *testing.T) {
	s := cluster(8, 3)
	labels := map[string]map[string]string{}
	for _, n := range s.Nodes() {
		labels[n.Description.Hostname] = map[string]string{"tier": "app"}
	}
	d := &touchOnce{Swarm: s, node: s.ID("node5")}
	c, _ := newController(t, s, (&toy{managers: []string{"node1", "node2", "node3"}, labels: labels}).plan, controller.Options{Docker: d})
	if _, err := c.Once(context.Background()); err != nil {
		t.Fatalf("Once: %v", err)
	}
	_, _, got := world(s)
	for host, l := range got {
		if l["tier"] != "app" {
			t.Errorf("%s labels %v, want tier=app", host, l)
		}
	}
	var node5 []string
	for _, call := range s.Calls() {
		if call.Node == s.ID("node5") {
			node5 = append(node5, fmt.Sprint(call.Err))
		}
	}
	if len(node5) != 2 || !strings.Contains(node5[0], "update out of sequence") || node5[1] != "<nil>" {
		t.Errorf("node5's updates: %v; want one refused out of sequence, then one that lands", node5)
	}
}
