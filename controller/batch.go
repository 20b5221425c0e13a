package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// A drain settles in two parts: the availability reads back (reconcile.Settled), then the
// node's tasks have stopped and their replacements run elsewhere, as `kubectl drain` waits for
// its pods. Without the second part, drains in a row move every task they ran within seconds,
// onto capacity that may not hold them.

// drainOutcome is how waiting for a drain's tasks ended.
type drainOutcome struct {
	result  string // ResultOK, ResultTimeout or ResultInterrupted
	elapsed time.Duration
	left    DrainState
	err     error
}

// waitDrain polls the tasks until the drain of node is done (DrainState.Done), the drain
// timeout passes, or ctx ends. before is what TasksOn read before the drain was sent. Tasks the
// scheduler cannot place anywhere end the wait with a warning naming them: waiting longer would
// not place them.
func (c *Controller) waitDrain(ctx context.Context, log logr.Logger, node string, before map[string]bool) drainOutcome {
	clock := c.o.Clock
	start := clock.Now()
	deadline := start.Add(c.o.DrainTimeout)
	b := bounded{r: c.r, timeout: c.o.CallTimeout}
	var out drainOutcome
	lastRunning, lastPending := -1, -1
	for {
		left, err := DrainLeft(context.WithoutCancel(ctx), b, node, before)
		if err != nil {
			log.V(1).Info("Drain poll failed", "error", err.Error())
		} else {
			out.left = left
			if left.Done() {
				out.result, out.elapsed = ResultOK, clock.Now().Sub(start)
				if len(left.Unplaceable) > 0 {
					log.Info("Drain warning: tasks cannot be placed on any node", "services", left.Unplaceable,
						"drainSeconds", out.elapsed.Seconds())
				} else {
					log.Info("Drain done: the node's tasks run elsewhere", "tasks", len(before), "drainSeconds", out.elapsed.Seconds())
				}
				return out
			}
			if left.Running != lastRunning || len(left.Pending) != lastPending {
				lastRunning, lastPending = left.Running, len(left.Pending)
				log.Info("Waiting for the drain", "stillRunning", left.Running, "notYetRunning", len(left.Pending),
					"services", len(before))
			}
		}
		now := clock.Now()
		out.elapsed = now.Sub(start)
		if ctx.Err() != nil {
			out.result, out.err = ResultInterrupted, fmt.Errorf("%w while waiting for the drain: %s", ErrStopped, out.left)
			return out
		}
		if !now.Before(deadline) {
			out.result, out.err = ResultTimeout, fmt.Errorf("%w after %s: %s", ErrDrainTimeout, c.o.DrainTimeout, out.left)
			log.Error(out.err, "Drain did not finish")
			return out
		}
		select {
		case <-ctx.Done():
		case <-clock.After(c.o.SettlePoll):
		}
	}
}

// unit is the steps a batch sends to one node in one update.
type unit struct {
	first  reconcile.Step
	riders []reconcile.Step
}

// batchOf returns the steps at the head of the plan that may go out together: none changes raft
// membership (those stay one at a time, re-checked by reconcile.CheckStep), and at most
// maxDrains drains. Steps on one node are merged into one update, in plan order. parallel 1
// (or fewer than two units) means step by step; otherwise it bounds the concurrent calls.
func batchOf(steps []reconcile.Step, parallel, maxDrains int) []unit {
	if parallel <= 1 {
		return nil
	}
	var units []unit
	at := map[string]int{}
	drains := 0
	for _, st := range steps {
		if st.Action.ChangesMembership() {
			break
		}
		i, seen := at[st.Node]
		if st.MovesTasks() && (!seen || !movesTasks(units[i].first, units[i].riders)) {
			if drains == maxDrains {
				break
			}
			drains++
		}
		if seen {
			units[i].riders = append(units[i].riders, st)
			continue
		}
		at[st.Node] = len(units)
		units = append(units, unit{first: st})
	}
	return units
}

// batchRun is one unit of a batch on its way.
type batchRun struct {
	a      stepRun
	u      unit
	sent   bool
	before map[string]bool
}

// applyBatch sends the units with bounded concurrency, each read just before and sent with the
// version read, then waits once for all of them to read back and for the drains among them to
// move their tasks. It costs one read and one update per node and one observation per poll,
// where step by step costs a pass, with a full node list, per step.
func (c *Controller) applyBatch(ctx context.Context, s reconcile.Snapshot, res Result, units []unit, rep *passReport) (Result, error) {
	ft := faultTolerance(s)
	runs := make([]*batchRun, len(units))
	for i, u := range units {
		r := &batchRun{u: u, a: stepRun{c: c, ctx: ctx, log: stepLog(c.o.Log, u.first, u.riders)}}
		r.a.sr = StepResult{Step: u.first, FaultToleranceBefore: ft, FaultToleranceAfter: ft}
		runs[i] = r
	}
	c.o.Log.Info("Applying steps in parallel", "steps", len(units), "parallelism", c.o.Parallelism)
	start := c.o.Clock.Now()
	sem := make(chan struct{}, c.o.Parallelism)
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r.send()
		}()
	}
	wg.Wait()
	c.settleBatch(ctx, runs, s.Self, start)
	for _, r := range runs {
		if r.sent && r.a.sr.Result == ResultOK && movesTasks(r.u.first, r.u.riders) {
			r.a.awaitDrain(r.before)
		}
	}
	return c.batchOutcome(res, runs, rep)
}

