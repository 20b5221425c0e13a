package controller

import (
	"context"
	"errors"
	"io"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

var errStreamClosed = errors.New("event stream closed")

// watchEvents turns node events into wake-ups of the loop until ctx ends. Events are only hints
// (the pass re-lists everything), so a wake-up carries nothing. When the stream breaks or ends
// it subscribes again after a backoff, and wakes the loop once more because events may have been
// missed in between.
func (c *Controller) watchEvents(ctx context.Context, wake chan<- struct{}) {
	log := c.o.Log
	backoff := nextBackoff(0, c.o.MaxBackoff)
	opts := events.ListOptions{Filters: filters.NewArgs(filters.Arg("type", string(events.NodeEventType)))}
	for resubscribed := false; ; resubscribed = true {
		subCtx, cancel := context.WithCancel(ctx)
		msgs, errs := c.r.Events(subCtx, opts)
		if resubscribed {
			log.V(1).Info("Subscribed to node events again")
			notify(wake)
		}
		got, err := c.pumpEvents(subCtx, msgs, errs, wake)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if got {
			// The stream worked for a while: start the backoff over.
			backoff = nextBackoff(0, c.o.MaxBackoff)
		}
		log.Info("Node event stream ended; subscribing again", "error", err.Error(), "retryIn", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-c.o.Clock.After(backoff):
		}
		backoff = nextBackoff(backoff, c.o.MaxBackoff)
	}
}

// pumpEvents forwards one subscription until it ends; got tells whether any event came.
func (c *Controller) pumpEvents(ctx context.Context, msgs <-chan events.Message, errs <-chan error, wake chan<- struct{}) (got bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return got, ctx.Err()
		case m, ok := <-msgs:
			if !ok {
				return got, errStreamClosed
			}
			got = true
			c.o.Log.V(1).Info("Node event", "eventAction", string(m.Action), "node", m.Actor.ID, "hostname", m.Actor.Attributes["name"])
			notify(wake)
		case err, ok := <-errs:
			if !ok || err == nil {
				// The client closes the channel after sending io.EOF; a close alone means the same.
				err = io.EOF
			}
			return got, err
		}
	}
}

// notify wakes the loop without blocking: one pending wake-up is as good as many.
func notify(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}
