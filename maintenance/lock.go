// Package maintenance takes one node of a swarm out of service on purpose (a backup, OS
// patching, an engine upgrade, a reboot) without losing quorum, under a lock that lives in the
// swarm itself so that every script, every swarmtopo instance and every admin sees the same one.
//
// # Where the lock lives
//
// The lock is a label on the swarm object (`docker swarm inspect`, Spec.Labels), key LabelKey,
// holding JSON: node, holder, reason, start and expiry. It is written with SwarmUpdate and the
// version read, so the write is a raft compare-and-swap: of two writers that read the same
// version, swarm stores one and answers the other "update out of sequence". A label on the node
// in maintenance would not do: each node object has its own version, so two starts on two
// different nodes would both succeed and two managers would be down at once.
//
// The expiry is a wall-clock time written by the holder. A crashed script's lock stops counting
// when it expires; hosts whose clocks disagree by more than a TTL would disagree about it, so
// keep the managers' clocks in sync (NTP), as raft's own certificates need anyway.
package maintenance

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/swarmtopo/swarmtopo/spec"
)

// LabelKey is the swarm label that holds the lock.
const LabelKey = "dev.swarmtopo.maintenance"

// DefaultTTL is how long a lock holds when no TTL is given.
const DefaultTTL = 30 * time.Minute

// Sentinel errors. Match them with errors.Is.
var (
	// ErrRefused means taking the node down now is not safe, or another lock holds.
	ErrRefused = errors.New("maintenance: refused")
	// ErrNoLock means there is no valid lock where one was expected.
	ErrNoLock = errors.New("maintenance: no lock")
	// ErrForeign means the lock is held by someone else.
	ErrForeign = errors.New("maintenance: lock held by another holder")
	// ErrBadLock means the label holds something that is not a lock.
	ErrBadLock = errors.New("maintenance: lock label is not a lock")
	// ErrLost means the lock changed under us (a racing writer won).
	ErrLost = errors.New("maintenance: lock taken by another writer")
)

// Lock is one node's maintenance, as stored in the swarm label.
type Lock struct {
	// Node is the full node ID; Hostname is for people.
	Node     string `json:"node"`
	Hostname string `json:"hostname"`
	// Holder says who took it (user@host by default).
	Holder string    `json:"holder"`
	Reason string    `json:"reason,omitempty"`
	Start  time.Time `json:"start"`
	Expiry time.Time `json:"expiry"`
	// Manager records whether the node was a raft member when the lock was taken.
	Manager bool `json:"manager"`
	// Drained is set when the lock's holder drained the node; Availability is what it had
	// before, to put back at the end.
	Drained      bool              `json:"drained,omitempty"`
	Availability spec.Availability `json:"availability,omitempty"`
}

// Valid reports whether the lock still holds at now.
func (l *Lock) Valid(now time.Time) bool { return l != nil && now.Before(l.Expiry) }

// String is one line for logs and refusals.
func (l *Lock) String() string {
	s := fmt.Sprintf("%s (%s) held by %s since %s until %s", l.Hostname, l.Node, l.Holder,
		l.Start.UTC().Format(time.RFC3339), l.Expiry.UTC().Format(time.RFC3339))
	if l.Reason != "" {
		s += ": " + l.Reason
	}
	return s
}

// Encode returns the label value.
func (l *Lock) Encode() string {
	b, err := json.Marshal(l)
	if err != nil {
		panic(err) // plain fields only: cannot fail
	}
	return string(b)
}

// Decode parses a label value. Anything that is not a complete lock is ErrBadLock, with what is
// wrong, so that a label edited by hand is reported instead of silently ignored or obeyed.
func Decode(v string) (*Lock, error) {
	var l Lock
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%w: label %s=%q: %w", ErrBadLock, LabelKey, short(v), err)
	}
	var missing []string
	if l.Node == "" {
		missing = append(missing, "node")
	}
	if l.Holder == "" {
		missing = append(missing, "holder")
	}
	if l.Start.IsZero() {
		missing = append(missing, "start")
	}
	if l.Expiry.IsZero() {
		missing = append(missing, "expiry")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: label %s=%q has no %s", ErrBadLock, LabelKey, short(v), strings.Join(missing, ", "))
	}
	if !l.Expiry.After(l.Start) {
		return nil, fmt.Errorf("%w: label %s: expiry %s is not after start %s", ErrBadLock, LabelKey,
			l.Expiry.Format(time.RFC3339), l.Start.Format(time.RFC3339))
	}
	return &l, nil
}

func short(v string) string {
	if len(v) > 80 {
		return v[:77] + "..."
	}
	return v
}

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
