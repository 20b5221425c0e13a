package controller_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
)

const wait = 5 * time.Second // real time allowed for a goroutine to get somewhere

// startRun runs c.Run in the background; the returned stop cancels it and checks it returned
// nil promptly.
func startRun(t *testing.T, c *controller.Controller) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil on stop", err)
			}
		case <-time.After(wait):
			t.Errorf("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

func waitAfters(t *testing.T, clk *fakeswarm.Clock, n int) {
	t.Helper()
	if !clk.WaitForAfterCalls(n, wait) {
		t.Fatalf("the loop did not go to sleep a %d. time (After calls: %v)", n, clk.Afters())
	}
}

func labelOf(s *fakeswarm.Swarm, host, key string) string {
	n, _ := s.Node(host)
	return n.Spec.Labels[key]
}

// eventually waits, in real time, for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func subscribed(s *fakeswarm.Swarm) func() bool {
	return func() bool { _, open := s.Subscriptions(); return open == 1 }
}

// labelLoop is a running controller that wants node2 labelled az=b, already converged, idle
// and subscribed to events. The fake's own events are muted so that the test decides exactly
// which events the loop sees, and the number of times it goes to sleep is known.
func labelLoop(t *testing.T, o controller.Options) (*fakeswarm.Swarm, *fakeswarm.Clock, *harness) {
	t.Helper()
	s := cluster(3, 1)
	s.MuteEvents(true)
	clk := fakeswarm.NewClock(epoch)
	o.Clock = clk
	p := toy{managers: []string{"node1"}, labels: map[string]map[string]string{"node2": {"az": "b"}}}
	c, h := newController(t, s, p.plan, o)
	startRun(t, c)
	waitAfters(t, clk, 1)
	eventually(t, "the event subscription", subscribed(s))
	if got := labelOf(s, "node2", "az"); got != "b" {
		t.Fatalf("first passes did not converge: az=%q", got)
	}
	if got := clk.Afters()[0]; got != controller.DefaultResync {
		t.Fatalf("idle wait = %s, want the resync period", got)
	}
	return s, clk, h
}

func TestRunAppliesStepsBackToBackWithoutWaiting(t *testing.T) {
	s := cluster(4, 1)
	clk := fakeswarm.NewClock(epoch)
	p := toy{managers: []string{"node1"}, labels: map[string]map[string]string{
		"node2": {"az": "b"}, "node3": {"az": "c"}, "node4": {"az": "a"}}}
	c, h := newController(t, s, p.plan, controller.Options{Clock: clk})
	startRun(t, c)
	waitAfters(t, clk, 1)
	for host, want := range map[string]string{"node2": "b", "node3": "c", "node4": "a"} {
		if got := labelOf(s, host, "az"); got != want {
			t.Errorf("%s az=%q, want %q", host, got, want)
		}
	}
	if !clk.Now().Equal(epoch) {
		t.Errorf("time passed (%s) between applied steps; a requeue after a step is immediate", clk.Now().Sub(epoch))
	}
	if len(h.results()) != 3 {
		t.Errorf("steps = %v", h.results())
	}
}

func TestRunWakesOnNodeEvents(t *testing.T) {
	s, clk, _ := labelLoop(t, controller.Options{})
	s.SetLabel(s.ID("node2"), "az", "x")
	s.Emit(events.Message{Type: events.NodeEventType, Action: events.ActionUpdate, Actor: events.Actor{ID: s.ID("node2")}})
	waitAfters(t, clk, 2)
	if got := labelOf(s, "node2", "az"); got != "b" {
		t.Errorf("after the event az=%q, want it set back to b", got)
	}
	if !clk.Now().Equal(epoch) {
		t.Errorf("the loop waited for the resync instead of waking on the event")
	}
}

func TestRunResyncsWhenEventsStopSilently(t *testing.T) {
	s, clk, _ := labelLoop(t, controller.Options{})
	s.SetLabel(s.ID("node2"), "az", "x")
	if clk.AfterCalls() != 1 || labelOf(s, "node2", "az") != "x" {
		t.Fatalf("the loop ran without a reason")
	}
	clk.Advance(controller.DefaultResync)
	waitAfters(t, clk, 2)
	if got := labelOf(s, "node2", "az"); got != "b" {
		t.Errorf("after the resync az=%q, want b", got)
	}
}

func TestRunSubscribesAgainWhenTheEventStreamEnds(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"The stream breaks with an error", errors.New("unexpected EOF")},
		{"The stream ends cleanly", io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, clk, h := labelLoop(t, controller.Options{})
			s.BreakEvents(tc.err)
			waitAfters(t, clk, 2) // the watcher's backoff
			if got := clk.Afters()[1]; got != time.Second {
				t.Errorf("first re-subscribe backoff = %s, want 1s", got)
			}
			clk.Advance(time.Second)
			waitAfters(t, clk, 3) // re-subscribed, woke the loop, which went idle again
			if total, open := s.Subscriptions(); total != 2 || open != 1 {
				t.Errorf("subscriptions total %d open %d, want 2 and 1", total, open)
			}
			// The new stream works.
			s.SetLabel(s.ID("node2"), "az", "x")
			s.Emit(events.Message{Type: events.NodeEventType, Action: events.ActionUpdate})
			waitAfters(t, clk, 4)
			if got := labelOf(s, "node2", "az"); got != "b" {
				t.Errorf("event on the new stream did not wake the loop: az=%q", got)
			}
			if len(h.logs.find("Node event stream ended; subscribing again")) != 1 {
				t.Errorf("the broken stream was not logged")
			}
			// A stream that keeps breaking without delivering anything backs off further.
			s.BreakEvents(tc.err)
			waitAfters(t, clk, 5)
			if got := clk.Afters()[4]; got != time.Second {
				t.Errorf("backoff after a stream that delivered events = %s, want 1s again", got)
			}
			clk.Advance(time.Second)
			waitAfters(t, clk, 6)
			eventually(t, "the third subscription", subscribed(s))
			s.BreakEvents(tc.err)
			waitAfters(t, clk, 7)
			if got := clk.Afters()[6]; got != 2*time.Second {
				t.Errorf("backoff after an empty stream = %s, want 2s", got)
			}
		})
	}
}

