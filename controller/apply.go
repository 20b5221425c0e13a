package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/observe"
	"github.com/swarmtopo/swarmtopo/reconcile"
)

// apply makes one step, with its riders (see ridersOf) in the same update, and waits for it
// to settle. s is the pass's observation.
func (c *Controller) apply(ctx context.Context, s reconcile.Snapshot, plan *reconcile.Plan, st reconcile.Step, riders []reconcile.Step) StepResult {
	log := c.o.Log.WithValues("action", st.Action, "node", st.Node, "hostname", st.Hostname,
		"zone", st.Zone, "reason", st.Reason)
	if len(riders) > 0 {
		also := make([]string, len(riders))
		for i, r := range riders {
			also[i] = string(r.Action)
		}
		log = log.WithValues("with", also)
	}
	ft := faultTolerance(s)
	sr := StepResult{Step: st, FaultToleranceBefore: ft, FaultToleranceAfter: ft}
	fail := func(result string, err error) StepResult {
		sr.Result, sr.Err = result, err
		return sr
	}
	if ctx.Err() != nil {
		log.Info("Stopped before the step was sent", "sent", false)
		return fail(ResultInterrupted, fmt.Errorf("%w before %s of %s was sent: %w", ErrStopped, st.Action, st.Hostname, ctx.Err()))
	}

	// The plan is a few calls old: re-check membership changes against the swarm as it is now.
	if st.Action.IsRoleChange() || st.Action == reconcile.ActionRemove {
		fresh, err := c.observe(ctx)
		if err != nil {
			log.Error(err, "Could not re-check the step")
			return fail(ResultError, fmt.Errorf("re-observing before %s of %s: %w", st.Action, st.Hostname, err))
		}
		sr.FaultToleranceBefore = faultTolerance(fresh)
		sr.FaultToleranceAfter = sr.FaultToleranceBefore
		if err := reconcile.CheckStep(fresh, st, plan.Floor); err != nil {
			log.Info("Step refused by the safety check; planning again", "error", err.Error())
			return fail(ResultRefused, fmt.Errorf("refusing %s of %s (%s): %w", st.Action, st.Hostname, st.Node, err))
		}
	}

	// Read the node just before the update: NodeUpdate replaces the whole spec, and the version
	// read is what makes the daemon refuse it if anything changed since.
	node, _, err := bounded{r: c.r, timeout: c.o.CallTimeout}.NodeInspectWithRaw(ctx, st.Node)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			if st.Action == reconcile.ActionRemove {
				log.Info("Node already removed")
				return fail(ResultOK, nil)
			}
			log.Info("Node is gone; planning again")
			return fail(ResultConflict, fmt.Errorf("reading node %s (%s): %w", st.Hostname, st.Node, err))
		}
		log.Error(err, "Could not read the node")
		return fail(ResultError, fmt.Errorf("reading node %s (%s): %w", st.Hostname, st.Node, err))
	}
	newSpec, changed, err := specFor(node.Spec, st)
	if err != nil {
		return fail(ResultError, err)
	}
	for _, r := range riders {
		var more bool
		if newSpec, more, err = specFor(newSpec, r); err != nil {
			return fail(ResultError, err)
		}
		changed = changed || more
	}

	if changed {
		// Leadership can move between the pass's first look and now: ask again, last thing
		// before the call.
		if err := c.checkGate(ctx); err != nil {
			log.Info("Step not sent: this instance stands by", "sent", false)
			return fail(ResultStandby, fmt.Errorf("not sending %s of %s (%s): %w", st.Action, st.Hostname, st.Node, err))
		}
	}
	log.Info("Applying step", "faultToleranceBefore", sr.FaultToleranceBefore,
		"plannedFaultToleranceAfter", st.FaultTolerance, "version", node.Version.Index)
	start := c.o.Clock.Now()
	if !changed {
		// Sent by an earlier pass or process (a restart right after a promote): only wait.
		log.Info("Step already stored; waiting for it to settle")
	} else {
		if ctx.Err() != nil {
			log.Info("Stopped before the step was sent", "sent", false)
			return fail(ResultInterrupted, fmt.Errorf("%w before %s of %s was sent: %w", ErrStopped, st.Action, st.Hostname, ctx.Err()))
		}
		if st.Action == reconcile.ActionRemove {
			err = sendRemove(ctx, c.w, c.o.CallTimeout, node.ID)
		} else {
			err = sendUpdate(ctx, c.w, c.o.CallTimeout, node.ID, node.Version, newSpec)
		}
		if err != nil {
			if observe.IsOutOfSequence(err) {
				// The version also moves without any user edit (status, role reconciliation):
				// routine, so not shown by default.
				log.V(1).Info("Node changed since it was read; planning again", "version", node.Version.Index)
				return fail(ResultConflict, fmt.Errorf("updating node %s (%s): %w", st.Hostname, st.Node, err))
			}
			if errors.Is(err, ErrCallTimeout) && st.Action.IsRoleChange() {
				// The daemon may have stored it: the next passes wait for it if it did.
				pending := st
				c.pending = &pending
				log.Error(err, "Step sent but not acknowledged; the next pass checks whether it landed", "sent", true)
			} else {
				log.Error(err, "Step failed", "sent", true)
			}
			return fail(ResultError, fmt.Errorf("%s of %s (%s): %w", st.Action, st.Hostname, st.Node, err))
		}
		log.Info("Step sent", "sent", true)
	}

	out := c.settle(ctx, st, s.Self)
	sr.Settle = out.elapsed
	if out.haveLast {
		sr.FaultToleranceAfter = faultTolerance(out.last)
	}
	kv := []any{"faultToleranceBefore", sr.FaultToleranceBefore, "faultToleranceAfter", sr.FaultToleranceAfter,
		"settleSeconds", out.elapsed.Seconds()}
	switch out.result {
	case ResultOK:
		log.Info("Step settled", kv...)
		return fail(ResultOK, nil)
	case ResultInterrupted:
		if st.Action.IsRoleChange() {
			pending := st
			c.pending = &pending
		}
		log.Info("Stopped while the step was settling", append(kv, "sent", true, "settled", false, "state", out.state)...)
		return fail(ResultInterrupted, fmt.Errorf("%w while %s of %s (%s) was settling: %s", ErrStopped, st.Action, st.Hostname, st.Node, out.state))
	default:
		if st.Action.IsRoleChange() {
			// Nothing else is changed until this one is seen done: the next pass waits for it.
			pending := st
			c.pending = &pending
		}
		err := fmt.Errorf("%w: %s of %s (%s) not done after %s: %s; %s",
			ErrStepTimeout, st.Action, st.Hostname, st.Node, c.o.StepTimeout, out.state, advice(st))
		log.Error(err, "Step did not settle", append(kv, "sent", true, "settled", false)...)
		sr.Settle = c.o.Clock.Now().Sub(start)
		return fail(ResultTimeout, err)
	}
}

