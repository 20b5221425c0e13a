package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
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
		s, err := c.observe(pollCtx)
		switch {
		case err == nil:
			out.last, out.haveLast = s, true
			done, state := settled(s, st)
			out.state = state
			if done {
				out.result, out.elapsed = ResultOK, clock.Now().Sub(start)
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

// settled reports whether st has taken effect in s, and says what is seen either way.
// Role changes also need a leader: until one exists the swarm cannot take the next change.
func settled(s reconcile.Snapshot, st reconcile.Step) (bool, string) {
	if s.ClusterError != "" {
		return false, "the swarm has no leader yet: " + s.ClusterError
	}
	n := findNode(s, st.Node)
	leader := hasLeader(s)
	switch st.Action {
	case reconcile.ActionPromote:
		switch {
		case n == nil:
			return false, "the node is no longer in the swarm"
		case !n.Member:
			return false, "the node is not in the raft member list yet"
		case n.Reachability != reconcile.ReachabilityReachable:
			return false, fmt.Sprintf("the node is a raft member but %s", n.Reachability)
		case !leader:
			return false, "the swarm has no leader yet"
		}
		return true, "the node is a reachable manager"
	case reconcile.ActionDemote:
		switch {
		case n == nil:
			return true, "the node is no longer in the swarm"
		case n.Member:
			return false, fmt.Sprintf("the node is still in the raft member list (%s)", n.Reachability)
		case !leader:
			return false, "the swarm has no leader yet"
		}
		return true, "the node is a worker"
	case reconcile.ActionRemove:
		if n == nil {
			return true, "the node is removed"
		}
		return false, fmt.Sprintf("the node is still listed (%s)", n.State)
	}
	if n == nil {
		return false, "the node is no longer in the swarm"
	}
	switch st.Action {
	case reconcile.ActionDrain, reconcile.ActionActivate, reconcile.ActionPause:
		want := availabilityOf(st.Action)
		if n.Availability == want {
			return true, "availability reads back " + string(want)
		}
		return false, "availability reads back " + string(n.Availability)
	case reconcile.ActionLabel:
		if labelsApplied(n.Labels, st.Labels) {
			return true, "labels read back"
		}
		return false, "labels do not read back yet"
	}
	return false, fmt.Sprintf("unknown action %q", st.Action)
}

func hasLeader(s reconcile.Snapshot) bool {
	for i := range s.Nodes {
		if s.Nodes[i].Leader {
			return true
		}
	}
	return false
}

func availabilityOf(a reconcile.Action) spec.Availability {
	switch a {
	case reconcile.ActionDrain:
		return spec.AvailabilityDrain
	case reconcile.ActionPause:
		return spec.AvailabilityPause
	}
	return spec.AvailabilityActive
}

func labelsApplied(have map[string]string, lc *reconcile.LabelChange) bool {
	if lc == nil {
		return true
	}
	for k, v := range lc.Add {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	for _, k := range lc.Remove {
		if _, ok := have[k]; ok {
			return false
		}
	}
	return true
}
