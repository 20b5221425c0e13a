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

// Reconcile runs one pass: observe once, plan, preflight, apply only the first step and wait
// for it to settle. A pass that applied a step returns Requeue so that the caller observes and
// plans again; the plan it applied from is stale by then.
//
// A blocked plan is not an error: Plan.Blocked says why. Standing by is not one either:
// Result.Standby says why. Errors mean "try again later with backoff"; errors.Is tells
// ErrStepTimeout, ErrNoProgress, ErrNotManager and ErrStopped apart.
func (c *Controller) Reconcile(ctx context.Context) (res Result, err error) {
	if c.o.OnPass != nil {
		defer func() { c.o.OnPass(res, err) }()
	}
	return c.reconcile(ctx)
}

// How long a pass waits for nodes shown "unknown" before it acts anyway, and how often it
// looks meanwhile.
const (
	unknownPatience = 20 * time.Second
	unknownRequeue  = time.Second
)

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
		// A little past the end, so that the planner sees the grace over.
		if left := n.UnreachableSince.Add(grace).Sub(s.Time) + 100*time.Millisecond; left > 0 && (next == 0 || left < next) {
			next = left
		}
	}
	return next
}

func (c *Controller) reconcile(ctx context.Context) (Result, error) {
	t := c.o.Topology()
	if t == nil {
		return Result{}, ErrNoTopology
	}
	s, err := c.observe(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("observing swarm: %w", err)
	}
	graceEnds := untilGraceEnds(s, t.Spec.Policy.ReplaceUnreachableAfter.Duration)
	res, err := c.pass(ctx, s, t)
	// Look again the moment a grace period ends rather than at the next resync: that is
	// when an unreachable manager becomes due for replacement.
	if err == nil && !res.RequeueNow && graceEnds > 0 && graceEnds < c.o.Resync &&
		(res.RequeueAfter == 0 || graceEnds < res.RequeueAfter) {
		res.RequeueAfter = graceEnds
	}
	return res, err
}

func (c *Controller) pass(ctx context.Context, s reconcile.Snapshot, t *spec.SwarmTopology) (Result, error) {
	plan, err := c.planner(t, s)
	if err != nil {
		return Result{}, fmt.Errorf("planning: %w", err)
	}
	if plan == nil {
		return Result{}, fmt.Errorf("planning: planner returned no plan")
	}
	blockOnClusterError(s, plan)
	c.report(plan)
	res := Result{Plan: plan}
	lastOK := c.lastOK
	c.lastOK = nil

	if plan.Blocked != "" || c.w == nil {
		// Blocked, or a dry run: the plan is reported, nothing is waited for or applied.
		return res, nil
	}
	// Asked before waiting too: an instance that stands by leaves even the waiting to the one
	// that acts, and a converged pass still finds out which of the two this instance is.
	if err := c.checkGate(ctx); err != nil {
		res.Standby = err.Error()
		return res, nil
	}
	if waits := c.inFlight(s, plan); len(waits) > 0 {
		return c.awaitInFlight(ctx, res, s.Self, waits)
	}
	if len(plan.Steps) == 0 {
		c.unproductive = 0
		return res, nil
	}

	// Right after a leader change swarm shows nodes "unknown" until they report again (a second
	// or two): a promote chosen then may skip the node that should have had the seat. Look
	// again shortly, for a bounded time, before changing a role on such a view.
	if plan.Steps[0].Action.IsRoleChange() && anyUnknown(s) {
		now := c.o.Clock.Now()
		if c.unknownSince.IsZero() {
			c.unknownSince = now
		}
		if now.Sub(c.unknownSince) < unknownPatience {
			c.o.Log.Info("Waiting for node states after a leader change")
			res.RequeueAfter = unknownRequeue
			return res, nil
		}
	} else {
		c.unknownSince = time.Time{}
	}

	st := plan.Steps[0]
	if lastOK != nil && sameStep(*lastOK, st) {
		return res, fmt.Errorf("%w: %s of %s (%s) settled, yet the plan asks for it again; something else may be undoing it",
			ErrNoProgress, st.Action, st.Hostname, st.Node)
	}
	riders := ridersOf(plan.Steps)
	sr := c.apply(ctx, s, plan, st, riders)
	res.Step = &sr
	if c.o.OnStep != nil && sr.Result != ResultStandby {
		// A step the gate held back was not attempted by this instance.
		c.o.OnStep(sr)
		if sr.Result == ResultOK {
			for _, r := range riders {
				c.o.OnStep(StepResult{Step: r, Result: ResultOK, FaultToleranceBefore: sr.FaultToleranceAfter, FaultToleranceAfter: sr.FaultToleranceAfter})
			}
		}
	}
	switch sr.Result {
	case ResultOK:
		c.unproductive = 0
		c.lastOK = &st
		if len(riders) > 0 {
			c.lastOK = &riders[len(riders)-1]
		}
		res.RequeueNow = true
		return res, nil
	case ResultConflict, ResultRefused:
		c.unproductive++
		if c.unproductive >= maxUnproductive {
			c.unproductive = 0
			return res, fmt.Errorf("%w: %d passes in a row ended without a change: %w", ErrNoProgress, maxUnproductive, sr.Err)
		}
		if sr.Result == ResultConflict {
			res.RequeueNow = true
		} else {
			res.RequeueAfter = refusedRequeue
		}
		return res, nil
	case ResultStandby:
		// Leadership moved between the pass's first look and the call: nothing was sent.
		res.Standby = sr.Err.Error()
		return res, nil
	}
	return res, sr.Err
}