// failingInfo is a daemon whose Info fails until healed.
type failingInfo struct {
	*fakeswarm.Swarm
	failing atomic.Bool
}

func (d *failingInfo) Info(ctx context.Context) (system.Info, error) {
	if d.failing.Load() {
		return system.Info{}, errors.New("Cannot connect to the Docker daemon")
	}
	return d.Swarm.Info(ctx)
}

func TestRunBacksOffExponentiallyOnErrors(t *testing.T) {
	s := cluster(3, 1)
	d := &failingInfo{Swarm: s}
	d.failing.Store(true)
	clk := fakeswarm.NewClock(epoch)
	p := toy{managers: []string{"node1"}}
	c, h := newController(t, s, p.plan, controller.Options{Docker: d, Clock: clk, MaxBackoff: 4 * time.Second})
	startRun(t, c)
	eventually(t, "the event subscription", subscribed(s))
	for i, step := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		waitAfters(t, clk, i+1)
		if got := clk.Afters()[i]; got != step {
			t.Fatalf("wait %d = %s, want %s (waits so far %v)", i+1, got, step, clk.Afters())
		}
		// An event does not cut a backoff short.
		s.Emit(events.Message{Type: events.NodeEventType, Action: events.ActionUpdate})
		if i == 3 {
			d.failing.Store(false)
		}
		clk.Advance(step)
	}
	waitAfters(t, clk, 5)
	if got := clk.Afters()[4]; got != controller.DefaultResync {
		t.Errorf("after recovering the loop waits %s, want the resync period", got)
	}
	if n := len(h.logs.find("Reconcile failed")); n != 4 {
		t.Errorf("%d failures logged, want 4", n)
	}
}

func TestStopWhileAStepSettles(t *testing.T) {
	tests := []struct {
		name         string
		promoteAfter int
		result       string
		log          string
		member       bool
	}{
		{"The step settles within the grace and says so", 6, controller.ResultOK, "Step settled", true},
		{"The step does not settle within the grace and the log says where it stands", 100000, controller.ResultInterrupted,
			"Stopped while the step was settling", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := cluster(4, 3)
			s.PromoteAfter = tc.promoteAfter
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s.OnMutate = func(fakeswarm.Call) { cancel() }
			p := toy{managers: []string{"node1", "node2", "node3", "node4"}}
			c, h := newController(t, s, p.plan, controller.Options{})
			start := time.Now()
			res, err := c.Reconcile(ctx)
			if time.Since(start) > wait {
				t.Errorf("stopping took %s", time.Since(start))
			}
			if res.Step == nil || res.Step.Result != tc.result {
				t.Fatalf("step = %+v, want result %s", res.Step, tc.result)
			}
			if tc.result == controller.ResultOK && err != nil {
				t.Errorf("error = %v for a step that settled", err)
			}
			if tc.result != controller.ResultOK && (!errors.Is(err, controller.ErrStopped) || !strings.Contains(err.Error(), "node4")) {
				t.Errorf("error = %v, want ErrStopped naming node4", err)
			}
			lines := h.logs.find(tc.log)
			if len(lines) != 1 || !strings.Contains(lines[0], `"hostname"="node4"`) {
				t.Fatalf("log lines %q = %v", tc.log, lines)
			}
			if !tc.member && !strings.Contains(lines[0], `"settled"=false`) {
				t.Errorf("log %q does not say the step did not settle", lines[0])
			}
			// What the log claims is what the world shows.
			n, _ := s.Node("node4")
			if (n.ManagerStatus != nil) != tc.member {
				t.Errorf("node4 member = %v, want %v", n.ManagerStatus != nil, tc.member)
			}
			if n.Spec.Role != swarm.NodeRoleManager {
				t.Errorf("the promote was not sent")
			}
		})
	}
}

func TestRunReturnsCleanlyWhenStoppedMidStep(t *testing.T) {
	s := cluster(4, 3)
	s.PromoteAfter = 100000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.OnMutate = func(fakeswarm.Call) { cancel() }
	p := toy{managers: []string{"node1", "node2", "node3", "node4"}}
	c, h := newController(t, s, p.plan, controller.Options{})
	if err := c.Run(ctx); err != nil {
		t.Fatalf("Run = %v, want nil on a stop", err)
	}
	if len(h.logs.find("Stopped while the step was settling")) != 1 || len(h.logs.find("Controller stopped")) != 1 {
		t.Errorf("stop not logged")
	}
	if got := h.results(); !slices.Equal(got, []string{"promote node4: interrupted"}) {
		t.Errorf("steps = %v", got)
	}
	if n := len(s.Calls()); n != 1 {
		t.Errorf("%d calls after a stop, want only the promote", n)
	}
}
