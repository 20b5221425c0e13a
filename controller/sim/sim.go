// Package sim runs the real controller loop (controller.Controller.Run, with the leader gate
// the service uses when several instances run) against the fake swarm in virtual-time mode,
// single-threaded and seeded: a run is a pure function of its Schedule, which is drawn from a
// seed. Faults are injected at every interaction, and invariants are checked after every
// simulated event.
//
// Determinism comes from testing/synctest: every goroutine of the run lives in one bubble whose
// clock only moves when all of them are blocked. The driver wakes exactly one thing per virtual
// instant (a timer of the controller's clock, a fault, an event delivery, a change the fake
// daemon makes), waits until everything is blocked again, checks the invariants, and moves on.
// The only timers it does not own are the controller's call deadlines, and a call that hangs
// tells the driver its deadline first.
package sim

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/go-logr/logr"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/observe"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// Bounds the invariants hold the loop to.
const (
	// Quiet is how long after the faults stop the swarm must have converged to the file.
	Quiet = 10 * time.Minute
	// IdleCallsPerMinute is the most Docker calls one instance may make in a virtual minute
	// while nothing is in flight and it changed nothing.
	IdleCallsPerMinute = 240
	// spinCalls is how many calls one instance may make at a single virtual instant.
	spinCalls = 2000
	// eventLatency is how long an event takes to reach a subscriber.
	eventLatency = 5 * time.Millisecond
	// taskStart is how long swarm takes to start the operator's task on a new manager.
	taskStart = 2 * time.Second
)

// Invariants, as Violation.Invariant.
const (
	InvUnsafeCall   = "unsafe call"
	InvTwoPending   = "two membership changes able to complete"
	InvTwoActing    = "two acting instances"
	InvConvergence  = "no convergence"
	InvRoleChanges  = "too many role changes"
	InvBusyLoop     = "busy loop"
	InvStuckVirtual = "virtual time stuck"
)

// Violation is one invariant that did not hold.
type Violation struct {
	At        time.Duration
	Invariant string
	Detail    string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s: %s: %s", stamp(v.At), v.Invariant, v.Detail)
}

// Entry is one line of a run's timeline.
type Entry struct {
	At time.Duration
	// Calls is how many Docker calls the run had made by then.
	Calls int
	What  string
	World string
}

// Report is what one run did and found.
type Report struct {
	Schedule   Schedule
	Violations []Violation
	Timeline   []Entry
	// Checks counts invariant evaluations; Events the simulated events (instants woken).
	Checks, Events int
	// Calls counts Docker calls; Faults the faults that took effect; RoleChanges the
	// role-changing updates the swarm accepted from the operator.
	Calls, Faults, RoleChanges, RoleChangeBound int
	// ConvergedAfter is how long after the faults stopped the swarm matched the file
	// (negative: never).
	ConvergedAfter time.Duration
}

// Failed reports whether any invariant did not hold.
func (r Report) Failed() bool { return len(r.Violations) > 0 }

// Format prints the schedule, the violations and (if kept) the timeline.
func (r Report) Format() string {
	var b strings.Builder
	b.WriteString(r.Schedule.Describe())
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "VIOLATION %s\n", v)
	}
	if len(r.Timeline) > 0 {
		b.WriteString("timeline (virtual time, Docker calls so far, event, world: * leader, M member, m member unreachable, ~ pending, ! away):\n")
		for _, e := range r.Timeline {
			fmt.Fprintf(&b, "  %s %5d  %-70s  %s\n", stamp(e.At), e.Calls, e.What, e.World)
		}
	}
	return b.String()
}

func stamp(d time.Duration) string {
	return fmt.Sprintf("%7.3fs", d.Seconds())
}

// Run simulates one schedule in its own synctest bubble. timeline keeps a readable log.
func Run(t *testing.T, s Schedule, timeline bool) Report { return RunWith(t, s, timeline, nil) }

// RunWith is Run with tune applied to every instance's controller options: the simulator's own
// tests use it to break the loop on purpose and see the invariants catch it.
func RunWith(t *testing.T, s Schedule, timeline bool, tune func(*controller.Options)) Report {
	var rep Report
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(s, timeline)
		w.tune = tune
		w.run()
		rep = w.rep
	})
	return rep
}

// item is something the driver wakes at a virtual instant.
type item struct {
	at  time.Time
	seq int
	fn  func()
}

type items []item

func (h items) Len() int { return len(h) }
func (h items) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h items) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *items) Push(x any)   { *h = append(*h, x.(item)) }
func (h *items) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type world struct {
	tune     func(*controller.Options)
	s        Schedule
	fake     *fakeswarm.Swarm
	ids      []string
	start    time.Time
	timeline bool
	rep      Report

	mu      sync.Mutex // guards everything below, shared with the controllers' goroutines
	q       items
	seq     int
	topo    *spec.SwarmTopology
	insts   []*instance
	nextOrd int
	subs    []*sub
	muted   bool
	callN   int
	callAt  map[int]Kind
	// noStartBefore keeps a crashed instance's node without an instance for a while.
	noStartBefore map[string]time.Time
	starting      map[string]bool
	// opPending are the nodes whose pending role change the operator sent; excused those
	// sent while every other pending change could not complete.
	opPending map[string]bool
	excused   map[string]bool
	// minutes of the run in which a membership change was pending, per virtual minute.
	pendingMinute map[int]bool
	bound         int
	seen          int
	pendingNow    bool
	resync        bool
	stopped       bool
	lastCheck     time.Time
	convergedAt   time.Time

	evMu   sync.Mutex
	events []events.Message
}

