package controller_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// brokenInfo is a daemon whose Info fails.
type brokenInfo struct{ *fakeswarm.View }

func (brokenInfo) Info(context.Context) (system.Info, error) {
	return system.Info{}, errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
}

func TestLeaderGate(t *testing.T) {
	tests := []struct {
		name   string
		on     string
		setup  func(s *fakeswarm.Swarm)
		wrap   func(v *fakeswarm.View) controller.Reader
		active bool
		want   []string
	}{
		{name: "The instance on the leader may act", on: "node1", active: true},
		{name: "An instance on another manager stands by and names the leader", on: "node2",
			want: []string{"node node2 is not the raft leader (leader is node1)"}},
		{name: "An instance on a worker stands by", on: "node4",
			want: []string{"is not a manager"}},
		{name: "An instance whose daemon does not answer stands by", on: "node1",
			wrap: func(v *fakeswarm.View) controller.Reader { return brokenInfo{v} },
			want: []string{"cannot tell whether this node leads", "Cannot connect"}},
		{name: "Nobody may act during an election", on: "node2",
			setup: func(s *fakeswarm.Swarm) {
				s.ElectionReads = 1000
				n, _ := s.Node("node1")
				n.Spec.Role = swarm.NodeRoleWorker
				if err := s.NodeUpdate(context.Background(), n.ID, n.Version, n.Spec); err != nil {
					panic(err)
				}
			},
			want: []string{"cannot tell whether node", "does not have a leader"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := cluster(4, 3)
			if tc.setup != nil {
				tc.setup(s)
			}
			v := s.ViewFrom(s.ID(tc.on))
			var d controller.Reader = v
			if tc.wrap != nil {
				d = tc.wrap(v)
			}
			l, err := controller.CheckLeader(context.Background(), d, 0)
			if gerr := controller.LeaderGate(d, 0)(context.Background()); (gerr == nil) != (err == nil) {
				t.Errorf("LeaderGate = %v, CheckLeader = %v; want the same answer", gerr, err)
			}
			if tc.active {
				if err != nil || !l.Active() || l.Leader != s.ID("node1") || l.SelfHostname != "node1" {
					t.Fatalf("CheckLeader = %+v, %v; want node1 active", l, err)
				}
				return
			}
			if !errors.Is(err, controller.ErrStandby) || l.Active() {
				t.Fatalf("CheckLeader = %+v, %v; want a standby error", l, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if len(s.Calls()) > 1 {
				t.Errorf("the gate made mutating calls: %+v", s.Calls())
			}
		})
	}
}

// gateFunc is a gate whose answers a test scripts: the n-th call (from 0) returns answer(n).
type gateFunc struct {
	calls  atomic.Int32
	answer func(n int) error
}

func (g *gateFunc) gate(context.Context) error {
	return g.answer(int(g.calls.Add(1) - 1))
}

var errNotLeader = fmt.Errorf("%w: node node9 is not the raft leader (leader is node1)", controller.ErrStandby)

func TestTheGateHoldsBackMutatingCalls(t *testing.T) {
	tests := []struct {
		name string
		// answer is the gate's n-th answer; the first is the pass's, the second the one just
		// before the call.
		answer    func(n int) error
		wantGates int32
		result    string
	}{
		{"A closed gate stops the pass before anything is applied",
			func(int) error { return errNotLeader }, 1, ""},
		{"A gate that closes between the pass's look and the call stops the call",
			func(n int) error {
				if n == 0 {
					return nil
				}
				return errNotLeader
			}, 2, controller.ResultStandby},
		{"Any gate error counts as standing by",
			func(int) error { return errors.New("cannot reach the daemon") }, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := cluster(4, 3)
			g := &gateFunc{answer: tc.answer}
			p := toy{managers: []string{"node1", "node2", "node3"}, labels: map[string]map[string]string{"node4": {"az": "d"}}}
			c, h := newController(t, s, p.plan, controller.Options{Gate: g.gate})
			res, err := c.Reconcile(context.Background())
			if err != nil || !res.StandingBy() {
				t.Fatalf("Reconcile = %+v, %v; want a standby result and no error", res, err)
			}
			if res.Plan == nil || len(res.Plan.Steps) != 1 {
				t.Errorf("the plan is not reported on standby: %+v", res.Plan)
			}
			if got := g.calls.Load(); got != tc.wantGates {
				t.Errorf("gate asked %d times, want %d", got, tc.wantGates)
			}
			if calls := s.Calls(); len(calls) != 0 {
				t.Errorf("mutating calls while standing by: %+v", calls)
			}
			if got := h.results(); len(got) != 0 {
				t.Errorf("OnStep called for steps not attempted: %v", got)
			}
			if tc.result != "" && (res.Step == nil || res.Step.Result != tc.result) {
				t.Errorf("step = %+v, want result %s", res.Step, tc.result)
			}
			if n := len(h.logs.find("Standing by: another instance changes the swarm")); n != 1 {
				t.Errorf("standing by logged %d times, want once", n)
			}
		})
	}
}

func TestTheGateIsAskedAfterTheSafetyCheck(t *testing.T) {
	// A step the safety check refuses is never put to the gate: the pass's own look is the
	// only question asked.
	s := cluster(4, 3)
	s.Kill(s.ID("node3"))
	g := &gateFunc{answer: func(int) error { return nil }}
	st := reconcile.Step{Action: reconcile.ActionDemote, Node: s.ID("node2"), Hostname: "node2"}
	planner := func(_ *spec.SwarmTopology, snap reconcile.Snapshot) (*reconcile.Plan, error) {
		return &reconcile.Plan{Steps: []reconcile.Step{st}, Time: snap.Time}, nil
	}
	c, _ := newController(t, s, planner, controller.Options{Gate: g.gate})
	res, err := c.Reconcile(context.Background())
	if err != nil || res.Step == nil || res.Step.Result != controller.ResultRefused {
		t.Fatalf("Reconcile = %+v, %v; want the step refused", res.Step, err)
	}
	if got := g.calls.Load(); got != 1 {
		t.Errorf("gate asked %d times, want once (the pass's look only)", got)
	}
}

func TestRunStandsByWithoutBackoff(t *testing.T) {
	s := cluster(3, 1)
	s.MuteEvents(true)
	clk := fakeswarm.NewClock(epoch)
	var open atomic.Bool
	g := &gateFunc{answer: func(int) error {
		if open.Load() {
			return nil
		}
		return errNotLeader
	}}
	p := toy{managers: []string{"node1"}, labels: map[string]map[string]string{"node2": {"az": "b"}}}
	c, h := newController(t, s, p.plan, controller.Options{Clock: clk, Gate: g.gate})
	startRun(t, c)
	for i := range 3 {
		waitAfters(t, clk, i+1)
		if got := clk.Afters()[i]; got != controller.DefaultResync {
			t.Fatalf("wait %d while standing by = %s, want the resync period (waits %v)", i+1, got, clk.Afters())
		}
		clk.Advance(controller.DefaultResync)
	}
	waitAfters(t, clk, 4)
	if got := labelOf(s, "node2", "az"); got != "" || len(s.Calls()) != 0 {
		t.Fatalf("a standing-by instance changed the swarm: az=%q calls %+v", got, s.Calls())
	}
	open.Store(true)
	clk.Advance(controller.DefaultResync)
	waitAfters(t, clk, 5)
	if got := labelOf(s, "node2", "az"); got != "b" {
		t.Errorf("once active the loop did not act: az=%q", got)
	}
	for msg, want := range map[string]int{
		"Standing by: another instance changes the swarm": 1,
		"Active: this instance changes the swarm":         1,
		"Reconcile failed":                                0,
	} {
		if n := len(h.logs.find(msg)); n != want {
			t.Errorf("%q logged %d times, want %d", msg, n, want)
		}
	}
}

// instance is one operator process in a multi-instance test: a controller on one node's view.
type instance struct {
	name string
	view *fakeswarm.View
	c    *controller.Controller
	logs *logSink
}

// topologyYAML wants three drained managers among the nodes labelled mgr=yes, spread over the
// zones, and active workers.
const topologyYAML = `apiVersion: swarmtopo.dev/v1alpha1
kind: SwarmTopology
metadata: {name: handoff}
spec:
  managers:
    count: 3
    availability: drain
    selector: {mgr: "yes"}
  workers: {availability: active}
`

// handoffSwarm has node1 (zone a, the leader) as a manager that the topology no longer wants
// (no mgr=yes label), node2 and node3 as wanted managers, and node4 in zone a to take node1's
// place: the plan promotes node4 and demotes the leader last.
func handoffSwarm() *fakeswarm.Swarm {
	yes := func(az string) map[string]string { return map[string]string{"az": az, "mgr": "yes"} }
	s := fakeswarm.New(
		fakeswarm.NodeConfig{Hostname: "node1", Manager: true, Leader: true, Availability: swarm.NodeAvailabilityDrain, Labels: map[string]string{"az": "a"}},
		fakeswarm.NodeConfig{Hostname: "node2", Manager: true, Availability: swarm.NodeAvailabilityDrain, Labels: yes("b")},
		fakeswarm.NodeConfig{Hostname: "node3", Manager: true, Availability: swarm.NodeAvailabilityDrain, Labels: yes("c")},
		fakeswarm.NodeConfig{Hostname: "node4", Labels: yes("a")},
		fakeswarm.NodeConfig{Hostname: "node5", Labels: map[string]string{"az": "b"}},
	)
	s.PromoteAfter, s.DemoteAfter, s.ElectionReads = 3, 3, 3
	return s
}

func newInstances(t *testing.T, s *fakeswarm.Swarm, o controller.Options, on ...string) []*instance {
	t.Helper()
	topo, err := spec.Parse("handoff.yaml", []byte(topologyYAML))
	if err != nil {
		t.Fatal(err)
	}
	var out []*instance
	for _, host := range on {
		in := &instance{name: host, view: s.ViewFrom(s.ID(host)), logs: &logSink{}}
		opts := o
		opts.Topology = func() *spec.SwarmTopology { return topo }
		opts.Docker = in.view
		opts.Gate = controller.LeaderGate(in.view, 0)
		opts.Log = in.logs.logger()
		if opts.Clock == nil {
			opts.Clock = fakeswarm.NewAutoClock(epoch)
		}
		in.c = controller.New(opts)
		out = append(out, in)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("log of the instance on %s:\n%s", host, in.logs)
			}
		})
	}
	return out
}

