package controller_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

func TestWakeRunsAPassAtOnce(t *testing.T) {
	// A reloaded topology must not wait for the resync: Options.Wake wakes the idle loop.
	s := cluster(3, 1)
	s.MuteEvents(true)
	clk := fakeswarm.NewClock(epoch)
	var mu sync.Mutex
	zone := "b"
	planner := func(top *spec.SwarmTopology, snap reconcile.Snapshot) (*reconcile.Plan, error) {
		mu.Lock()
		p := toy{managers: []string{"node1"}, labels: map[string]map[string]string{"node2": {"az": zone}}}
		mu.Unlock()
		return p.plan(top, snap)
	}
	wake := make(chan struct{}, 1)
	c, _ := newController(t, s, planner, controller.Options{Clock: clk, Wake: wake})
	startRun(t, c)
	waitAfters(t, clk, 1)
	mu.Lock()
	zone = "c"
	mu.Unlock()
	wake <- struct{}{}
	waitAfters(t, clk, 2)
	if got := labelOf(s, "node2", "az"); got != "c" {
		t.Errorf("after the wake az=%q, want c", got)
	}
	if !clk.Now().Equal(epoch) {
		t.Errorf("the loop waited %s instead of waking at once", clk.Now().Sub(epoch))
	}
}

func TestOnPassSeesEveryPass(t *testing.T) {
	s := cluster(3, 1)
	type pass struct {
		converged bool
		err       error
	}
	var passes []pass
	p := toy{managers: []string{"node1"}, labels: map[string]map[string]string{"node2": {"az": "b"}}}
	c, _ := newController(t, s, p.plan, controller.Options{OnPass: func(r controller.Result, err error) {
		passes = append(passes, pass{r.Plan != nil && r.Plan.Converged(), err})
	}})
	if _, err := c.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(passes) != 2 || passes[0].converged || !passes[1].converged || passes[0].err != nil {
		t.Errorf("passes = %+v, want one that applied and one converged", passes)
	}
	bug := errors.New("planner bug")
	c, _ = newController(t, s, func(*spec.SwarmTopology, reconcile.Snapshot) (*reconcile.Plan, error) { return nil, bug },
		controller.Options{OnPass: func(r controller.Result, err error) {
			passes = append(passes, pass{r.Plan != nil && r.Plan.Converged(), err})
		}})
	_, err := c.Reconcile(context.Background())
	if last := passes[len(passes)-1]; !errors.Is(last.err, bug) || !errors.Is(err, bug) {
		t.Errorf("OnPass saw %v, Reconcile returned %v; want the planner's error in both", last.err, err)
	}
}
