package fakeswarm

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/docker/docker/api/types/swarm"
)

// DefaultTaskStartAfter is how many TaskList calls a new task takes to run, and a stopping task
// to stop: enough for a drain to be seen waiting.
const DefaultTaskStartAfter = 2

// ServiceConfig describes a replicated service for AddService.
type ServiceConfig struct {
	Name     string
	Replicas int
	// Role, if set, is the placement constraint node.role == Role.
	Role swarm.NodeRole
	// Labels, if set, are constraints node.labels.K == V.
	Labels map[string]string
	// StartAfter is how many TaskList calls a task takes to start or stop;
	// DefaultTaskStartAfter if zero, immediately if negative.
	StartAfter int
}

// The task model lives in this file: it is kept beside each Swarm (under the swarm's lock)
// rather than in it, so the node model in swarm.go stays as it is.
var taskModels sync.Map // *Swarm → *taskModel

type taskModel struct {
	tick     int
	services []*fakeService
	tasks    []*fakeTask
	seq      int
}

type fakeService struct {
	id string
	c  ServiceConfig
}

type fakeTask struct {
	t      swarm.Task
	svc    *fakeService
	moveAt int // tick at which the task reaches its next state; 0 none
}

func (s *Swarm) tasksLocked() *taskModel {
	m, _ := taskModels.LoadOrStore(s, &taskModel{})
	return m.(*taskModel)
}

// AddService adds a replicated service whose tasks run at once on the active, ready nodes that
// fit it (the fewest tasks first), and returns its ID. From then on the swarm schedules it as
// swarm does: a task on a node that is drained (or down, or gone) shuts down and a replacement
// starts on another node that fits, or stays pending with the scheduler's reason.
func (s *Swarm) AddService(c ServiceConfig) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.tasksLocked()
	svc := &fakeService{id: StableID("service-" + c.Name), c: c}
	m.services = append(m.services, svc)
	s.scheduleLocked(m, svc, true)
	return svc.id
}

// TaskList lists the tasks, filtered by node, service and desired-state as the API does; each
// call is a tick of the scheduler.
func (s *Swarm) TaskList(ctx context.Context, o swarm.TaskListOptions) ([]swarm.Task, error) {
	if hung, err := s.hang(ctx, false, ""); hung {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taskListLocked(o)
}

func (s *Swarm) taskListLocked(o swarm.TaskListOptions) ([]swarm.Task, error) {
	if err := s.gateLocked(); err != nil {
		return nil, err
	}
	m := s.tasksLocked()
	m.tick++
	s.stepTasksLocked(m)
	out := []swarm.Task{}
	for _, t := range m.tasks {
		if (o.Filters.Contains("node") && !o.Filters.ExactMatch("node", t.t.NodeID)) ||
			(o.Filters.Contains("service") && !o.Filters.ExactMatch("service", t.t.ServiceID)) ||
			(o.Filters.Contains("desired-state") && !o.Filters.ExactMatch("desired-state", string(t.t.DesiredState))) {
			continue
		}
		out = append(out, t.t)
	}
	return out, nil
}

// TaskList is Swarm.TaskList as the view's node answers it.
func (v *View) TaskList(ctx context.Context, o swarm.TaskListOptions) ([]swarm.Task, error) {
	if hung, err := v.s.hang(ctx, false, v.self); hung {
		return nil, err
	}
	var (
		out []swarm.Task
		err error
	)
	v.locked(func() { out, err = v.s.taskListLocked(o) })
	return out, err
}

// RunningTasks returns, per node ID, how many tasks are running there.
func (s *Swarm) RunningTasks() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, t := range s.tasksLocked().tasks {
		if t.t.Status.State == swarm.TaskStateRunning {
			out[t.t.NodeID]++
		}
	}
	return out
}

// PendingTasks returns how many tasks wait to be placed, with their reasons.
func (s *Swarm) PendingTasks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, t := range s.tasksLocked().tasks {
		if t.t.DesiredState == swarm.TaskStateRunning && t.t.Status.State == swarm.TaskStatePending {
			out = append(out, t.t.ServiceID+": "+t.t.Status.Err)
		}
	}
	return out
}