func newWorld(s Schedule, timeline bool) *world {
	w := &world{s: s, timeline: timeline, start: time.Now(), callAt: map[int]Kind{},
		noStartBefore: map[string]time.Time{}, starting: map[string]bool{}, opPending: map[string]bool{},
		excused: map[string]bool{}, pendingMinute: map[int]bool{}}
	w.rep.Schedule = s
	w.rep.ConvergedAfter = -1
	var cfgs []fakeswarm.NodeConfig
	for _, n := range s.Nodes {
		cfgs = append(cfgs, fakeswarm.NodeConfig{Hostname: n.Hostname, Manager: n.Manager, Leader: n.Leader,
			Labels: map[string]string{"az": n.Zone}})
	}
	for i, n := range s.Nodes {
		if n.JoinedVia >= 0 {
			cfgs[i].JoinedVia = fakeswarm.StableID(s.Nodes[n.JoinedVia].Hostname)
		}
	}
	w.fake = fakeswarm.New(cfgs...)
	w.fake.SetNow(time.Now)
	w.fake.OnEvent = func(m events.Message) {
		w.evMu.Lock()
		w.events = append(w.events, m)
		w.evMu.Unlock()
	}
	for _, n := range s.Nodes {
		w.ids = append(w.ids, fakeswarm.StableID(n.Hostname))
	}
	w.topo = topology(s, s.Count)
	for _, f := range s.Faults {
		if f.Kind.IsCall() {
			w.callAt[f.Arg] = f.Kind
			continue
		}
		w.at(f.At, func() { w.fault(f) })
	}
	w.at(s.FaultWindow, w.healAll)
	w.bound = w.lowerBound()
	return w
}

// fitCount is count, lowered to the largest odd count the nodes can hold.
func fitCount(count, nodes int) int {
	for count > nodes || count > 1 && count%2 == 0 {
		count--
	}
	return count
}

// topology is the file of the schedule with count managers.
func topology(s Schedule, count int) *spec.SwarmTopology {
	avail := "active"
	if s.Drain {
		avail = "drain"
	}
	y := fmt.Sprintf(`apiVersion: swarmtopo.dev/v1alpha1
kind: SwarmTopology
metadata: {name: sim}
spec:
  managers: {count: %d, availability: %s}
  workers: {availability: active}
  policy: {allowSingleManager: %v, replaceUnreachableAfter: %s, removeDownNodes: %v}
`, count, avail, count == 1, s.Grace, s.Remove)
	t, err := spec.Parse("sim.yaml", []byte(y))
	if err != nil {
		panic("sim: bad topology: " + err.Error())
	}
	return t
}

func (w *world) currentTopology() *spec.SwarmTopology {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.topo
}

// at schedules fn at d from the start of the run.
func (w *world) at(d time.Duration, fn func()) { w.atTime(w.start.Add(d), fn) }

func (w *world) atTime(t time.Time, fn func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	heap.Push(&w.q, item{at: t, seq: w.seq, fn: fn})
}

func (w *world) since() time.Duration { return time.Since(w.start) }

// run is the driver: one thing woken per virtual instant, invariants checked after each.
func (w *world) run() {
	end := w.start.Add(w.s.FaultWindow + Quiet)
	w.syncInstances()
	var last time.Time
	for !w.isStopped() {
		synctest.Wait()
		w.afterEvent()
		if w.isStopped() {
			break
		}
		next, ok := w.next()
		if !ok || next.After(end) {
			break
		}
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		} else if time.Now().Equal(last) {
			// One thing per instant: whatever it wakes gets an instant of its own.
			time.Sleep(time.Nanosecond)
		}
		last = time.Now()
		synctest.Wait()
		w.fire()
		w.rep.Events++
	}
	w.finish()
}

func (w *world) isStopped() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopped
}

// next is when the next thing is due: a queued item or a change of the fake daemon.
func (w *world) next() (time.Time, bool) {
	w.mu.Lock()
	var t time.Time
	ok := len(w.q) > 0
	if ok {
		t = w.q[0].at
	}
	w.mu.Unlock()
	if ft, fok := w.fake.NextChange(); fok && (!ok || ft.Before(t)) {
		return ft, true
	}
	return t, ok
}

func (w *world) fire() {
	now := time.Now()
	if ft, ok := w.fake.NextChange(); ok && !ft.After(now) {
		w.mu.Lock()
		first := len(w.q) == 0 || ft.Before(w.q[0].at)
		w.mu.Unlock()
		if first {
			w.fake.Advance()
			return
		}
	}
	w.mu.Lock()
	if len(w.q) == 0 || w.q[0].at.After(now) {
		w.mu.Unlock()
		return
	}
	it := heap.Pop(&w.q).(item)
	w.mu.Unlock()
	it.fn()
}

