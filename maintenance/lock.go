// Package maintenance takes one node of a swarm out of service on purpose (a backup, OS
// patching, an engine upgrade, a reboot) without losing quorum, under a lock that lives in the
// swarm itself so that every script, every swarmtopo instance and every admin sees the same one.
// reconcile.MaintenanceLock says where the lock lives and why there; the planner reads it too.
package maintenance

import (
	"errors"
	"fmt"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// LabelKey is the swarm label that holds the lock.
const LabelKey = reconcile.MaintenanceLabelKey

// DefaultTTL is how long a lock holds when no TTL is given.
const DefaultTTL = 30 * time.Minute

// Lock is one node's maintenance.
type Lock = reconcile.MaintenanceLock

// Decode parses the label value.
func Decode(v string) (*Lock, error) { return reconcile.DecodeMaintenanceLock(v) }

// Sentinel errors. Match them with errors.Is.
var (
	// ErrRefused means taking the node down now is not safe, or another lock holds.
	ErrRefused = errors.New("maintenance: refused")
	// ErrNoLock means there is no valid lock where one was expected.
	ErrNoLock = errors.New("maintenance: no lock")
	// ErrForeign means the lock is held by someone else.
	ErrForeign = errors.New("maintenance: lock held by another holder")
	// ErrBadLock means the label holds something that is not a lock.
	ErrBadLock = reconcile.ErrBadLock
	// ErrLost means the lock changed under us (a racing writer won).
	ErrLost = errors.New("maintenance: lock taken by another writer")
)

// ParseTTL reads a --ttl value: a Go duration, positive, at most a week.
func ParseTTL(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("--ttl %q: not a duration (e.g. 30m, 2h): %w", s, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("--ttl %q: must be positive", s)
	}
	if d > 7*24*time.Hour {
		return 0, fmt.Errorf("--ttl %q: more than a week; end the maintenance and start it again instead", s)
	}
	return d, nil
}
