package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// onceTimeoutRetries is how many passes of Once may fail on a call timeout before it gives
// up: a manager that just lost quorum hangs calls for a while before it says so.
const onceTimeoutRetries = 2

// Run reconciles until ctx is cancelled. It wakes on node events, on the resync timer (events
// can stop silently), right after an applied step, and after a backoff that doubles on every
// failed pass up to MaxBackoff. When the swarm has converged it idles until an event or resync.
// It returns nil once ctx is cancelled and the current pass has stopped cleanly.
func (c *Controller) Run(ctx context.Context) error {
	log := c.o.Log
	wake := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.watchEvents(ctx, wake)
	}()
	defer wg.Wait()

	log.Info("Controller started", "dryRun", c.o.DryRun, "resync", c.o.Resync.String(), "stepTimeout", c.o.StepTimeout.String())
	var backoff time.Duration
	for {
		// Whatever woke the loop so far is covered by the pass about to run.
		select {
		case <-wake:
		default:
		}
		select {
		case <-c.o.Wake:
		default:
		}
		res, err := c.Reconcile(ctx)
		if ctx.Err() != nil {
			log.Info("Controller stopped")
			return nil
		}
		wait, wakeCh := c.o.Resync, (<-chan struct{})(wake)
		switch {
		case err != nil:
			backoff = nextBackoff(backoff, c.o.MaxBackoff)
			// An event does not cut the backoff short: a failing daemon also emits events.
			wait, wakeCh = backoff, nil
			log.Error(err, "Reconcile failed", "retryIn", backoff.String())
		case res.RequeueNow:
			backoff = 0
			continue
		case res.RequeueAfter > 0:
			backoff = 0
			wait = res.RequeueAfter
		default:
			// Converged, blocked, or standing by (checkGate has said so once): look again at
			// the resync or on an event (a leader's demotion comes with node events).
			backoff = 0
		}
		select {
		case <-ctx.Done():
			log.Info("Controller stopped")
			return nil
		case <-wakeCh:
			log.V(1).Info("Woken by a node event")
		case <-c.o.Wake:
			log.V(1).Info("Woken by the caller")
		case <-c.o.Clock.After(wait):
		}
	}
}

// Once applies steps until the swarm has converged or the plan is blocked, and returns the last
// plan: converged when it has no steps and nothing in flight, blocked when Blocked is set. In
// dry-run mode it makes one pass. An error means the swarm could not be brought there.
func (c *Controller) Once(ctx context.Context) (*reconcile.Plan, error) {
	var last *reconcile.Plan
	timeouts := 0
	for {
		res, err := c.Reconcile(ctx)
		if res.Plan != nil {
			last = res.Plan
		}
		if err != nil {
			if errors.Is(err, ErrCallTimeout) && timeouts < onceTimeoutRetries && ctx.Err() == nil {
				timeouts++
				c.o.Log.Info("Docker call timed out; looking again", "error", err.Error(), "attempt", timeouts)
				continue
			}
			return last, err
		}
		timeouts = 0
		if res.Plan.Blocked != "" || c.w == nil || res.Plan.Converged() || res.StandingBy() {
			// Converged includes a manager waiting out its grace period: --once does not wait.
			// Standing by, this process can do no more; the plan says what is left.
			return last, nil
		}
		if !res.RequeueNow && res.RequeueAfter == 0 {
			return last, nil
		}
		if ctx.Err() != nil {
			return last, fmt.Errorf("%w: %w", ErrStopped, ctx.Err())
		}
		if res.RequeueAfter > 0 {
			select {
			case <-ctx.Done():
				return last, fmt.Errorf("%w: %w", ErrStopped, ctx.Err())
			case <-c.o.Clock.After(res.RequeueAfter):
			}
		}
	}
}

func nextBackoff(cur, limit time.Duration) time.Duration {
	if cur <= 0 {
		return min(minBackoff, limit)
	}
	return min(cur*2, limit)
}