// afterEvent runs at every quiescent point: events are queued for delivery, swarm's
// scheduling of the operator's tasks follows the managers, and the invariants are checked.
func (w *world) afterEvent() {
	w.evMu.Lock()
	evs := w.events
	w.events = nil
	w.evMu.Unlock()
	if len(evs) > 0 {
		w.mu.Lock()
		subs := append([]*sub(nil), w.subs...)
		muted := w.muted
		w.mu.Unlock()
		if !muted {
			for _, m := range evs {
				for _, b := range subs {
					b, m := b, m
					w.atTime(time.Now().Add(eventLatency), func() { b.deliver(m) })
				}
			}
		}
	}
	// The swarm's scheduling and the invariants on its state only need a look when it moved
	// (or a crashed instance may start again).
	if c := w.fake.Changes(); c != w.seen || w.resync {
		w.seen, w.resync = c, false
		w.syncInstances()
		w.checkWorld()
	} else {
		w.checkConvergence(nil)
	}
	if w.pendingNow {
		w.mu.Lock()
		w.pendingMinute[int(w.since()/time.Minute)] = true
		w.mu.Unlock()
	}
}

// checkWorld checks the invariants that hold at every moment.
func (w *world) checkWorld() {
	pend := w.fake.PendingChanges()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rep.Checks += 2
	w.pendingNow = len(pend) > 0
	still := map[string]bool{}
	var able []string
	guilty := false
	for _, p := range pend {
		if w.opPending[p.Node] {
			still[p.Node] = true
			if p.Able {
				able = append(able, p.Hostname)
				guilty = guilty || !w.excused[p.Node]
			}
		}
	}
	for id := range w.opPending {
		if !still[id] {
			delete(w.opPending, id)
			delete(w.excused, id)
		}
	}
	if len(able) >= 2 && guilty {
		w.violate(InvTwoPending, fmt.Sprintf("the operator's changes on %s are all pending and can complete", strings.Join(able, ", ")))
	}
	w.mu.Unlock()
	w.checkConvergence(pend)
	w.mu.Lock()
}

// checkConvergence runs the oracle at most once a virtual second once the faults stopped, and
// notes since when the swarm has matched the file. pend is nil if not at hand.
func (w *world) checkConvergence(pend []fakeswarm.Pending) {
	now := time.Now()
	w.mu.Lock()
	due := w.since() >= w.s.FaultWindow && now.Sub(w.lastCheck) >= time.Second
	if due {
		w.lastCheck = now
		w.rep.Checks++
	}
	w.mu.Unlock()
	if !due {
		return
	}
	if pend == nil {
		pend = w.fake.PendingChanges()
	}
	ok, _ := w.converged(pend)
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case ok && w.convergedAt.IsZero():
		w.convergedAt = now
	case !ok:
		w.convergedAt = time.Time{}
	}
}

