package service

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// sleepClock is a virtual clock for listenRetrying: every After moves it forward at once and
// then calls onSleep with the number of pauses taken so far.
type sleepClock struct {
	mu      sync.Mutex
	now     time.Time
	sleeps  int
	onSleep func(n int)
}

func (c *sleepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *sleepClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.sleeps++
	n, now := c.sleeps, c.now
	c.mu.Unlock()
	if c.onSleep != nil {
		c.onSleep(n)
	}
	ch := make(chan time.Time, 1)
	ch <- now
	return ch
}

func TestListenWaitsForAPortStillHeldByTheTaskBeingReplaced(t *testing.T) {
	old, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := old.Addr().String()
	// The old task lets go of the port during the second pause.
	clk := &sleepClock{now: time.Unix(0, 0), onSleep: func(n int) {
		if n == 2 {
			old.Close()
		}
	}}
	ln, err := listenRetrying(addr, listenRetryFor, clk, logr.Discard())
	if err != nil {
		t.Fatalf("listen after the old holder let go: %v", err)
	}
	ln.Close()
	if clk.sleeps != 2 {
		t.Errorf("paused %d times, want 2: the port was free after the second pause", clk.sleeps)
	}
}

func TestListenGivesUpOnAPortThatStaysTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	clk := &sleepClock{now: time.Unix(0, 0)}
	_, err = listenRetrying(busy.Addr().String(), listenRetryFor, clk, logr.Discard())
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("listen on a port that stays taken = %v, want EADDRINUSE", err)
	}
	// It tries for the whole patience (15 s of virtual time) at the usual pace, then once more.
	if want := int(listenRetryFor/listenRetryPause) + 1; clk.sleeps != want {
		t.Errorf("paused %d times, want %d", clk.sleeps, want)
	}
	if waited := clk.Now().Sub(time.Unix(0, 0)); waited < listenRetryFor {
		t.Errorf("gave up after %s, want at least %s", waited, listenRetryFor)
	}
}

func TestListenDoesNotRetryOtherErrors(t *testing.T) {
	clk := &sleepClock{now: time.Unix(0, 0)}
	if _, err := listenRetrying("127.0.0.1:99999", listenRetryFor, clk, logr.Discard()); err == nil {
		t.Fatal("listen on an invalid port succeeded")
	}
	if clk.sleeps != 0 {
		t.Errorf("paused %d times on an error that is not 'address in use'", clk.sleeps)
	}
}
