package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// Requeue durations and limits of a pass.
const (
	// refusedRequeue is the wait before planning again when a step was refused at the last
	// moment: the world moved, so give it a moment to finish moving.
	refusedRequeue = 2 * time.Second
	// unknownPatience is how long passes hold a role change while nodes show "unknown" after a
	// leader change, and unknownRequeue how often they look meanwhile.
	unknownPatience = 20 * time.Second
	unknownRequeue  = time.Second
	// graceMargin is how far past the end of a grace period the pass looks again, so that the
	// planner sees the grace over.
	graceMargin = 100 * time.Millisecond
	// maxUnproductive is how many passes in a row may end without an applied step
	// (conflicts, refusals) before it is reported as an error.
	maxUnproductive = 5
)

// Reconcile runs one pass, in phases that each may end it: observe once and plan; preflight
// (blocked, dry run, standing by, a role change in flight, nodes shown unknown, nothing to
// do); apply only the first step and wait for it to settle; outcome. A pass that applied a step
// returns RequeueNow: the plan it applied from is stale by then.
//
// A blocked plan is not an error: Plan.Blocked says why. Standing by is not one either:
// Result.Standby says why. Errors mean "try again later with backoff"; errors.Is tells
// ErrStepTimeout, ErrNoProgress, ErrNotManager and ErrStopped apart.
func (c *Controller) Reconcile(ctx context.Context) (res Result, err error) {
	if c.o.OnPass != nil {
		defer func() { c.o.OnPass(res, err) }()
	}
	t := c.o.Topology()
	if t == nil {
		return Result{}, ErrNoTopology
	}
	s, err := c.observe(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("observing swarm: %w", err)
	}
	plan, err := c.plan(ctx, t, s)
	if err != nil {
		return Result{}, err
	}
	var rep passReport
	res, err = c.pass(ctx, s, plan, t.Spec.Policy.Unavailable(), &rep)
	if stalled := c.remember(rep, c.o.Clock.Now()); stalled != nil && err == nil {
		err = stalled
	}
	if err == nil {
		res = requeueAtGraceEnd(res, s, t.Spec.Policy.ReplaceUnreachableAfter.Duration, c.o.Resync)
	}
	return res, err
}

// plan runs the planner on s, makes sure nothing is changed while the swarm has no leader, and
// reports the plan.
func (c *Controller) plan(ctx context.Context, t *spec.SwarmTopology, s reconcile.Snapshot) (*reconcile.Plan, error) {
	plan, err := c.planner(t, s)
	if err != nil {
		return nil, fmt.Errorf("planning: %w", err)
	}
	if plan == nil {
		return nil, fmt.Errorf("planning: planner returned no plan")
	}
	blockOnClusterError(s, plan)
	c.countTasks(ctx, plan)
	c.report(plan)
	return plan, nil
}

// pass is everything after planning: preflight, apply the first step, outcome.
func (c *Controller) pass(ctx context.Context, s reconcile.Snapshot, plan *reconcile.Plan, maxUnavailable int, rep *passReport) (Result, error) {
	res := Result{Plan: plan}
	if done, err := c.preflight(ctx, s, plan, &res, rep); done {
		return res, err
	}
	if len(c.mem.draining) > 0 && movesTasks(plan.Steps[0], plan.Steps[1:]) {
		return c.awaitOpenDrains(ctx, s, res, rep)
	}
	if units := batchOf(plan.Steps, c.o.Parallelism, maxUnavailable); len(units) > 1 {
		return c.applyBatch(ctx, s, res, units, rep)
	}
	st, riders := plan.Steps[0], ridersOf(plan.Steps)
	sr := c.apply(ctx, s, plan, st, riders)
	res.Step = &sr
	c.reportStep(sr, riders)
	return outcome(res, sr, riders, rep)
}

