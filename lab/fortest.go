package lab

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
)

// ForTest brings a lab up for t and tears it down when t ends, even when it fails. A missing
// prerequisite fails the test instead of skipping it: CI must notice a lab that cannot start.
// When the test failed, the tail of every node's dockerd log goes to the test log first.
// cfg.Log defaults to t's log.
func ForTest(t testing.TB, cfg Config) *Lab {
	t.Helper()
	if err := Prerequisites(); err != nil {
		t.Fatalf("lab prerequisites: %v", err)
	}
	if cfg.Log.GetSink() == nil {
		cfg.Log = testr.NewWithInterface(t, testr.Options{Verbosity: 1})
	}
	unlock := lockInstance(t, cfg.Instance)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	l, err := Up(ctx, cfg)
	if err != nil {
		unlock()
		t.Fatalf("bringing lab up: %v", err)
	}
	t.Cleanup(func() {
		defer unlock()
		if t.Failed() {
			for _, n := range l.Nodes() {
				t.Logf("%s dockerd log tail:\n%s", n.Hostname, tail(n.LogPath(), 30))
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := l.Down(ctx); err != nil {
			t.Errorf("tearing lab down: %v", err)
		}
	})
	return l
}

// lockInstance takes the host-wide lock of one lab instance (see instance.lockPath), waiting as
// long as the test may run; labs of other instances run meanwhile.
func lockInstance(t testing.TB, inst int) (unlock func()) {
	t.Helper()
	lockPath := instance(inst).lockPath()
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("opening lab lock: %v", err)
	}
	deadline := time.Now().Add(30 * time.Minute)
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok {
			deadline = dl
		}
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if err != syscall.EWOULDBLOCK {
			f.Close()
			t.Fatalf("taking lab lock %s: %v", lockPath, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			t.Fatalf("taking lab lock %s: another lab held it until the test deadline", lockPath)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}