// checkOneActor asserts what the swarm saw: every mutating call came from the instance on the
// raft leader, no role changed more than once, and quorum was never lost. It returns the role
// changes in order and which instances made calls.
func checkOneActor(t *testing.T, s *fakeswarm.Swarm, ins []*instance) (roleChanges []string, actors []string) {
	t.Helper()
	for _, in := range ins {
		calls := in.view.Calls()
		if len(calls) > 0 {
			actors = append(actors, in.name)
		}
		for _, c := range calls {
			if !c.SelfLed {
				t.Errorf("the instance on %s made a call while its node did not lead: %+v", in.name, c.Call)
			}
		}
	}
	roles := map[string]swarm.NodeRole{}
	host := map[string]string{}
	for _, n := range handoffSwarm().Nodes() {
		roles[n.ID], host[n.ID] = n.Spec.Role, n.Description.Hostname
	}
	for _, c := range s.Calls() {
		if c.Method != "NodeUpdate" || c.Err != nil || c.Spec.Role == roles[c.Node] {
			continue
		}
		roles[c.Node] = c.Spec.Role
		roleChanges = append(roleChanges, fmt.Sprintf("%s %s", c.Spec.Role, host[c.Node]))
	}
	if _, lost := s.LowestFaultTolerance(); lost {
		t.Errorf("quorum was lost")
	}
	return roleChanges, actors
}

