package controller

import (
	"fmt"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// memory is what one pass leaves for the next. Only Controller.remember writes it, once at the
// end of every pass, from the passReport the pass's phases filled in; the phases only read it.
// Everything a pass can derive from its own observation and plan (converged, blocked, when a
// grace period ends) is derived there and not kept.
type memory struct {
	// pending is a role change that was sent, or found in flight, and has not been seen to
	// settle: the next passes wait for it before anything else is changed, also when the
	// snapshot alone would not show it (a member that joined but is not reachable yet).
	pending *reconcile.Step
	// lastOK is the last step the previous pass saw settle, to notice a plan that asks for it
	// again (something else undoes it).
	lastOK *reconcile.Step
	// unproductive counts passes in a row that ended in a conflict or a refusal.
	unproductive int
	// unknownSince is when passes started to hold a role change because nodes show unknown.
	unknownSince time.Time
	// draining holds the drains whose tasks were not seen to move (timed out or stopped),
	// each with the services it waits for: the next drain waits for them first.
	draining map[string]map[string]bool
}

// passReport is what one pass did that the next ones must know.
type passReport struct {
	// pending, if set, is the role change the next passes wait for; clearPending forgets the
	// one remembered (it settled, or nobody asks for it any more). Neither: as it was.
	pending      *reconcile.Step
	clearPending bool
	// settled is the last step the pass saw settle.
	settled *reconcile.Step
	// progress says whether the pass made progress, or ended in a conflict or refusal (stalled,
	// with that step's error).
	progress progress
	stalled  error
	// unknown says whether the pass held a role change because nodes show unknown.
	unknown unknownHold
	// drainOpen are drains left unfinished, drainDone those since seen done.
	drainOpen map[string]map[string]bool
	drainDone []string
}

type progress int

const (
	progressUnknown progress = iota // nothing to say: an error, a wait, standing by
	progressMade                    // a step settled, or there was nothing to do
	progressStalled                 // a conflict or a refusal
)

type unknownHold int

const (
	unknownAsWas   unknownHold = iota // the pass did not get that far
	unknownHolding                    // a role change waits for nodes shown unknown
	unknownClear                      // no node holds a role change up
)

// remember folds one pass's report into the memory. It returns an error wrapping
// ErrNoProgress when too many passes in a row have stalled.
func (c *Controller) remember(r passReport, now time.Time) error {
	m := &c.mem
	switch {
	case r.pending != nil:
		m.pending = r.pending
	case r.clearPending:
		m.pending = nil
	}
	m.lastOK = r.settled
	for node, before := range r.drainOpen {
		if m.draining == nil {
			m.draining = map[string]map[string]bool{}
		}
		m.draining[node] = before
	}
	for _, node := range r.drainDone {
		delete(m.draining, node)
	}
	switch r.unknown {
	case unknownHolding:
		if m.unknownSince.IsZero() {
			m.unknownSince = now
		}
	case unknownClear:
		m.unknownSince = time.Time{}
	}
	switch r.progress {
	case progressMade:
		m.unproductive = 0
	case progressStalled:
		m.unproductive++
		if m.unproductive >= maxUnproductive {
			m.unproductive = 0
			return fmt.Errorf("%w: %d passes in a row ended without a change: %w", ErrNoProgress, maxUnproductive, r.stalled)
		}
	}
	return nil
}
