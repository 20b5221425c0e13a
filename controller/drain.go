package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// ErrDrainTimeout means a drained node's tasks did not stop, or their replacements did not
// start elsewhere, within the drain timeout.
var ErrDrainTimeout = errors.New("controller: drain did not finish")

// TaskReader is the one call a drain needs to see its tasks move: GET /tasks.
type TaskReader interface {
	TaskList(ctx context.Context, options swarm.TaskListOptions) ([]swarm.Task, error)
}

// TasksOn returns the services with a task meant to run on node: read before the node is
// drained, it is what the drain must see running elsewhere.
func TasksOn(ctx context.Context, d TaskReader, node string) (map[string]bool, error) {
	ts, err := d.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(
		filters.Arg("node", node), filters.Arg("desired-state", "running"))})
	if err != nil {
		return nil, fmt.Errorf("listing the tasks on %s: %w", node, err)
	}
	out := map[string]bool{}
	for _, t := range ts {
		out[t.ServiceID] = true
	}
	return out, nil
}

// CountTasks returns how many tasks are meant to run on each node (desired state running),
// from one list of all tasks: what a drain of that node moves.
func CountTasks(ctx context.Context, d TaskReader) (map[string]int, error) {
	ts, err := d.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("desired-state", "running"))})
	if err != nil {
		return nil, fmt.Errorf("listing the tasks: %w", err)
	}
	out := map[string]int{}
	for _, t := range ts {
		if t.NodeID != "" {
			out[t.NodeID]++
		}
	}
	return out, nil
}

// DrainState is what a drain still waits for.
type DrainState struct {
	// Running counts the tasks still running (or starting) on the node.
	Running int
	// Pending lists the services whose replacements are not running yet.
	Pending []string
	// Unplaceable lists the services whose replacements the scheduler cannot place, each
	// with the scheduler's reason ("no suitable node (…)").
	Unplaceable []string
}

// Done reports whether nothing runs on the node and every replacement runs or cannot be
// placed at all: waiting longer would not change anything.
func (s DrainState) Done() bool { return s.Running == 0 && len(s.Pending) == 0 }

func (s DrainState) String() string {
	parts := []string{fmt.Sprintf("%d task(s) still running on the node", s.Running)}
	if len(s.Pending) > 0 {
		parts = append(parts, "not yet running elsewhere: "+strings.Join(s.Pending, ", "))
	}
	if len(s.Unplaceable) > 0 {
		parts = append(parts, "cannot be placed: "+strings.Join(s.Unplaceable, "; "))
	}
	return strings.Join(parts, "; ")
}

// DrainLeft reads what the drain of node still waits for: its tasks that still run, and the
// services (those it ran before the drain) whose replacements do not run yet. A replacement
// that is pending with an error from the scheduler cannot be placed anywhere: the services it
// belongs to are listed with the reason instead of being waited for.
func DrainLeft(ctx context.Context, d TaskReader, node string, services map[string]bool) (DrainState, error) {
	var st DrainState
	onNode, err := d.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("node", node))})
	if err != nil {
		return st, fmt.Errorf("listing the tasks on %s: %w", node, err)
	}
	for _, t := range onNode {
		if t.Status.State == swarm.TaskStateRunning || t.Status.State == swarm.TaskStateStarting {
			st.Running++
		}
	}
	ids := make([]string, 0, len(services))
	for id := range services {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		ts, err := d.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(
			filters.Arg("service", id), filters.Arg("desired-state", "running"))})
		if err != nil {
			return st, fmt.Errorf("listing the tasks of service %s: %w", id, err)
		}
		for _, t := range ts {
			if t.NodeID == node {
				continue // a global service's task: it stops with the drain, nothing replaces it
			}
			if t.Status.State == swarm.TaskStateRunning {
				continue
			}
			if t.Status.State == swarm.TaskStatePending && t.Status.Err != "" {
				// The scheduler said why it cannot place it ("no suitable node (…)").
				st.Unplaceable = append(st.Unplaceable, fmt.Sprintf("%s (%s)", id, t.Status.Err))
			} else {
				st.Pending = append(st.Pending, id)
			}
			break
		}
	}
	return st, nil
}

// countTasks fills in how many tasks each drain of the plan moves, from one task list; a plan
// without a drain reads nothing. A failed read leaves the counts out.
func (c *Controller) countTasks(ctx context.Context, p *reconcile.Plan) {
	drains := false
	for _, st := range p.Steps {
		drains = drains || st.MovesTasks()
	}
	if !drains {
		return
	}
	counts, err := CountTasks(ctx, bounded{r: c.r, timeout: c.o.CallTimeout})
	if err != nil {
		c.o.Log.Info("Could not count the tasks the drains move", "error", err.Error())
		return
	}
	for i := range p.Steps {
		if p.Steps[i].MovesTasks() {
			n := counts[p.Steps[i].Node]
			p.Steps[i].Tasks = &n
		}
	}
}
