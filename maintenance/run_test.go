package maintenance

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/go-logr/logr/funcr"
)

// tick is a clock that Sleep advances.
type tick struct{ now time.Time }

func (c *tick) Now() time.Time { return c.now }
func (c *tick) Sleep(context.Context, time.Duration) error {
	c.now = c.now.Add(time.Second)
	return nil
}

// moving serves one replicated service with a task on node; once node is drained its task
// shuts down and the replacement on other runs after a few polls, or, with unplaceable, stays
// pending with the scheduler's reason.
func moving(f *fake, node, other string, unplaceable bool) {
	polls := 0
	f.tasks = func(o swarm.TaskListOptions) []swarm.Task {
		n, _ := f.Node(node)
		drained := n.Spec.Availability == swarm.NodeAvailabilityDrain
		onNode := swarm.Task{ID: "t1", ServiceID: "svc1", NodeID: node, DesiredState: swarm.TaskStateRunning,
			Status: swarm.TaskStatus{State: swarm.TaskStateRunning}}
		var repl []swarm.Task
		if drained {
			polls++
			onNode.DesiredState, onNode.Status.State = swarm.TaskStateShutdown, swarm.TaskStateShutdown
			r := swarm.Task{ID: "t2", ServiceID: "svc1", NodeID: other, DesiredState: swarm.TaskStateRunning,
				Status: swarm.TaskStatus{State: swarm.TaskStatePending}}
			if unplaceable {
				r.NodeID = ""
				r.Status.Err = "no suitable node (scheduling constraints not satisfied on 5 nodes)"
			} else if polls > 3 {
				r.Status.State = swarm.TaskStateRunning
			}
			repl = append(repl, r)
		}
		var out []swarm.Task
		for _, t := range append([]swarm.Task{onNode}, repl...) {
			if o.Filters.Contains("node") && !o.Filters.ExactMatch("node", t.NodeID) {
				continue
			}
			if o.Filters.Contains("service") && !o.Filters.ExactMatch("service", t.ServiceID) {
				continue
			}
			if o.Filters.Contains("desired-state") && !o.Filters.ExactMatch("desired-state", string(t.DesiredState)) {
				continue
			}
			out = append(out, t)
		}
		return out
	}
}

func runOpts(c *tick, lines *[]string, cmd ...string) RunOptions {
	devnull, _ := os.Open(os.DevNull)
	return RunOptions{
		Drain: true, Command: cmd, Now: c.Now, Sleep: c.Sleep, Stdout: devnull, Stderr: devnull,
		Stable: 3 * time.Second, DrainTimeout: time.Minute, WaitTimeout: time.Minute,
		Log: funcr.New(func(_, args string) { *lines = append(*lines, args) }, funcr.Options{}),
	}
}

func TestRunDrainsWaitsForTheTasksRunsAndPutsTheNodeBack(t *testing.T) {
	f := fiveManagers()
	moving(f, f.ID("node2"), f.ID("node6"), false)
	c := &tick{now: t0}
	var lines []string
	if _, err := Run(context.Background(), f, req("node2"), runOpts(c, &lines, "true")); err != nil {
		t.Fatalf("Run: %v", err)
	}
	n, _ := f.Node("node2")
	if n.Spec.Availability != swarm.NodeAvailabilityActive {
		t.Errorf("availability after = %s; want it put back to active", n.Spec.Availability)
	}
	if _, ok := f.label(); ok {
		t.Error("lock not released")
	}
	log := strings.Join(lines, "\n")
	if !strings.Contains(log, "Waiting for the drain") || !strings.Contains(log, "Drain done: the node's tasks run elsewhere") {
		t.Errorf("log does not show the drain waiting, then done:\n%s", log)
	}
}

func TestADrainWhoseTasksCannotBePlacedSaysWhichAndWhy(t *testing.T) {
	f := fiveManagers()
	moving(f, f.ID("node2"), "", true)
	c := &tick{now: t0}
	var lines []string
	if _, err := Run(context.Background(), f, req("node2"), runOpts(c, &lines, "true")); err != nil {
		t.Fatalf("Run: %v", err)
	}
	log := strings.Join(lines, "\n")
	if !strings.Contains(log, "cannot be placed") || !strings.Contains(log, "svc1 (no suitable node") {
		t.Errorf("log does not name the service and the reason:\n%s", log)
	}
}

func TestACommandThatFailsKeepsTheLock(t *testing.T) {
	f := fiveManagers()
	c := &tick{now: t0}
	var lines []string
	o := runOpts(c, &lines, "false")
	o.Drain = false
	_, err := Run(context.Background(), f, req("node2"), o)
	if !errors.Is(err, ErrCommand) || !strings.Contains(err.Error(), "stays in maintenance") {
		t.Fatalf("Run = %v; want ErrCommand saying the lock is kept", err)
	}
	if l, _, _ := Current(context.Background(), f, c.now); l == nil || l.Hostname != "node2" {
		t.Errorf("lock = %+v; want node2's kept", l)
	}
}

func TestRunWaitsForTheManagerToBeReachableAgain(t *testing.T) {
	f := fiveManagers()
	c := &tick{now: t0}
	var lines []string
	id := f.ID("node2")
	polls := 0
	o := runOpts(c, &lines, "true")
	o.Drain = false
	// The daemon's stop shows only after the first poll (the managers still list it
	// reachable), and it comes back after some polls.
	o.Sleep = func(ctx context.Context, d time.Duration) error {
		switch polls++; polls {
		case 1:
			f.Kill(id)
		case 5:
			f.Revive(id)
		}
		return c.Sleep(ctx, d)
	}
	if _, err := Run(context.Background(), f, req("node2"), o); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if polls < 5+3 {
		t.Errorf("Run returned after %d polls; the node came back at 5 and must stay so for 3", polls)
	}
}

func TestRunRefusesTheNodeItTalksThrough(t *testing.T) {
	f := fiveManagers()
	c := &tick{now: t0}
	var lines []string
	_, err := Run(context.Background(), f, req("node1"), runOpts(c, &lines, "true"))
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "another manager") {
		t.Fatalf("Run = %v; want refused", err)
	}
	if _, ok := f.label(); ok {
		t.Error("lock left behind")
	}
}