// blockOnClusterError makes sure nothing is applied while the swarm has no leader, whatever
// the planner said: with quorum lost no change can succeed and a role change attempted during
// an election is the riskiest moment to add one.
func blockOnClusterError(s reconcile.Snapshot, p *reconcile.Plan) {
	if s.ClusterError == "" || p.Blocked != "" {
		return
	}
	p.Steps = nil
	p.Blocked = fmt.Sprintf("the swarm has no leader, so nothing can be changed (%s). "+
		"Bring the stopped managers back (restart their Docker daemons or machines) until more than half are online; "+
		"as a last resort a human can run `docker swarm init --force-new-cluster` on a surviving manager",
		strings.TrimSpace(s.ClusterError))
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
				log.Info("Would apply step", "index", i+1, "action", st.Action, "node", st.Node,
					"hostname", st.Hostname, "zone", st.Zone, "reason", st.Reason, "faultToleranceAfter", st.FaultTolerance)
			}
		}
	}
	for _, w := range p.Warnings {
		log.Info("Plan warning", "warning", w)
	}
}

// inFlight lists the role changes to wait for before anything new is applied: the one this
// process sent and has not seen settle, those the planner reports, and those visible in the
// snapshot (desired role and raft membership disagree). Two membership changes at once have
// left a manager unreachable (swarmkit#2196), so the gate does not rely on the planner alone.
// A role change the plan itself makes on the in-flight node, such as undoing a promote that
// cannot join, is not held back.
func (c *Controller) inFlight(s reconcile.Snapshot, p *reconcile.Plan) []reconcile.Step {
	var out []reconcile.Step
	seen := map[string]bool{}
	add := func(st reconcile.Step) {
		if !seen[st.Node] {
			seen[st.Node] = true
			out = append(out, st)
		}
	}
	if pd := c.pending; pd != nil {
		if done, _ := settled(s, *pd); done || abandoned(s, *pd) || cannotProgress(s, *pd) {
			c.pending = nil
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
		if !reconcile.RoleInFlight(n) {
			continue // includes a promote of a node that is down: it cannot progress, the plan takes it back
		}
		if first != nil && first.Node == n.ID {
			continue
		}
		add(inFlightStep(n.ID, n.Hostname, n.DesiredRole))
	}
	return out
}

func inFlightStep(id, hostname string, to reconcile.Role) reconcile.Step {
	st := reconcile.Step{Action: reconcile.ActionPromote, Node: id, Hostname: hostname, Reason: "role change in flight"}
	if to == reconcile.RoleWorker {
		st.Action = reconcile.ActionDemote
	}
	return st
}

// cannotProgress reports whether a pending promote is of a node that is no longer ready: it
// cannot join raft, swarm refuses to take it back, and the planner places the seat elsewhere.
func cannotProgress(s reconcile.Snapshot, st reconcile.Step) bool {
	n := findNode(s, st.Node)
	return st.Action == reconcile.ActionPromote && n != nil && s.ClusterError == "" && !n.Member && !reconcile.RoleInFlight(n)
}

// abandoned reports whether a pending role change is no longer asked for: the node is gone or
// its desired role was set back (or the update never landed).
func abandoned(s reconcile.Snapshot, st reconcile.Step) bool {
	if s.ClusterError != "" {
		return false
	}
	n := findNode(s, st.Node)
	if n == nil {
		return true
	}
	switch st.Action {
	case reconcile.ActionPromote:
		return n.DesiredRole != reconcile.RoleManager
	case reconcile.ActionDemote:
		return n.DesiredRole != reconcile.RoleWorker
	}
	// Other steps are synchronous: what did not read back did not happen.
	return true
}

// awaitInFlight is the preflight wait: no new step while a role change is still settling.
func (c *Controller) awaitInFlight(ctx context.Context, res Result, self string, waits []reconcile.Step) (Result, error) {
	for _, st := range waits {
		log := c.o.Log.WithValues("action", st.Action, "node", st.Node, "hostname", st.Hostname)
		log.Info("Waiting for role change in flight")
		out := c.settle(ctx, st, self)
		switch out.result {
		case ResultOK:
			log.Info("Role change in flight settled", "settleSeconds", out.elapsed.Seconds())
		case ResultInterrupted:
			c.pending = &st
			log.Info("Stopped while a role change was in flight", "settled", false, "state", out.state)
			return res, fmt.Errorf("%w while %s of %s (%s) was in flight: %s", ErrStopped, st.Action, st.Hostname, st.Node, out.state)
		default:
			c.pending = &st
			err := fmt.Errorf("%w: %s of %s (%s) still not done after %s: %s; %s",
				ErrStepTimeout, st.Action, st.Hostname, st.Node, c.o.StepTimeout, out.state, advice(st))
			log.Error(err, "Role change in flight did not settle; nothing else will be changed until it does")
			return res, err
		}
	}
	c.pending = nil
	res.RequeueNow = true
	return res, nil
}

// advice says what a human can do about a role change that does not settle.
func advice(st reconcile.Step) string {
	switch st.Action {
	case reconcile.ActionPromote:
		// Swarm refuses to demote a node that never joined raft, so there is nothing to undo:
		// once the node shows down, the planner puts the seat elsewhere.
		return fmt.Sprintf("check that node %s's Docker daemon runs and reaches the managers on port 2377 "+
			"(on Engine 20.10 a worker that joined through a manager that is now gone cannot join raft). "+
			"If it joined raft but stays unreachable, undo it with `docker node demote %s`; if it never joined, "+
			"swarm refuses that, and once it shows down another node takes the seat", st.Hostname, st.Node)
	case reconcile.ActionDemote:
		return "the daemon retries a demotion every 5 s and refuses one that would lose quorum; " +
			"check that the other managers are reachable"
	}
	return "check the node with `docker node inspect " + st.Node + "`"
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
	if len(steps) == 0 || steps[0].Action == reconcile.ActionRemove {
		return nil
	}
	var riders []reconcile.Step
	for _, st := range steps[1:] {
		if st.Node != steps[0].Node || st.Action.IsRoleChange() || st.Action == reconcile.ActionRemove {
			break
		}
		riders = append(riders, st)
	}
	return riders
}