// specFor returns the spec to send for st: a copy of the node's current spec with only what the
// step changes, so that fields swarmtopo does not manage (name, other labels) go back as read.
// changed is false when the spec already asks for it.
func specFor(cur swarm.NodeSpec, st reconcile.Step) (out swarm.NodeSpec, changed bool, err error) {
	out = cur
	out.Labels = maps.Clone(cur.Labels)
	switch st.Action {
	case reconcile.ActionPromote:
		out.Role = swarm.NodeRoleManager
	case reconcile.ActionDemote:
		out.Role = swarm.NodeRoleWorker
	case reconcile.ActionDrain:
		out.Availability = swarm.NodeAvailabilityDrain
	case reconcile.ActionActivate:
		out.Availability = swarm.NodeAvailabilityActive
	case reconcile.ActionPause:
		out.Availability = swarm.NodeAvailabilityPause
	case reconcile.ActionLabel:
		if st.Labels == nil {
			return cur, false, fmt.Errorf("label step for %s (%s) has no label change", st.Hostname, st.Node)
		}
		if out.Labels == nil && len(st.Labels.Add) > 0 {
			out.Labels = map[string]string{}
		}
		maps.Copy(out.Labels, st.Labels.Add)
		for _, k := range st.Labels.Remove {
			delete(out.Labels, k)
		}
	case reconcile.ActionRemove:
		return cur, true, nil
	default:
		return cur, false, fmt.Errorf("step for %s (%s) has unknown action %q", st.Hostname, st.Node, st.Action)
	}
	changed = out.Role != cur.Role || out.Availability != cur.Availability || !maps.Equal(out.Labels, cur.Labels)
	return out, changed, nil
}
