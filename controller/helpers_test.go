package controller_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// toy is a small stand-in for the planner: the real one is written elsewhere, and the
// controller must work with whatever plan it is given. It wants the named hosts as managers,
// optionally drained, and some labels. It deliberately does not block when the swarm has no
// leader, so the tests show that the controller blocks on its own.
type toy struct {
	managers   []string
	drain      bool
	labels     map[string]map[string]string
	removeDown bool
}

func (p *toy) plan(_ *spec.SwarmTopology, s reconcile.Snapshot) (*reconcile.Plan, error) {
	plan := &reconcile.Plan{Time: s.Time}
	want := map[string]bool{}
	for _, h := range p.managers {
		want[h] = true
	}
	members, reachable := 0, 0
	for _, n := range s.Nodes {
		if n.Member {
			members++
			if n.Reachability == reconcile.ReachabilityReachable {
				reachable++
			}
		}
		if (n.DesiredRole == reconcile.RoleManager) != n.Member {
			plan.InFlight = append(plan.InFlight, reconcile.InFlight{Node: n.ID, Hostname: n.Hostname, To: n.DesiredRole})
		}
	}
	ft := reconcile.FaultTolerance(members, reachable)
	plan.Before = reconcile.Summary{Managers: members, Reachable: reachable, FaultTolerance: ft}
	plan.Floor = min(ft, reconcile.FaultTolerance(len(want), len(want)))
	add := func(a reconcile.Action, n reconcile.Node, lc *reconcile.LabelChange) {
		plan.Steps = append(plan.Steps, reconcile.Step{Action: a, Node: n.ID, Hostname: n.Hostname,
			Zone: n.Labels["az"], Labels: lc, Reason: "toy planner", FaultTolerance: ft})
	}
	for _, n := range s.Nodes {
		lc := &reconcile.LabelChange{Add: map[string]string{}}
		for k, v := range p.labels[n.Hostname] {
			if n.Labels[k] != v {
				lc.Add[k] = v
			}
		}
		if len(lc.Add) > 0 {
			add(reconcile.ActionLabel, n, lc)
		}
	}
	for _, n := range s.Nodes {
		if want[n.Hostname] && !n.Member && n.DesiredRole != reconcile.RoleManager && n.State == reconcile.StateReady {
			add(reconcile.ActionPromote, n, nil)
		}
	}
	var leader *reconcile.Node
	for _, n := range s.Nodes {
		if !want[n.Hostname] && n.Member && n.DesiredRole == reconcile.RoleManager {
			if n.Leader {
				leader = &n
				continue
			}
			add(reconcile.ActionDemote, n, nil)
		}
	}
	if leader != nil {
		add(reconcile.ActionDemote, *leader, nil)
	}
	for _, n := range s.Nodes {
		switch {
		case p.drain && want[n.Hostname] && n.Member && n.Availability != spec.AvailabilityDrain:
			add(reconcile.ActionDrain, n, nil)
		case p.drain && !want[n.Hostname] && !n.Member && n.DesiredRole == reconcile.RoleWorker && n.Availability == spec.AvailabilityDrain:
			add(reconcile.ActionActivate, n, nil)
		case p.removeDown && !n.Member && n.DesiredRole == reconcile.RoleWorker && n.State == reconcile.StateDown:
			add(reconcile.ActionRemove, n, nil)
		}
	}
	return plan, nil
}

// logSink collects log lines so tests can check what the controller said it did.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, args)
	}, funcr.Options{Verbosity: 1})
}

// find returns the log lines whose message is msg.
func (l *logSink) find(msg string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.Contains(line, fmt.Sprintf("%q=%q", "msg", msg)) {
			out = append(out, line)
		}
	}
	return out
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

type harness struct {
	swarm *fakeswarm.Swarm
	clock *fakeswarm.Clock
	logs  *logSink
	steps []controller.StepResult
	plans []*reconcile.Plan
	mu    sync.Mutex
}

// newController wires a controller to a fake swarm with an auto clock unless o says otherwise.
func newController(t *testing.T, s *fakeswarm.Swarm, p controller.Planner, o controller.Options) (*controller.Controller, *harness) {
	t.Helper()
	h := &harness{swarm: s, logs: &logSink{}}
	if o.Clock == nil {
		h.clock = fakeswarm.NewAutoClock(epoch)
		o.Clock = h.clock
	} else {
		h.clock, _ = o.Clock.(*fakeswarm.Clock)
	}
	o.Topology = func() *spec.SwarmTopology { return &spec.SwarmTopology{} }
	if o.Docker == nil {
		o.Docker = s
	}
	o.Planner = p
	o.Log = h.logs.logger()
	o.OnStep = func(r controller.StepResult) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.steps = append(h.steps, r)
	}
	o.OnPlan = func(p *reconcile.Plan) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.plans = append(h.plans, p)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("controller log:\n%s", h.logs)
		}
	})
	return controller.New(o), h
}

func (h *harness) results() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.steps {
		out = append(out, fmt.Sprintf("%s %s: %s", r.Step.Action, r.Step.Hostname, r.Result))
	}
	return out
}

// cluster builds a swarm of hostnames node1..nodeN; the first m are managers, node1 leads.
func cluster(n, m int, zones ...string) *fakeswarm.Swarm {
	var cfgs []fakeswarm.NodeConfig
	for i := 1; i <= n; i++ {
		c := fakeswarm.NodeConfig{Hostname: fmt.Sprintf("node%d", i), Manager: i <= m, Leader: i == 1}
		if len(zones) > 0 {
			c.Labels = map[string]string{"az": zones[(i-1)%len(zones)]}
		}
		cfgs = append(cfgs, c)
	}
	return fakeswarm.New(cfgs...)
}

// world summarises what tests assert on: managers, and availability and labels per node.
func world(s *fakeswarm.Swarm) (managers []string, avail map[string]swarm.NodeAvailability, labels map[string]map[string]string) {
	avail = map[string]swarm.NodeAvailability{}
	labels = map[string]map[string]string{}
	for _, n := range s.Nodes() {
		if n.ManagerStatus != nil {
			managers = append(managers, n.Description.Hostname)
		}
		avail[n.Description.Hostname] = n.Spec.Availability
		labels[n.Description.Hostname] = maps.Clone(n.Spec.Labels)
	}
	slices.Sort(managers)
	return managers, avail, labels
}