func (s *Swarm) stepTasksLocked(m *taskModel) {
	for _, t := range m.tasks {
		if t.moveAt > 0 && m.tick >= t.moveAt {
			t.moveAt = 0
			switch t.t.DesiredState {
			case swarm.TaskStateRunning:
				t.t.Status.State = swarm.TaskStateRunning
			case swarm.TaskStateShutdown:
				t.t.Status.State = swarm.TaskStateShutdown
			}
		}
		if t.t.DesiredState != swarm.TaskStateRunning || t.t.NodeID == "" {
			continue
		}
		if n, ok := s.nodes[t.t.NodeID]; !ok || n.n.Spec.Availability == swarm.NodeAvailabilityDrain || n.n.Status.State == swarm.NodeStateDown {
			t.t.DesiredState = swarm.TaskStateShutdown
			t.moveAt = m.tick + startAfter(t.svc.c)
			if t.moveAt == m.tick {
				t.t.Status.State = swarm.TaskStateShutdown
			}
		}
	}
	for _, svc := range m.services {
		s.scheduleLocked(m, svc, false)
	}
}

func startAfter(c ServiceConfig) int {
	switch {
	case c.StartAfter < 0:
		return 0
	case c.StartAfter == 0:
		return DefaultTaskStartAfter
	}
	return c.StartAfter
}

// scheduleLocked gives svc its replicas: pending tasks are placed if a node fits now, and
// missing ones are created. now starts them running at once (a service that was already up).
func (s *Swarm) scheduleLocked(m *taskModel, svc *fakeService, now bool) {
	live := 0
	load := map[string]int{}
	for _, t := range m.tasks {
		if t.t.DesiredState == swarm.TaskStateRunning {
			load[t.t.NodeID]++
			if t.svc == svc {
				live++
			}
		}
	}
	for _, t := range m.tasks {
		if t.svc == svc && t.t.DesiredState == swarm.TaskStateRunning && t.t.NodeID == "" {
			s.placeLocked(m, t, load, now)
		}
	}
	for ; live < svc.c.Replicas; live++ {
		m.seq++
		t := &fakeTask{svc: svc, t: swarm.Task{
			ID:           StableID(fmt.Sprintf("task-%s-%d", svc.id, m.seq)),
			ServiceID:    svc.id,
			Slot:         live + 1,
			DesiredState: swarm.TaskStateRunning,
		}}
		m.tasks = append(m.tasks, t)
		s.placeLocked(m, t, load, now)
	}
}

// placeLocked puts t on the fitting node with the fewest tasks, or leaves it pending with the
// reason swarm's scheduler gives.
func (s *Swarm) placeLocked(m *taskModel, t *fakeTask, load map[string]int, now bool) {
	var fits []string
	for _, id := range s.order {
		n := s.nodes[id].n
		if n.Spec.Availability != swarm.NodeAvailabilityActive || n.Status.State != swarm.NodeStateReady {
			continue
		}
		if t.svc.c.Role != "" && n.Spec.Role != t.svc.c.Role {
			continue
		}
		ok := true
		for k, v := range t.svc.c.Labels {
			ok = ok && n.Spec.Labels[k] == v
		}
		if ok {
			fits = append(fits, id)
		}
	}
	if len(fits) == 0 {
		t.t.NodeID, t.t.Status.State = "", swarm.TaskStatePending
		t.t.Status.Err = fmt.Sprintf("no suitable node (scheduling constraints not satisfied on %d nodes)", len(s.order))
		return
	}
	sort.SliceStable(fits, func(i, j int) bool { return load[fits[i]] < load[fits[j]] })
	t.t.NodeID, t.t.Status.Err = fits[0], ""
	load[fits[0]]++
	t.t.Status.State, t.moveAt = swarm.TaskStateAssigned, m.tick+startAfter(t.svc.c)
	if now || t.moveAt == m.tick {
		t.t.Status.State, t.moveAt = swarm.TaskStateRunning, 0
	}
}

// SetTaskStartAfter changes how many TaskList calls the tasks of service id take to start or
// stop from now on, including those already on their way.
func (s *Swarm) SetTaskStartAfter(id string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.tasksLocked()
	for _, svc := range m.services {
		if svc.id == id {
			svc.c.StartAfter = n
		}
	}
	for _, t := range m.tasks {
		if t.svc.id == id && t.moveAt > 0 {
			t.moveAt = m.tick + startAfter(t.svc.c)
		}
	}
}