func checkHandedOver(t *testing.T, s *fakeswarm.Swarm) {
	t.Helper()
	managers, avail, _ := world(s)
	if want := []string{"node2", "node3", "node4"}; !slices.Equal(managers, want) {
		t.Errorf("managers = %v, want %v", managers, want)
	}
	for host, want := range map[string]swarm.NodeAvailability{"node2": "drain", "node3": "drain", "node4": "drain", "node5": "active"} {
		if avail[host] != want {
			t.Errorf("%s availability = %s, want %s", host, avail[host], want)
		}
	}
}

func TestLeaderHandoff(t *testing.T) {
	tests := []struct {
		name string
		// afterPromote runs once the promote of node4 was sent, and says which instances are
		// still running.
		afterPromote func(s *fakeswarm.Swarm) (gone string)
		wantActors   []string
		wantRoles    []string
	}{
		// The leader's own demotion carries its new availability in the same update, so the
		// instance on the new leader takes over with nothing left to send.
		{"Demoting the leader hands over to the instance on the new leader", nil,
			[]string{"node1"}, []string{"manager node4", "worker node1"}},
		{"The leader's node dies after a promote; the instance on the new leader finishes",
			func(s *fakeswarm.Swarm) string { s.Kill(s.ID("node1")); return "node1" },
			[]string{"node1", "node2"}, []string{"manager node4", "worker node1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := handoffSwarm()
			ins := newInstances(t, s, controller.Options{}, "node1", "node2", "node3")
			gone := map[string]bool{}
			var once sync.Once
			s.OnMutate = func(c fakeswarm.Call) {
				if tc.afterPromote != nil && c.Spec.Role == swarm.NodeRoleManager && c.Err == nil {
					once.Do(func() { gone[tc.afterPromote(s)] = true })
				}
			}
			// The instances take turns, one pass each: deterministic, and every pass of an
			// instance that does not lead is a chance to act wrongly.
			ctx := context.Background()
			for round := 0; round < 20; round++ {
				for _, in := range ins {
					if gone[in.name] {
						continue
					}
					_, _ = in.c.Reconcile(ctx)
				}
			}
			checkHandedOver(t, s)
			roles, actors := checkOneActor(t, s, ins)
			if !slices.Equal(roles, tc.wantRoles) {
				t.Errorf("role changes = %v, want %v", roles, tc.wantRoles)
			}
			if !slices.Equal(actors, tc.wantActors) {
				t.Errorf("instances that made calls = %v, want %v", actors, tc.wantActors)
			}
			if len(ins[1].logs.find("Active: this instance changes the swarm")) == 0 {
				t.Errorf("the instance on node2, the new leader, never took over")
			}
			if n := len(ins[2].logs.find("Active: this instance changes the swarm")); n != 0 {
				t.Errorf("the instance on node3, never the leader, said it was active")
			}
		})
	}
}

