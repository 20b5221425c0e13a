package fakeswarm

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// Drained, a node's tasks shut down and their replacements start on the other active nodes a
// few task reads later; with no node that fits, they stay pending with the scheduler's reason.
func TestTasksMoveOffADrainedNode(t *testing.T) {
	s := New(NodeConfig{Hostname: "m1", Manager: true}, NodeConfig{Hostname: "w1"}, NodeConfig{Hostname: "w2"})
	web := s.AddService(ServiceConfig{Name: "web", Replicas: 3})
	ctl := s.AddService(ServiceConfig{Name: "ctl", Replicas: 1, Role: swarm.NodeRoleManager})
	if got := s.RunningTasks(); got[s.ID("m1")] != 2 || got[s.ID("w1")]+got[s.ID("w2")] != 2 {
		t.Fatalf("placed %v; want web spread one per node and ctl on m1", got)
	}
	n, _ := s.Node("m1")
	n.Spec.Availability = swarm.NodeAvailabilityDrain
	if err := s.NodeUpdate(context.Background(), n.ID, n.Version, n.Spec); err != nil {
		t.Fatal(err)
	}
	list := func(f ...filters.KeyValuePair) []swarm.Task {
		ts, err := s.TaskList(context.Background(), swarm.TaskListOptions{Filters: filters.NewArgs(f...)})
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	for range DefaultTaskStartAfter + 1 {
		list()
	}
	if got := s.RunningTasks(); got[s.ID("m1")] != 0 || got[s.ID("w1")]+got[s.ID("w2")] != 3 {
		t.Errorf("after the drain: %v; want web's 3 tasks on w1 and w2, nothing on m1", got)
	}
	if p := s.PendingTasks(); len(p) != 1 || p[0] != ctl+": no suitable node (scheduling constraints not satisfied on 3 nodes)" {
		t.Errorf("pending %v; want ctl's task with the scheduler's reason", p)
	}
	if ts := list(filters.Arg("service", web), filters.Arg("desired-state", "running")); len(ts) != 3 {
		t.Errorf("web's tasks meant to run: %d, want 3", len(ts))
	}
}

// A view answers the task list as its own node would: a manager's view lists tasks even when
// the swarm's default node is a worker (found by the simulator, seed 271: the instance on the
// leader was told "not a swarm manager" and stopped acting).
func TestAViewListsTasksAsItsOwnNode(t *testing.T) {
	s := New(NodeConfig{Hostname: "m1", Manager: true, Leader: true}, NodeConfig{Hostname: "m2", Manager: true},
		NodeConfig{Hostname: "m3", Manager: true}, NodeConfig{Hostname: "w1"})
	s.SetSelf(s.ID("w1"))
	if _, err := s.ViewFrom(s.ID("m1")).TaskList(context.Background(), swarm.TaskListOptions{}); err != nil {
		t.Errorf("TaskList through the leader's view = %v; want the tasks", err)
	}
	if _, err := s.ViewFrom(s.ID("w1")).TaskList(context.Background(), swarm.TaskListOptions{}); err == nil {
		t.Error("TaskList through a worker's view answered; want not a swarm manager")
	}
}