// preflight is the gate before any step: it ends the pass (done) unless the first step of the
// plan may be applied now.
func (c *Controller) preflight(ctx context.Context, s reconcile.Snapshot, plan *reconcile.Plan, res *Result, rep *passReport) (done bool, err error) {
	if plan.Blocked != "" || c.w == nil {
		// Blocked, or a dry run: the plan is reported, nothing is waited for or applied.
		return true, nil
	}
	// Asked before waiting too: an instance that stands by leaves even the waiting to the one
	// that acts, and a converged pass still finds out which of the two this instance is.
	if err := c.checkGate(ctx); err != nil {
		res.Standby = err.Error()
		return true, nil
	}
	waits, holds := c.inFlight(s, plan, rep)
	if len(waits) > 0 {
		*res, err = c.awaitInFlight(ctx, *res, s.Self, waits, rep)
		return true, err
	}
	for _, h := range holds {
		if n := findNode(s, h.Node); n != nil && reconcile.DemotionStuck(n, s.Time) {
			_, advice := reconcile.StuckDemotion(n)
			c.o.Log.Info("A member left behind by a demotion; no other membership change starts until a human removes it",
				"node", h.Node, "hostname", h.Hostname, "advice", advice)
			continue
		}
		c.o.Log.Info("Promotion pending while its node is away; no other membership change starts until it completes or the node leaves the swarm",
			"node", h.Node, "hostname", h.Hostname, "advice", reconcile.Advice(h))
	}
	if len(plan.Steps) == 0 {
		rep.progress = progressMade
		return true, nil
	}
	first := plan.Steps[0]
	if len(holds) > 0 && first.Action.ChangesMembership() {
		// The planner holds these itself; this is for any planner that does not.
		c.o.Log.Info("Step held: a role change is stuck", "action", first.Action, "node", first.Node, "hostname", first.Hostname)
		return true, nil
	}
	if c.waitForUnknown(s, first, res, rep) {
		return true, nil
	}
	if last := c.mem.lastOK; last != nil && sameStep(*last, first) {
		return true, fmt.Errorf("%w: %s of %s (%s) settled, yet the plan asks for it again; something else may be undoing it",
			ErrNoProgress, first.Action, first.Hostname, first.Node)
	}
	return false, nil
}

// waitForUnknown holds a role change for a bounded time while nodes show "unknown": right
// after a leader change swarm shows them so until they report again (a second or two), and a
// promote chosen then may skip the node that should have had the seat.
func (c *Controller) waitForUnknown(s reconcile.Snapshot, first reconcile.Step, res *Result, rep *passReport) bool {
	if !first.Action.IsRoleChange() || !anyUnknown(s) {
		rep.unknown = unknownClear
		return false
	}
	now := c.o.Clock.Now()
	if since := c.mem.unknownSince; !since.IsZero() && now.Sub(since) >= unknownPatience {
		return false
	}
	rep.unknown = unknownHolding
	c.o.Log.Info("Waiting for node states after a leader change")
	res.RequeueAfter = unknownRequeue
	return true
}

// outcome turns the step's result into the pass's.
func outcome(res Result, sr StepResult, riders []reconcile.Step, rep *passReport) (Result, error) {
	switch sr.Result {
	case ResultOK:
		rep.progress = progressMade
		rep.settled = &sr.Step
		if len(riders) > 0 {
			rep.settled = &riders[len(riders)-1]
		}
		res.RequeueNow = true
		return res, nil
	case ResultConflict:
		rep.progress, rep.stalled = progressStalled, sr.Err
		res.RequeueNow = true
		return res, nil
	case ResultRefused:
		rep.progress, rep.stalled = progressStalled, sr.Err
		res.RequeueAfter = refusedRequeue
		return res, nil
	case ResultStandby:
		// Leadership moved between the pass's first look and the call: nothing was sent.
		res.Standby = sr.Err.Error()
		return res, nil
	}
	noteOpenDrain(sr, rep)
	if sr.unsettled && sr.Step.Action.IsRoleChange() {
		// It may be stored: nothing else is changed until it is seen done or dropped.
		pending := sr.Step
		rep.pending = &pending
	}
	return res, sr.Err
}

// reportStep hands the step, and its riders when it settled, to OnStep. A step the gate held
// back was not attempted by this instance.
func (c *Controller) reportStep(sr StepResult, riders []reconcile.Step) {
	if c.o.OnStep == nil || sr.Result == ResultStandby {
		return
	}
	c.o.OnStep(sr)
	if sr.Result == ResultOK {
		for _, r := range riders {
			c.o.OnStep(StepResult{Step: r, Result: ResultOK, FaultToleranceBefore: sr.FaultToleranceAfter, FaultToleranceAfter: sr.FaultToleranceAfter})
		}
	}
}

