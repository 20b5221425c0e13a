package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/swarm"
	"github.com/go-logr/logr"

	"github.com/swarmtopo/swarmtopo/observe"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// apply makes one step, with its riders (see ridersOf) in the same update, and waits for it
// to settle, in phases that each may end it: re-check, read the node, send, settle. s is the
// pass's observation.
func (c *Controller) apply(ctx context.Context, s reconcile.Snapshot, plan *reconcile.Plan, st reconcile.Step, riders []reconcile.Step) StepResult {
	a := stepRun{c: c, ctx: ctx, log: stepLog(c.o.Log, st, riders)}
	ft := faultTolerance(s)
	a.sr = StepResult{Step: st, FaultToleranceBefore: ft, FaultToleranceAfter: ft}
	if a.stopped() || !a.recheck(plan.Floor) {
		return a.sr
	}
	node, newSpec, changed, ok := a.prepare(riders)
	if !ok {
		return a.sr
	}
	drains := movesTasks(st, riders)
	var before map[string]bool
	if drains {
		// Read before the drain is sent: afterwards the node's tasks no longer show as meant
		// to run there.
		var err error
		if before, err = TasksOn(a.ctx, bounded{r: a.c.r, timeout: a.c.o.CallTimeout}, st.Node); err != nil {
			a.log.Error(err, "Could not read the node's tasks")
			a.end(ResultError, fmt.Errorf("before %s: %w", a.what(), err))
			return a.sr
		}
	}
	if !changed {
		// Sent by an earlier pass or process (a restart right after a promote): only wait.
		a.log.Info("Step already stored; waiting for it to settle", "version", node.Version.Index)
	} else if !a.send(node, newSpec) {
		return a.sr
	}
	a.await(s.Self)
	if drains && a.sr.Result == ResultOK {
		a.awaitDrain(before)
	}
	return a.sr
}

// movesTasks reports whether st or its riders drain the node.
func movesTasks(st reconcile.Step, riders []reconcile.Step) bool {
	if st.MovesTasks() {
		return true
	}
	for _, r := range riders {
		if r.MovesTasks() {
			return true
		}
	}
	return false
}

// awaitDrain holds a drain that has read back until its tasks have moved (see waitDrain).
func (a *stepRun) awaitDrain(before map[string]bool) {
	out := a.c.waitDrain(a.ctx, a.log, a.sr.Step.Node, before)
	a.sr.Settle += out.elapsed
	if out.result != ResultOK {
		a.sr.Result, a.sr.Err = out.result, fmt.Errorf("%s: %w", a.what(), out.err)
		if before == nil {
			before = map[string]bool{}
		}
		a.sr.openDrain = before
	}
}

// stepRun is one step on its way; its methods are apply's phases, and each returns false when
// the step ends there (a.sr then says how).
type stepRun struct {
	c   *Controller
	ctx context.Context
	log logr.Logger
	sr  StepResult
}

func stepLog(log logr.Logger, st reconcile.Step, riders []reconcile.Step) logr.Logger {
	log = log.WithValues("action", st.Action, "node", st.Node, "hostname", st.Hostname, "zone", st.Zone, "reason", st.Reason)
	if len(riders) == 0 {
		return log
	}
	also := make([]string, len(riders))
	for i, r := range riders {
		also[i] = string(r.Action)
	}
	return log.WithValues("with", also)
}

func (a *stepRun) end(result string, err error) bool {
	a.sr.Result, a.sr.Err = result, err
	return false
}

func (a *stepRun) what() string {
	st := a.sr.Step
	return fmt.Sprintf("%s of %s (%s)", st.Action, st.Hostname, st.Node)
}

// stopped ends the step if the pass was stopped before anything was sent.
func (a *stepRun) stopped() bool {
	if a.ctx.Err() == nil {
		return false
	}
	a.log.Info("Stopped before the step was sent", "sent", false)
	a.end(ResultInterrupted, fmt.Errorf("%w before %s was sent: %w", ErrStopped, a.what(), a.ctx.Err()))
	return true
}

// holdPoll is how often the swarm is looked at while a membership change waits out a demotion
// hold.
const holdPoll = time.Second

// recheck re-checks a membership change against the swarm as it is now: the plan is a few
// calls old.
func (a *stepRun) recheck(floor int) bool {
	st := a.sr.Step
	if !st.Action.ChangesMembership() {
		return true
	}
	fresh, err := a.c.observe(a.ctx)
	logged := false
	for err == nil {
		// A node that has just left raft can still join it again: wait until it holds its
		// worker certificate (see Options.DemotionHold).
		wait, who := a.c.demotionHold(fresh, st.Node)
		if wait <= 0 {
			break
		}
		if !logged {
			a.log.Info("Waiting for a demoted node to take its worker certificate before the next membership change",
				"demoted", who, "wait", wait.Round(100*time.Millisecond).String())
			logged = true
		}
		// Looked at every second meanwhile: a node that goes down inside its hold is waited
		// for until it is back.
		select {
		case <-a.ctx.Done():
		case <-a.c.o.Clock.After(min(wait, holdPoll)):
		}
		if a.stopped() {
			return false
		}
		fresh, err = a.c.observe(a.ctx)
	}
	if err != nil {
		a.log.Error(err, "Could not re-check the step")
		return a.end(ResultError, fmt.Errorf("re-observing before %s: %w", a.what(), err))
	}
	a.sr.FaultToleranceBefore = faultTolerance(fresh)
	a.sr.FaultToleranceAfter = a.sr.FaultToleranceBefore
	if err := reconcile.CheckStep(fresh, st, floor); err != nil {
		a.log.Info("Step refused by the safety check; planning again", "error", err.Error())
		return a.end(ResultRefused, fmt.Errorf("refusing %s: %w", a.what(), err))
	}
	return true
}