// send is apply's read and send for one unit (no re-check: nothing in a batch changes raft).
func (r *batchRun) send() {
	a := &r.a
	if a.stopped() {
		return
	}
	node, newSpec, changed, ok := a.prepare(r.u.riders)
	if !ok {
		return
	}
	if movesTasks(r.u.first, r.u.riders) {
		var err error
		if r.before, err = TasksOn(a.ctx, bounded{r: a.c.r, timeout: a.c.o.CallTimeout}, r.u.first.Node); err != nil {
			a.end(ResultError, fmt.Errorf("before %s: %w", a.what(), err))
			return
		}
	}
	if changed && !a.send(node, newSpec) {
		return
	}
	r.sent = true
}

// settleBatch observes until every sent unit reads back, or the step timeout passes.
func (c *Controller) settleBatch(ctx context.Context, runs []*batchRun, self string, start time.Time) {
	deadline := start.Add(c.o.StepTimeout)
	pollCtx := context.WithoutCancel(ctx)
	for {
		s, err := c.poll(pollCtx)
		waiting := 0
		for _, r := range runs {
			if !r.sent || r.a.sr.Result != "" {
				continue
			}
			state := "cannot observe the swarm"
			done := err == nil
			if err == nil {
				for _, st := range append([]reconcile.Step{r.u.first}, r.u.riders...) {
					var ok bool
					if ok, state = reconcile.Settled(s, st); !ok {
						done = false
						break
					}
				}
			}
			now := c.o.Clock.Now()
			switch {
			case done:
				r.a.sr.Settle = now.Sub(start)
				r.a.log.V(1).Info("Step settled", "settleSeconds", r.a.sr.Settle.Seconds())
				r.a.end(ResultOK, nil)
			case !now.Before(deadline):
				r.a.sr.unsettled = true
				e := fmt.Errorf("%w: %s not done after %s: %s", ErrStepTimeout, r.a.what(), c.o.StepTimeout, state)
				r.a.log.Error(e, "Step did not settle")
				r.a.end(ResultTimeout, e)
			case ctx.Err() != nil:
				r.a.end(ResultInterrupted, fmt.Errorf("%w while %s was settling: %s", ErrStopped, r.a.what(), state))
			default:
				waiting++
			}
		}
		if waiting == 0 {
			return
		}
		select {
		case <-ctx.Done():
		case <-c.o.Clock.After(c.o.SettlePoll):
		}
	}
}

// batchOutcome reports every unit and turns them into the pass's result: all settled is
// progress; a conflict (a node changed since it was read) plans again at once; the first
// error, if any, is the pass's.
func (c *Controller) batchOutcome(res Result, runs []*batchRun, rep *passReport) (Result, error) {
	var firstErr error
	ok, conflicts := 0, 0
	for _, r := range runs {
		sr := r.a.sr
		noteOpenDrain(sr, rep)
		c.reportStep(sr, r.u.riders)
		switch sr.Result {
		case ResultOK:
			ok++
		case ResultConflict:
			conflicts++
		case ResultStandby:
			res.Standby = sr.Err.Error()
		default:
			if firstErr == nil {
				firstErr = sr.Err
			}
		}
	}
	first := runs[0].a.sr
	res.Step = &first
	c.o.Log.Info("Parallel steps finished", "settled", ok, "conflicts", conflicts, "steps", len(runs))
	if firstErr != nil {
		return res, firstErr
	}
	if ok > 0 {
		rep.progress = progressMade
	} else if conflicts > 0 {
		rep.progress, rep.stalled = progressStalled, first.Err
	}
	res.RequeueNow = res.Standby == ""
	return res, nil
}

// noteOpenDrain remembers a drain whose tasks were not seen to move.
func noteOpenDrain(sr StepResult, rep *passReport) {
	if sr.openDrain == nil {
		return
	}
	if rep.drainOpen == nil {
		rep.drainOpen = map[string]map[string]bool{}
	}
	rep.drainOpen[sr.Step.Node] = sr.openDrain
}

// awaitOpenDrains waits, before the next drain, for the drains an earlier pass left
// unfinished: they still count against spec.policy.maxUnavailable.
func (c *Controller) awaitOpenDrains(ctx context.Context, s reconcile.Snapshot, res Result, rep *passReport) (Result, error) {
	for node, before := range c.mem.draining {
		log := c.o.Log.WithValues("node", node)
		if n := findNode(s, node); n != nil {
			log = log.WithValues("hostname", n.Hostname)
		}
		if n := findNode(s, node); n == nil || n.Availability != spec.AvailabilityDrain {
			rep.drainDone = append(rep.drainDone, node) // gone, or no longer drained: nothing to wait for
			continue
		}
		log.Info("Next drain held: an earlier drain has not finished")
		out := c.waitDrain(ctx, log, node, before)
		if out.result != ResultOK {
			return res, fmt.Errorf("before the next drain: %w", out.err)
		}
		rep.drainDone = append(rep.drainDone, node)
	}
	rep.progress = progressMade
	res.RequeueNow = true
	return res, nil
}