// requeueAtGraceEnd looks again the moment a grace period ends rather than at the next resync:
// that is when an unreachable manager becomes due for replacement.
func requeueAtGraceEnd(res Result, s reconcile.Snapshot, grace, resync time.Duration) Result {
	if res.RequeueNow {
		return res
	}
	if ends := untilGraceEnds(s, grace); ends > 0 && ends < resync && (res.RequeueAfter == 0 || ends < res.RequeueAfter) {
		res.RequeueAfter = ends
	}
	return res
}

// anyUnknown reports whether a node that is not a raft member shows the "unknown" state.
func anyUnknown(s reconcile.Snapshot) bool {
	for _, n := range s.Nodes {
		if !n.Member && n.State == reconcile.StateUnknown {
			return true
		}
	}
	return false
}

// untilGraceEnds returns how long until the first unreachable manager of s is past its grace
// period, or 0 if none is waiting.
func untilGraceEnds(s reconcile.Snapshot, grace time.Duration) time.Duration {
	var next time.Duration
	for _, n := range s.Nodes {
		if !n.Member || n.Reachability == reconcile.ReachabilityReachable || n.UnreachableSince.IsZero() {
			continue
		}
		if left := n.UnreachableSince.Add(grace).Sub(s.Time) + graceMargin; left > 0 && (next == 0 || left < next) {
			next = left
		}
	}
	return next
}

// blockOnClusterError makes sure nothing is applied while the swarm has no leader, whatever
// the planner said: with quorum lost no change can succeed and a role change attempted during
// an election is the riskiest moment to add one.
func blockOnClusterError(s reconcile.Snapshot, p *reconcile.Plan) {
	if s.ClusterError == "" || p.Blocked != "" {
		return
	}
	p.Steps = nil
	p.Blocked = fmt.Sprintf("the swarm has no leader, so nothing can be changed (%s). %s",
		strings.TrimSpace(s.ClusterError), reconcile.QuorumLostAdvice)
}

// report hands the plan to OnPlan and logs it.
func (c *Controller) report(p *reconcile.Plan) {
	if c.o.OnPlan != nil {
		c.o.OnPlan(p)
	}
	log := c.o.Log
	kv := []any{"steps", len(p.Steps), "inFlight", len(p.InFlight),
		"faultTolerance", p.Before.FaultTolerance, "floor", p.Floor, "dryRun", c.o.DryRun}
	switch {
	case p.Blocked != "":
		log.Info("Plan blocked", append(kv, "reason", p.Blocked)...)
	case p.Converged():
		log.V(1).Info("Swarm matches the topology", kv...)
	default:
		log.Info("Planned", kv...)
		if c.o.DryRun {
			for i, st := range p.Steps {
				kv := []any{"index", i + 1, "action", st.Action, "node", st.Node,
					"hostname", st.Hostname, "zone", st.Zone, "reason", st.Reason, "faultToleranceAfter", st.FaultTolerance}
				if st.Tasks != nil {
					kv = append(kv, "tasks", *st.Tasks)
				}
				log.Info("Would apply step", kv...)
			}
		}
	}
	for _, w := range p.Warnings {
		log.Info("Plan warning", "warning", w)
	}
}

