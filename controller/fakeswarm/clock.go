package fakeswarm

import (
	"sort"
	"sync"
	"time"
)

// Clock is a fake controller.Clock.
//
// A manual clock (NewClock) only moves on Advance, so a test can hold a loop idle and decide
// what wakes it. An auto clock (NewAutoClock) moves forward by d on every After(d) and fires at
// once, so polling loops with long timeouts run in microseconds and still time out after the
// right number of polls.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	auto    bool
	waiters []waiter
	afters  []time.Duration
	changed chan struct{}
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a manual clock at start.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start, changed: make(chan struct{})}
}

// NewAutoClock returns a clock that jumps forward on every After.
func NewAutoClock(start time.Time) *Clock {
	c := NewClock(start)
	c.auto = true
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the time once d has passed on this clock.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.afters = append(c.afters, d)
	defer c.signalLocked()
	if c.auto {
		c.now = c.now.Add(d)
		ch <- c.now
		return ch
	}
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves a manual clock forward and fires the waiters that are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	sort.SliceStable(c.waiters, func(i, j int) bool { return c.waiters[i].at.Before(c.waiters[j].at) })
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
			continue
		}
		keep = append(keep, w)
	}
	c.waiters = keep
	c.signalLocked()
}

// Waiters returns how many After channels wait to fire.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// AfterCalls returns how many times After was called.
func (c *Clock) AfterCalls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.afters)
}

// Afters returns the durations After was called with, in order.
func (c *Clock) Afters() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.afters...)
}

// WaitForAfterCalls blocks until After has been called at least n times in all, or until
// timeout of real time has passed; it reports whether it was. Tests use it to know that a loop
// went to sleep. (A count of calls rather than of pending waiters: a loop woken by something
// else leaves its waiter behind.)
func (c *Clock) WaitForAfterCalls(n int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if len(c.afters) >= n {
			c.mu.Unlock()
			return true
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return false
		}
	}
}

func (c *Clock) signalLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}
