package controller

import (
	"context"
	"errors"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// settleOutcome is how waiting for a step ended.
type settleOutcome struct {
	// result is ResultOK, ResultTimeout or ResultInterrupted.
	result  string
	elapsed time.Duration
	// last is the last successful observation, if any.
	last     reconcile.Snapshot
	haveLast bool
	// state says what was last seen, for logs and errors.
	state string
}

// settle polls until st has taken effect, the step timeout passes, or ctx ends. self is the
// node the operator runs on.
//
// When ctx ends, the step is already sent: it keeps looking for up to StopGrace so the log
// can say whether it settled, instead of leaving it half known. Polls use a context without
// the pass's cancellation for the same reason; each is still bounded by the call timeout.
func (c *Controller) settle(ctx context.Context, st reconcile.Step, self string) settleOutcome {
	clock := c.o.Clock
	start := clock.Now()
	deadline := start.Add(c.o.StepTimeout)
	pollCtx := context.WithoutCancel(ctx)
	var (
		out      settleOutcome
		stopping bool
		graceEnd time.Time
	)
	for {
		s, err := c.poll(pollCtx)
		switch {
		case err == nil:
			out.last, out.haveLast = s, true
			done, state := reconcile.Settled(s, st)
			out.state = state
			if done {
				out.result, out.elapsed = ResultOK, clock.Now().Sub(start)
				return out
			}
			if n := findNode(s, st.Node); st.Action == reconcile.ActionDemote && n != nil && reconcile.DemotionStuck(n, s.Time) {
				// Swarm will never finish it: waiting out the step timeout tells nobody more.
				out.result, out.elapsed = ResultTimeout, clock.Now().Sub(start)
				out.state = "a member left behind by the demotion: swarm never removes it"
				return out
			}
		case st.Action == reconcile.ActionDemote && st.Node == self && errors.Is(err, ErrNotManager):
			// The operator's own node finished its demotion: it stops answering manager calls.
			out.result, out.elapsed = ResultOK, clock.Now().Sub(start)
			out.state = "own node is no longer a manager"
			return out
		default:
			// During a leader's demotion the swarm can be leaderless for ~25 s, and a snapshot
			// can catch two leaders mid-election: keep looking until the step timeout.
			out.state = "cannot observe the swarm: " + err.Error()
			c.o.Log.V(1).Info("Settle poll failed", "node", st.Node, "error", err.Error())
		}
		now := clock.Now()
		if !stopping && ctx.Err() != nil {
			stopping, graceEnd = true, now.Add(c.o.StopGrace)
		}
		if stopping && !now.Before(graceEnd) {
			out.result, out.elapsed = ResultInterrupted, now.Sub(start)
			return out
		}
		if !now.Before(deadline) {
			out.result, out.elapsed = ResultTimeout, now.Sub(start)
			return out
		}
		if stopping {
			<-clock.After(c.o.SettlePoll)
			continue
		}
		select {
		case <-ctx.Done():
		case <-clock.After(c.o.SettlePoll):
		}
	}
}