// converged is the oracle: nothing pending in the swarm, and the planner has nothing to do on
// the swarm as it really is. A file the remaining nodes cannot meet (a node removed by a fault,
// Plan.Unmet) still counts: the loop has done all it can.
func (w *world) converged(pend []fakeswarm.Pending) (bool, string) {
	// A member swarm took back after its demotion and then left (fakeswarm's Ghost) waits for a
	// human, whether or not quorum survived it (a demotion to one manager whose leader then died
	// for 32 s leaves two members, one of them such a member); the invariants catch any change
	// sent meanwhile.
	ghosts := map[string]bool{}
	for _, p := range pend {
		if p.Ghost {
			ghosts[p.Node] = true
		}
	}
	if len(ghosts) > 0 {
		return true, ""
	}
	if len(pend) > 0 {
		// A human's demotion of what became the last manager can never finish (swarm removes
		// no last member), and the loop waits for it: held for a human (a known limit).
		if len(pend) == 1 && !pend[0].Promote && !pend[0].Rejoin {
			w.mu.Lock()
			human := !w.opPending[pend[0].Node]
			w.mu.Unlock()
			if m := w.fake.Managers(); human && len(m) == 1 && m[0] == pend[0].Hostname {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d role changes still pending", len(pend))
	}
	if w.fake.Leader() == "" {
		return false, "the swarm has no leader"
	}
	p, err := w.truePlan()
	if err != nil {
		return false, err.Error()
	}
	if !p.Idle() {
		var steps []string
		for _, st := range p.Steps {
			steps = append(steps, string(st.Action)+" "+st.Hostname)
		}
		return false, fmt.Sprintf("the plan still has steps %v, in flight %d, blocked %q", steps, len(p.InFlight), p.Blocked)
	}
	return true, ""
}

// truePlan is the planner's plan for the swarm as it really is, seen through its leader.
func (w *world) truePlan() (*reconcile.Plan, error) {
	snap, err := observe.FromSwarm(w.fake.Nodes(), w.fake.Leader(), time.Now())
	if err != nil {
		return nil, err
	}
	return reconcile.Compute(w.currentTopology(), snap)
}

// violate records a violation and ends the run; the caller holds w.mu.
func (w *world) violate(inv, detail string) {
	v := Violation{At: w.since(), Invariant: inv, Detail: detail}
	w.rep.Violations = append(w.rep.Violations, v)
	if w.timeline {
		w.rep.Timeline = append(w.rep.Timeline, Entry{At: v.At, What: "VIOLATION " + inv + ": " + detail})
	}
	w.stopped = true
}

func (w *world) note(what string) {
	w.mu.Lock()
	keep := w.timeline
	w.mu.Unlock()
	if !keep {
		return
	}
	w.mu.Lock()
	calls := w.rep.Calls
	w.mu.Unlock()
	e := Entry{At: w.since(), Calls: calls, What: what, World: w.describeWorld()}
	w.mu.Lock()
	w.rep.Timeline = append(w.rep.Timeline, e)
	w.mu.Unlock()
}

// describeWorld is the swarm's truth in one line.
func (w *world) describeWorld() string {
	var parts []string
	leader := w.fake.Leader()
	pending := map[string]bool{}
	for _, p := range w.fake.PendingChanges() {
		pending[p.Node] = true
	}
	for _, n := range w.fake.Nodes() {
		s := n.Description.Hostname
		if ms := n.ManagerStatus; ms != nil {
			if ms.Reachability == swarm.ReachabilityReachable {
				s += "M"
			} else {
				s += "m"
			}
			if n.ID == leader {
				s += "*"
			}
		}
		if pending[n.ID] {
			s += "~" + string(n.Spec.Role)[:1]
		}
		if away, stopped := w.fake.Away(n.ID); stopped {
			s += "!stopped"
		} else if away {
			s += "!away"
		}
		if n.Status.State != swarm.NodeStateReady {
			s += "(" + string(n.Status.State) + ")"
		}
		if n.Spec.Availability != swarm.NodeAvailabilityActive {
			s += "[" + string(n.Spec.Availability)[:1] + "]"
		}
		parts = append(parts, s)
	}
	if leader == "" {
		parts = append(parts, "NO-LEADER")
	}
	return strings.Join(parts, " ")
}

// fault applies one world fault.
func (w *world) fault(f Fault) {
	w.rep.Faults++
	id := ""
	if f.Node < len(w.ids) {
		id = w.ids[f.Node]
	}
	if _, ok := w.fake.Node(id); !ok && !(f.Kind == MuteEvents || f.Kind == UnmuteEvents || f.Kind == BreakEvents || f.Kind == Crash || f.Kind == NewTopology) {
		return // removed by then
	}
	// Noted before it takes effect: what it wakes runs at once, and the timeline must not
	// depend on who writes first.
	w.note("FAULT " + w.s.describeFault(f))
	var err error
	switch f.Kind {
	case StopNode:
		w.fake.Stop(id)
	case StartNode:
		w.fake.Start(id)
	case PartitionNode:
		w.fake.Partition(id)
	case HealNode:
		w.fake.Heal(id)
	case PauseNode:
		w.fake.Pause(id)
	case ResumeNode:
		w.fake.Resume(id)
	case HumanPromote:
		err = w.fake.Human(id, func(s *swarm.NodeSpec) { s.Role = swarm.NodeRoleManager })
	case HumanDemote:
		err = w.fake.Human(id, func(s *swarm.NodeSpec) { s.Role = swarm.NodeRoleWorker })
	case HumanLabel:
		err = w.fake.Human(id, func(s *swarm.NodeSpec) { s.Labels["az"] = "c" })
	case HumanAvailability:
		a := []swarm.NodeAvailability{swarm.NodeAvailabilityActive, swarm.NodeAvailabilityDrain, swarm.NodeAvailabilityPause}[f.Arg%3]
		err = w.fake.Human(id, func(s *swarm.NodeSpec) { s.Availability = a })
	case TouchNode:
		w.fake.Touch(id)
	case MuteEvents, UnmuteEvents:
		w.mu.Lock()
		w.muted = f.Kind == MuteEvents
		w.mu.Unlock()
	case BreakEvents:
		w.mu.Lock()
		subs := append([]*sub(nil), w.subs...)
		w.mu.Unlock()
		for _, b := range subs {
			// One stream per instant: each wakes its own instance.
			w.atTime(time.Now(), func() { b.end(errors.New("unexpected EOF")) })
		}
	case Crash:
		w.mu.Lock()
		var live []*instance
		for _, in := range w.insts {
			if !in.stopping {
				live = append(live, in)
			}
		}
		w.mu.Unlock()
		if len(live) > 0 {
			in := live[f.Arg%len(live)]
			w.mu.Lock()
			back := time.Now().Add(time.Duration(f.Node) * time.Second)
			w.noStartBefore[in.node] = back
			w.mu.Unlock()
			w.atTime(back, func() { w.resync = true })
			in.crash()
		}
	case NewTopology:
		t := topology(w.s, fitCount(f.Arg, len(w.ids)))
		w.mu.Lock()
		w.topo = t
		w.bound += 6
		insts := append([]*instance(nil), w.insts...)
		w.mu.Unlock()
		for _, in := range insts {
			w.atTime(time.Now(), func() {
				select {
				case in.wake <- struct{}{}:
				default:
				}
			})
		}
	}
	if err != nil {
		w.note("  refused: " + shortErr(err))
	}
}

// healAll ends the faults: every daemon comes back and the event streams deliver again.
func (w *world) healAll() {
	for _, id := range w.ids {
		if away, _ := w.fake.Away(id); away {
			w.fake.Start(id)
		}
	}
	w.mu.Lock()
	w.muted = false
	w.mu.Unlock()
	w.note("FAULTS END: every daemon back, events delivered")
}

// lowerBound is how many role changes the starting plan needs, plus what each fault may
// force: a node away may need a replacement and its demotion, and when it returns to a zone
// that lacks it, its promotion and the replacement's demotion; a human change (role, zone label) one to undo and one to replace; a crash or call fault one
// resent change; a new file is added when it comes.
func (w *world) lowerBound() int {
	leader := w.fake.Leader()
	snap, err := observe.FromSwarm(w.fake.Nodes(), leader, time.Now())
	bound := 0
	if err == nil {
		if p, err := reconcile.Compute(w.topo, snap); err == nil {
			for _, st := range p.Steps {
				if st.Action.IsRoleChange() {
					bound++
				}
			}
		}
	}
	for _, f := range w.s.Faults {
		switch f.Kind {
		case StopNode, PartitionNode, PauseNode:
			bound += 4
		case HumanPromote, HumanDemote, HumanLabel, HumanAvailability:
			// A label can move a node to another zone, and so a seat.
			bound += 2
		case Crash, CallFail, CallHang, CallLateAck, CallConflict:
			bound++
		}
	}
	return bound
}

// syncInstances is swarm scheduling the operator: in service mode a task on every manager
// that runs, shut down once its node is no longer one; otherwise one instance, moved to
// another manager when its node stops being one.
func (w *world) syncInstances() {
	nodes := w.fake.Nodes()
	member := map[string]bool{}
	var members []string
	for _, n := range nodes {
		if n.ManagerStatus != nil {
			member[n.ID] = true
			if _, stopped := w.fake.Away(n.ID); !stopped {
				members = append(members, n.ID)
			}
		}
	}
	now := time.Now()
	w.mu.Lock()
	var stop, crash []*instance
	running := map[string]bool{}
	live := 0
	for _, in := range w.insts {
		if in.stopping {
			continue
		}
		_, stopped := w.fake.Away(in.node)
		switch {
		case stopped:
			crash = append(crash, in)
		case !member[in.node]:
			stop = append(stop, in)
		default:
			running[in.node] = true
			live++
		}
	}
	var start []string
	for _, id := range members {
		if running[id] || w.starting[id] || now.Before(w.noStartBefore[id]) {
			continue
		}
		if !w.s.Service && (live > 0 || len(start) > 0 || w.anyStarting()) {
			break
		}
		start = append(start, id)
		w.starting[id] = true
	}
	w.mu.Unlock()
	// Each on an instant of its own: each wakes its instance's goroutines.
	for _, in := range crash {
		w.atTime(now, in.crash)
	}
	for _, in := range stop {
		w.atTime(now, in.shutdown)
	}
	for _, id := range start {
		id := id
		w.atTime(now.Add(taskStart), func() {
			w.mu.Lock()
			delete(w.starting, id)
			w.mu.Unlock()
			if n, ok := w.fake.Node(id); ok && n.ManagerStatus != nil {
				if _, stopped := w.fake.Away(id); !stopped {
					w.startInstance(id)
				}
			}
		})
	}
}

func (w *world) anyStarting() bool {
	for _, v := range w.starting {
		if v {
			return true
		}
	}
	return false
}

// finish stops every instance, lets them exit, and runs the end-of-run checks.
func (w *world) finish() {
	if !w.isStopped() {
		pend := w.fake.PendingChanges()
		ok, why := w.converged(pend)
		w.mu.Lock()
		w.rep.Checks += 2
		if !ok {
			w.violate(InvConvergence, fmt.Sprintf("%s after faults stopped: %s", Quiet, why))
		} else if !w.convergedAt.IsZero() {
			w.rep.ConvergedAfter = w.convergedAt.Sub(w.start) - w.s.FaultWindow
		} else {
			w.rep.ConvergedAfter = Quiet
		}
		w.rep.RoleChangeBound = w.bound
		if w.rep.RoleChanges > w.bound {
			w.violate(InvRoleChanges, fmt.Sprintf("%d role changes, the schedule allows %d", w.rep.RoleChanges, w.bound))
		}
		w.mu.Unlock()
		w.checkBusy()
	}
	w.mu.Lock()
	insts := append([]*instance(nil), w.insts...)
	w.timeline = false // the end of the run is not part of it
	w.mu.Unlock()
	for _, in := range insts {
		in.crash()
	}
	// Let the stopped instances run out their stop grace on the virtual clock. What the drain
	// fires can still start an instance (a violation stops the run mid-pass): it crashes too.
	for i := 0; i < 100000; i++ {
		synctest.Wait()
		w.mu.Lock()
		late := w.insts[len(insts):]
		insts = append(insts, late...)
		w.mu.Unlock()
		for _, in := range late {
			in.crash()
		}
		if w.allDone(insts) {
			break
		}
		if _, ok := w.next(); !ok {
			break
		}
		time.Sleep(time.Millisecond)
		w.mu.Lock()
		for len(w.q) > 0 && !w.q[0].at.After(time.Now()) {
			it := heap.Pop(&w.q).(item)
			w.mu.Unlock()
			it.fn()
			w.mu.Lock()
		}
		w.mu.Unlock()
	}
	w.mu.Lock()
	w.stopped = true
	subs := append([]*sub(nil), w.subs...)
	w.mu.Unlock()
	for _, b := range subs {
		b.end(context.Canceled)
	}
}

func (w *world) allDone(insts []*instance) bool {
	for _, in := range insts {
		select {
		case <-in.done:
		default:
			return false
		}
	}
	return true
}

// checkBusy: in a virtual minute with nothing in flight (nor just before) and no change made
// by it, an instance makes few calls.
func (w *world) checkBusy() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, in := range w.insts {
		minutes := make([]int, 0, len(in.perMinute))
		for m := range in.perMinute {
			minutes = append(minutes, m)
		}
		sort.Ints(minutes)
		for _, m := range minutes {
			w.rep.Checks++
			if !w.busyMinute(in, m) && in.perMinute[m] > IdleCallsPerMinute {
				w.violate(InvBusyLoop, fmt.Sprintf("instance %d made %d calls in minute %d with nothing in flight", in.ord, in.perMinute[m], m))
				return
			}
		}
	}
}

// busyMinute reports whether minute m had something in flight (or just before: a step may
// settle for 90 s) or a change made by in; the caller holds w.mu.
func (w *world) busyMinute(in *instance, m int) bool {
	return w.pendingMinute[m] || w.pendingMinute[m-1] || w.pendingMinute[m-2] || in.mutMinute[m] > 0 || in.mutMinute[m-1] > 0
}

// instance is one operator process: a real controller.Controller running Run.
type instance struct {
	w        *world
	ord      int
	node     string
	view     *fakeswarm.View
	cancel   context.CancelFunc
	done     chan struct{}
	killed   chan struct{}
	wake     chan struct{}
	dead     bool // guarded by w.mu
	stopping bool // guarded by w.mu

	perMinute map[int]int
	mutMinute map[int]int
	instant   time.Time
	atInstant int
	started   time.Time
}

func (w *world) startInstance(node string) {
	w.mu.Lock()
	in := &instance{w: w, ord: w.nextOrd, node: node, view: w.fake.ViewFrom(node), done: make(chan struct{}), started: time.Now(),
		killed: make(chan struct{}), wake: make(chan struct{}, 1), perMinute: map[int]int{}, mutMinute: map[int]int{}}
	w.nextOrd++
	w.insts = append(w.insts, in)
	w.mu.Unlock()
	o := controller.Options{
		Topology: w.currentTopology,
		Docker:   in,
		Log:      logr.Discard(),
		Clock:    simClock{w},
		Wake:     in.wake,
		// Steps that change no membership go out in parallel in `run`; their goroutines finish
		// in an order no seed decides, so the simulation sends them one at a time to stay a
		// pure function of its seed. The batch has its own tests (controller/batch*_test.go).
		Parallelism: 1,
	}
	if w.s.Service {
		o.Gate = controller.LeaderGate(in, o.Defaulted().CallTimeout)
	}
	if w.tune != nil {
		w.tune(&o)
	}
	c := controller.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	w.note(fmt.Sprintf("instance %d starts on %s", in.ord, w.hostname(node)))
	go func() {
		defer close(in.done)
		_ = c.Run(ctx)
	}()
}

func (w *world) hostname(id string) string {
	for i, oid := range w.ids {
		if oid == id {
			return w.s.Nodes[i].Hostname
		}
	}
	return id
}

// crash kills the process: calls fail at once, memory is lost.
func (in *instance) crash() {
	w := in.w
	w.mu.Lock()
	if in.dead {
		w.mu.Unlock()
		return
	}
	in.dead, in.stopping = true, true
	w.mu.Unlock()
	w.note(fmt.Sprintf("instance %d on %s crashes", in.ord, w.hostname(in.node)))
	close(in.killed)
	in.cancel()
}

// shutdown is swarm stopping the task: a clean stop.
func (in *instance) shutdown() {
	w := in.w
	w.mu.Lock()
	if in.stopping {
		w.mu.Unlock()
		return
	}
	in.stopping = true
	w.mu.Unlock()
	w.note(fmt.Sprintf("instance %d on %s is shut down (its node is no longer a manager)", in.ord, w.hostname(in.node)))
	in.cancel()
}

// errDead is what the Docker client says when the process's daemon (or the process) is gone.
type deadErr struct{}

func (deadErr) Error() string {
	return "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
}

var errDead error = deadErr{}

type daemonErr struct{}

func (daemonErr) Error() string {
	return "Error response from daemon: rpc error: code = Unavailable desc = connection error: transport is closing"
}

// begin counts a call and returns the fault it meets.
func (in *instance) begin(mutating bool) (Kind, error) {
	w := in.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if in.dead {
		return -1, errDead
	}
	now := time.Now()
	if now.Equal(in.instant) {
		in.atInstant++
		if in.atInstant > spinCalls && !w.stopped {
			w.violate(InvBusyLoop, fmt.Sprintf("instance %d made %d calls at one virtual instant", in.ord, in.atInstant))
		}
	} else {
		in.instant, in.atInstant = now, 1
	}
	if w.stopped {
		return -1, errDead
	}
	w.callN++
	w.rep.Calls++
	m := int(w.since() / time.Minute)
	in.perMinute[m]++
	if mutating {
		in.mutMinute[m]++
	}
	if in.perMinute[m] == IdleCallsPerMinute+1 && !w.busyMinute(in, m) {
		w.violate(InvBusyLoop, fmt.Sprintf("instance %d made over %d calls in minute %d with nothing in flight", in.ord, IdleCallsPerMinute, m))
	}
	k, ok := w.callAt[w.callN]
	if !ok {
		return -1, nil
	}
	w.rep.Faults++
	return k, nil
}

// hang blocks until the call's deadline (which the driver is told) or the process dies.
func (in *instance) hang(ctx context.Context) error {
	if dl, ok := ctx.Deadline(); ok {
		in.w.atTime(dl, func() {})
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-in.killed:
		return errDead
	}
}

// read wraps a read call with its faults.
func (in *instance) read(ctx context.Context, info bool, node string, do func() error) error {
	k, err := in.begin(false)
	if err != nil {
		return err
	}
	switch k {
	case CallFail:
		return daemonErr{}
	case CallHang, CallLateAck:
		return in.hang(ctx)
	case CallConflict:
		if node != "" {
			in.w.fake.Touch(node)
		}
	}
	if in.view.Hangs(info) {
		return in.hang(ctx)
	}
	return do()
}

func (in *instance) NodeList(ctx context.Context, o swarm.NodeListOptions) ([]swarm.Node, error) {
	var out []swarm.Node
	err := in.read(ctx, false, "", func() (err error) { out, err = in.view.NodeList(ctx, o); return err })
	return out, err
}

func (in *instance) NodeInspectWithRaw(ctx context.Context, id string) (swarm.Node, []byte, error) {
	var (
		out swarm.Node
		raw []byte
	)
	err := in.read(ctx, false, id, func() (err error) { out, raw, err = in.view.NodeInspectWithRaw(ctx, id); return err })
	return out, raw, err
}

func (in *instance) TaskList(ctx context.Context, o swarm.TaskListOptions) ([]swarm.Task, error) {
	var out []swarm.Task
	err := in.read(ctx, false, "", func() (err error) { out, err = in.view.TaskList(ctx, o); return err })
	return out, err
}

func (in *instance) Info(ctx context.Context) (system.Info, error) {
	var out system.Info
	err := in.read(ctx, true, "", func() (err error) { out, err = in.view.Info(ctx); return err })
	return out, err
}

func (in *instance) NodeUpdate(ctx context.Context, id string, v swarm.Version, sp swarm.NodeSpec) error {
	return in.mutate(ctx, id, fmt.Sprintf("update %s role=%s avail=%s v%d", in.w.hostname(id), sp.Role, sp.Availability, v.Index),
		&sp.Role, func() error { return in.view.NodeUpdate(ctx, id, v, sp) })
}

func (in *instance) NodeRemove(ctx context.Context, id string, o swarm.NodeRemoveOptions) error {
	return in.mutate(ctx, id, "remove "+in.w.hostname(id), nil, func() error { return in.view.NodeRemove(ctx, id, o) })
}

// mutate wraps a mutating call: its faults, the invariants on the call, and what it did.
func (in *instance) mutate(ctx context.Context, id, what string, role *swarm.NodeRole, do func() error) error {
	w := in.w
	k, err := in.begin(true)
	if err != nil {
		return err
	}
	switch k {
	case CallFail:
		w.note(fmt.Sprintf("instance %d: %s -> fault: daemon error", in.ord, what))
		return daemonErr{}
	case CallHang:
		w.note(fmt.Sprintf("instance %d: %s -> fault: hangs, not stored", in.ord, what))
		return in.hang(ctx)
	case CallConflict:
		w.fake.Touch(id)
	}
	if in.view.Hangs(false) {
		w.note(fmt.Sprintf("instance %d: %s -> hangs (its daemon cannot reach raft)", in.ord, what))
		return in.hang(ctx)
	}
	cur, found := w.fake.Node(id)
	roleChange := found && role != nil && cur.Spec.Role != *role
	if roleChange {
		w.checkRoleCall(in, cur, *role)
	}
	err = do()
	res := "ok"
	if err != nil {
		res = shortErr(err)
	}
	if err == nil {
		w.accepted(in, id, roleChange)
	}
	if k == CallLateAck {
		w.note(fmt.Sprintf("instance %d: %s -> %s, then the answer is lost", in.ord, what, res))
		return in.hang(ctx)
	}
	w.note(fmt.Sprintf("instance %d: %s -> %s", in.ord, what, res))
	return err
}

// checkRoleCall: a membership change must not be sent while another can still complete, nor
// be one that loses quorum once it settles.
func (w *world) checkRoleCall(in *instance, cur swarm.Node, to swarm.NodeRole) {
	pend := w.fake.PendingChanges()
	// Members count as raft lists them: a manager that went away a moment ago is still listed
	// reachable, by the daemon as by the operator, and nobody can know better yet.
	members, reachable := 0, 0
	for _, n := range w.fake.Nodes() {
		if n.ManagerStatus != nil {
			members++
			if n.ManagerStatus.Reachability == swarm.ReachabilityReachable {
				reachable++
			}
		}
	}
	am, ar := members, reachable
	switch {
	case to == swarm.NodeRoleManager && cur.ManagerStatus == nil:
		// A promote completes only once its node is back and joins raft reachable.
		am++
		ar++
	case to == swarm.NodeRoleWorker && cur.ManagerStatus != nil:
		am--
		if cur.ManagerStatus.Reachability == swarm.ReachabilityReachable {
			ar--
		}
	}
	ft := func(m, r int) int {
		if m == 0 {
			return 0
		}
		return r - (m/2 + 1)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rep.Checks += 2
	var others []string
	for _, p := range pend {
		// A known limit, not checked: an instance that starts while a node, demoted before it
		// started, is away cannot tell that the node may join raft again at its return.
		if p.Rejoin && !p.AwaySince.IsZero() && p.AwaySince.Before(in.started) {
			continue
		}
		if p.Node != cur.ID && p.Able {
			others = append(others, p.Hostname)
		}
	}
	if len(others) > 0 {
		w.violate(InvUnsafeCall, fmt.Sprintf("instance %d sends %s of %s while the change on %s is pending and can still complete",
			in.ord, to, cur.Description.Hostname, strings.Join(others, ", ")))
	}
	if ft(members, reachable) >= 0 && ft(am, ar) < 0 {
		w.violate(InvUnsafeCall, fmt.Sprintf("instance %d makes %s a %s: %d of %d managers reachable once it settles",
			in.ord, cur.Description.Hostname, to, ar, am))
	}
	// Raft counts a new member toward the quorum as soon as it adds it, before the node has
	// caught up, and for good when it cannot join. Only the members already reachable then
	// hold a majority, unless there is a single manager: growing it always depends on the
	// newcomer.
	if to == swarm.NodeRoleManager && cur.ManagerStatus == nil && ft(members, reachable) >= 0 &&
		ft(members+1, reachable) < 0 && members > 1 {
		w.violate(InvUnsafeCall, fmt.Sprintf("instance %d promotes %s while %d of %d managers are reachable: until it joins raft, quorum depends on it",
			in.ord, cur.Description.Hostname, reachable, members))
	}
	w.excused[cur.ID] = len(others) == 0
}

// accepted records a mutating call the swarm stored.
func (w *world) accepted(in *instance, id string, roleChange bool) {
	leader := w.fake.Leader()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rep.Checks++
	if roleChange {
		w.rep.RoleChanges++
		w.opPending[id] = true
	}
	if w.s.Service && leader != in.node {
		w.violate(InvTwoActing, fmt.Sprintf("instance %d on %s changed the swarm while %s leads", in.ord, w.hostname(in.node), w.hostname(leader)))
	}
}

func shortErr(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "Error response from daemon: ")
	s = strings.TrimPrefix(s, "rpc error: ")
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}

// Events is a node event stream fed by the driver, one subscriber at a time.
func (in *instance) Events(ctx context.Context, _ events.ListOptions) (<-chan events.Message, <-chan error) {
	w := in.w
	b := &sub{w: w, msgs: make(chan events.Message, 256), errs: make(chan error, 1)}
	w.mu.Lock()
	dead := in.dead
	if !dead {
		w.subs = append(w.subs, b)
	}
	w.mu.Unlock()
	if dead {
		b.end(errDead)
		return b.msgs, b.errs
	}
	context.AfterFunc(ctx, func() { b.end(ctx.Err()) })
	return b.msgs, b.errs
}

type sub struct {
	w     *world
	msgs  chan events.Message
	errs  chan error
	once  sync.Once
	ended bool
}

func (b *sub) deliver(m events.Message) {
	b.w.mu.Lock()
	defer b.w.mu.Unlock()
	if b.ended || b.w.muted {
		return
	}
	select {
	case b.msgs <- m:
	default:
	}
}

func (b *sub) end(err error) {
	b.once.Do(func() {
		w := b.w
		w.mu.Lock()
		b.ended = true
		for i, o := range w.subs {
			if o == b {
				w.subs = append(w.subs[:i], w.subs[i+1:]...)
				break
			}
		}
		w.mu.Unlock()
		b.errs <- err
		close(b.errs)
	})
}

// simClock is the controllers' clock: the bubble's time, with every timer owned by the driver.
type simClock struct{ w *world }

func (c simClock) Now() time.Time { return time.Now() }

func (c simClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- time.Now()
		return ch
	}
	c.w.atTime(time.Now().Add(d), func() { ch <- time.Now() })
	return ch
}
