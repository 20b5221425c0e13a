package controller

import "time"

// Clock is the controller's only source of time, so tests can run a 90 s step timeout in
// microseconds. Call timeouts are not on it: they bound real network calls.
type Clock interface {
	Now() time.Time
	// After fires once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// RealClock is the wall clock.
var RealClock Clock = realClock{}