// prepare reads the node just before the update and builds the spec to send: NodeUpdate
// replaces the whole spec, and the version read is what makes the daemon refuse it if anything
// changed since. changed is false when the spec already asks for the step.
func (a *stepRun) prepare(riders []reconcile.Step) (node swarm.Node, out swarm.NodeSpec, changed, ok bool) {
	st := a.sr.Step
	node, _, err := bounded{r: a.c.r, timeout: a.c.o.CallTimeout}.NodeInspectWithRaw(a.ctx, st.Node)
	switch {
	case err != nil && cerrdefs.IsNotFound(err) && st.Action.Removes():
		a.log.Info("Node already removed")
		return node, out, false, a.end(ResultOK, nil)
	case err != nil && cerrdefs.IsNotFound(err):
		a.log.Info("Node is gone; planning again")
		return node, out, false, a.end(ResultConflict, fmt.Errorf("reading node %s (%s): %w", st.Hostname, st.Node, err))
	case err != nil:
		a.log.Error(err, "Could not read the node")
		return node, out, false, a.end(ResultError, fmt.Errorf("reading node %s (%s): %w", st.Hostname, st.Node, err))
	case st.Action.Removes():
		return node, node.Spec, true, true
	}
	out = node.Spec
	for _, s := range append([]reconcile.Step{st}, riders...) {
		var more bool
		if out, more, err = specFor(out, s); err != nil {
			return node, out, false, a.end(ResultError, err)
		}
		changed = changed || more
	}
	return node, out, changed, true
}

// send asks the gate a last time and makes the call.
func (a *stepRun) send(node swarm.Node, newSpec swarm.NodeSpec) bool {
	st, c := a.sr.Step, a.c
	// Leadership can move between the pass's first look and now: ask again, last thing
	// before the call.
	if err := c.checkGate(a.ctx); err != nil {
		a.log.Info("Step not sent: this instance stands by", "sent", false)
		return a.end(ResultStandby, fmt.Errorf("not sending %s: %w", a.what(), err))
	}
	kv := []any{"faultToleranceBefore", a.sr.FaultToleranceBefore,
		"plannedFaultToleranceAfter", st.FaultTolerance, "version", node.Version.Index}
	if st.Tasks != nil {
		kv = append(kv, "tasks", *st.Tasks)
	}
	a.log.Info("Applying step", kv...)
	if a.stopped() {
		return false
	}
	var err error
	if st.Action.Removes() {
		err = sendRemove(a.ctx, c.w, c.o.CallTimeout, node.ID)
	} else {
		err = sendUpdate(a.ctx, c.w, c.o.CallTimeout, node.ID, node.Version, newSpec)
	}
	switch {
	case err == nil:
		a.log.Info("Step sent", "sent", true)
		return true
	case observe.IsOutOfSequence(err):
		// The version also moves without any user edit (status, role reconciliation):
		// routine, so not shown by default.
		a.log.V(1).Info("Node changed since it was read; planning again", "version", node.Version.Index)
		return a.end(ResultConflict, fmt.Errorf("updating node %s (%s): %w", st.Hostname, st.Node, err))
	case errors.Is(err, ErrCallTimeout):
		// The daemon may have stored it: the next passes wait for it if it did.
		a.sr.unsettled = true
		a.log.Error(err, "Step sent but not acknowledged; the next pass checks whether it landed", "sent", true)
	default:
		a.log.Error(err, "Step failed", "sent", true)
	}
	return a.end(ResultError, fmt.Errorf("%s: %w", a.what(), err))
}

// await waits for the sent step to settle.
func (a *stepRun) await(self string) {
	st, c := a.sr.Step, a.c
	out := c.settle(a.ctx, st, self)
	a.sr.Settle = out.elapsed
	if out.haveLast {
		a.sr.FaultToleranceAfter = faultTolerance(out.last)
	}
	kv := []any{"faultToleranceBefore", a.sr.FaultToleranceBefore, "faultToleranceAfter", a.sr.FaultToleranceAfter,
		"settleSeconds", out.elapsed.Seconds()}
	switch out.result {
	case ResultOK:
		a.log.Info("Step settled", kv...)
		a.end(ResultOK, nil)
	case ResultInterrupted:
		a.sr.unsettled = true
		a.log.Info("Stopped while the step was settling", append(kv, "sent", true, "settled", false, "state", out.state)...)
		a.end(ResultInterrupted, fmt.Errorf("%w while %s was settling: %s", ErrStopped, a.what(), out.state))
	default:
		// Nothing else is changed until this one is seen done: the next pass waits for it.
		a.sr.unsettled = true
		err := fmt.Errorf("%w: %s not done after %s: %s; %s", ErrStepTimeout, a.what(), c.o.StepTimeout, out.state, reconcile.Advice(st))
		a.log.Error(err, "Step did not settle", append(kv, "sent", true, "settled", false)...)
		a.end(ResultTimeout, err)
	}
}

// specFor returns the spec to send for st: a copy of the node's current spec with only what the
// step changes (reconcile.SpecAfter), so that fields swarmtopo does not manage (name, other
// labels) go back as read. changed is false when the spec already asks for it.
func specFor(cur swarm.NodeSpec, st reconcile.Step) (out swarm.NodeSpec, changed bool, err error) {
	want, changed, err := reconcile.SpecAfter(reconcile.NodeSpec{
		Role: reconcile.Role(cur.Role), Availability: spec.Availability(cur.Availability), Labels: cur.Labels}, st)
	if err != nil {
		return cur, false, err
	}
	out = cur
	out.Role, out.Availability, out.Labels = swarm.NodeRole(want.Role), swarm.NodeAvailability(want.Availability), want.Labels
	return out, changed, nil
}