// inFlight lists the role changes in flight: the one this process sent and has not seen
// settle, those the planner reports, and those visible in the snapshot (desired role and raft
// membership disagree). Two membership changes at once have left a manager unreachable
// (swarmkit#2196), so the gate does not rely on the planner alone.
//
// waits are those that can complete now: the pass waits for them. holds are stuck promotions
// (reconcile.PromotionStuck) and members left behind by a demotion (reconcile.DemotionStuck):
// waiting is pointless, since only the node's return or a human can end them, but no other
// membership change may start meanwhile. A role change the plan itself
// makes on an in-flight node, such as undoing a promote that cannot join, is not held back.
func (c *Controller) inFlight(s reconcile.Snapshot, p *reconcile.Plan, rep *passReport) (waits, holds []reconcile.Step) {
	seen := map[string]bool{}
	add := func(st reconcile.Step) {
		if seen[st.Node] {
			return
		}
		seen[st.Node] = true
		if n := findNode(s, st.Node); n != nil && reconcile.ChangeStuck(n, s.Time) {
			holds = append(holds, st)
		} else {
			waits = append(waits, st)
		}
	}
	if pd := c.mem.pending; pd != nil {
		if done, _ := reconcile.Settled(s, *pd); done || abandoned(s, *pd) {
			rep.clearPending = true
		} else {
			add(*pd)
		}
	}
	for _, f := range p.InFlight {
		add(inFlightStep(f.Node, f.Hostname, f.To))
	}
	var first *reconcile.Step
	if len(p.Steps) > 0 && p.Steps[0].Action.IsRoleChange() {
		first = &p.Steps[0]
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if reconcile.RoleInFlight(n) && (first == nil || first.Node != n.ID) {
			add(inFlightStep(n.ID, n.Hostname, n.DesiredRole))
		}
	}
	return waits, holds
}

func inFlightStep(id, hostname string, to reconcile.Role) reconcile.Step {
	return reconcile.Step{Action: reconcile.RoleChangeTo(to), Node: id, Hostname: hostname, Reason: "role change in flight"}
}

// abandoned reports whether a pending role change is no longer asked for: the node is gone or
// its desired role was set back (or the update never landed).
func abandoned(s reconcile.Snapshot, st reconcile.Step) bool {
	if s.ClusterError != "" {
		return false
	}
	n := findNode(s, st.Node)
	return n == nil || n.DesiredRole != st.Action.Role()
}

// awaitInFlight is the preflight wait: no new step while a role change is still settling.
func (c *Controller) awaitInFlight(ctx context.Context, res Result, self string, waits []reconcile.Step, rep *passReport) (Result, error) {
	for _, st := range waits {
		log := c.o.Log.WithValues("action", st.Action, "node", st.Node, "hostname", st.Hostname)
		log.Info("Waiting for role change in flight")
		out := c.settle(ctx, st, self)
		switch out.result {
		case ResultOK:
			log.Info("Role change in flight settled", "settleSeconds", out.elapsed.Seconds())
			continue
		case ResultInterrupted:
			rep.pending = &st
			log.Info("Stopped while a role change was in flight", "settled", false, "state", out.state)
			return res, fmt.Errorf("%w while %s of %s (%s) was in flight: %s", ErrStopped, st.Action, st.Hostname, st.Node, out.state)
		}
		rep.pending = &st
		err := fmt.Errorf("%w: %s of %s (%s) still not done after %s: %s; %s",
			ErrStepTimeout, st.Action, st.Hostname, st.Node, c.o.StepTimeout, out.state, reconcile.Advice(st))
		log.Error(err, "Role change in flight did not settle; nothing else will be changed until it does")
		return res, err
	}
	rep.clearPending = true
	res.RequeueNow = true
	return res, nil
}

func sameStep(a, b reconcile.Step) bool {
	if a.Action != b.Action || a.Node != b.Node {
		return false
	}
	if (a.Labels == nil) != (b.Labels == nil) {
		return false
	}
	return a.Labels == nil ||
		maps.Equal(a.Labels.Add, b.Labels.Add) && slices.Equal(a.Labels.Remove, b.Labels.Remove)
}

func findNode(s reconcile.Snapshot, id string) *reconcile.Node {
	for i := range s.Nodes {
		if s.Nodes[i].ID == id {
			return &s.Nodes[i]
		}
	}
	return nil
}

// ridersOf returns the steps right after the first that only set availability or labels on the
// same node: they go in the same NodeUpdate as the first step (a promote and the drain that
// follows it, say). Still one role change per update, and one round trip and settle fewer.
func ridersOf(steps []reconcile.Step) []reconcile.Step {
	if len(steps) == 0 || steps[0].Action.Removes() {
		return nil
	}
	var riders []reconcile.Step
	for _, st := range steps[1:] {
		if st.Node != steps[0].Node || st.Action.ChangesMembership() {
			break
		}
		riders = append(riders, st)
	}
	return riders
}