func TestInstancesRunningTogetherHandOver(t *testing.T) {
	// The same handoff with the three loops running at once on the real clock, woken by the
	// fake's node events: the handoff must not depend on taking turns.
	s := handoffSwarm()
	ins := newInstances(t, s, controller.Options{
		Clock: controller.RealClock, Resync: 20 * time.Millisecond, SettlePoll: time.Millisecond,
		StepTimeout: 5 * time.Second, MaxBackoff: 20 * time.Millisecond,
	}, "node1", "node2", "node3")
	for _, in := range ins {
		startRun(t, in.c)
	}
	eventually(t, "the handoff to converge", func() bool {
		managers, avail, _ := world(s)
		return slices.Equal(managers, []string{"node2", "node3", "node4"}) && avail["node4"] == "drain" && avail["node1"] == "active"
	})
	checkHandedOver(t, s)
	roles, actors := checkOneActor(t, s, ins)
	if want := []string{"manager node4", "worker node1"}; !slices.Equal(roles, want) {
		t.Errorf("role changes = %v, want %v", roles, want)
	}
	// The leader's demotion carries its new availability: nothing is left for node2 to send.
	if !slices.Equal(actors, []string{"node1"}) {
		t.Errorf("instances that made calls = %v, want only node1", actors)
	}
}

func TestRidersGoInTheSameUpdate(t *testing.T) {
	// One manager grows to three, drained: each promote carries its drain, so four updates
	// (two promotes with their drains, the leader's drain) become three.
	s := cluster(5, 1, "a", "b", "c")
	topo := &spec.SwarmTopology{Spec: spec.Spec{Managers: spec.Managers{Count: 3, Availability: spec.AvailabilityDrain}}}
	planner := func(_ *spec.SwarmTopology, snap reconcile.Snapshot) (*reconcile.Plan, error) {
		return reconcile.Compute(topo, snap)
	}
	c, h := newController(t, s, planner, controller.Options{})
	if _, err := c.Once(context.Background()); err != nil {
		t.Fatalf("Once: %v", err)
	}
	updates := 0
	for _, call := range s.Calls() {
		if call.Method == "NodeUpdate" && call.Err == nil {
			updates++
			if call.Spec.Role == swarm.NodeRoleManager && call.Spec.Availability != swarm.NodeAvailabilityDrain {
				t.Errorf("a promote went without its drain: %+v", call.Spec)
			}
		}
	}
	if updates != 3 {
		t.Errorf("%d updates, want 3 (promote+drain, promote+drain, drain of the leader)", updates)
	}
	if len(h.steps) != 5 {
		t.Errorf("%d steps reported to OnStep, want 5: the riders count as steps", len(h.steps))
	}
	managers, avail, _ := world(s)
	if !slices.Equal(managers, []string{"node1", "node2", "node3"}) || avail["node2"] != "drain" || avail["node3"] != "drain" || avail["node1"] != "drain" {
		t.Errorf("managers %v, availability %v", managers, avail)
	}
}

// deadlineReader records the deadline of every call it answers.
type deadlineReader struct {
	controller.Reader
	deadlines []time.Duration
}

func (d *deadlineReader) Info(ctx context.Context) (system.Info, error) {
	if dl, ok := ctx.Deadline(); ok {
		d.deadlines = append(d.deadlines, time.Until(dl))
	}
	return d.Reader.Info(ctx)
}

func TestCheckLeaderHonoursTheCallTimeout(t *testing.T) {
	s := cluster(3, 3)
	d := &deadlineReader{Reader: s}
	if _, err := controller.CheckLeader(context.Background(), d, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if len(d.deadlines) == 0 || d.deadlines[0] > 3*time.Second {
		t.Errorf("Info was bounded by %v, want at most the 3s call timeout (the default is %s)", d.deadlines, controller.DefaultCallTimeout)
	}
}
