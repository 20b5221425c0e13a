package reconcile

// A maintenance lock (see package maintenance for how it is taken) is part of what the planner
// knows of the swarm: a manager in maintenance that goes unreachable is not replaced while the
// lock is valid, and no demotion starts while a manager is in maintenance.
//
// The lock is a label on the swarm object (`docker swarm inspect`, Spec.Labels), key
// MaintenanceLabelKey, holding JSON: node, holder, reason, start and expiry. It is written with
// SwarmUpdate and the version read, so the write is a raft compare-and-swap: of two writers that
// read the same version, swarm stores one and answers the other "update out of sequence". A label
// on the node in maintenance would not do: each node object has its own version, so two starts
// on two different nodes would both succeed and two managers would be down at once.
//
// The expiry is a wall-clock time written by the holder. A crashed script's lock stops counting
// when it expires; hosts whose clocks disagree by more than a TTL would disagree about it, so
// keep the managers' clocks in sync (NTP), as raft's own certificates need anyway.
import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/swarmtopo/swarmtopo/spec"
)

// MaintenanceLabelKey is the swarm label that holds the maintenance lock.
const MaintenanceLabelKey = "dev.swarmtopo.maintenance"

// ErrBadLock means the maintenance label holds something that is not a lock.
var ErrBadLock = errors.New("reconcile: maintenance label is not a lock")

// MaintenanceLock is one node's maintenance, as stored in the swarm label.
type MaintenanceLock struct {
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
func (l *MaintenanceLock) Valid(now time.Time) bool { return l != nil && now.Before(l.Expiry) }

// String is one line for logs and refusals.
func (l *MaintenanceLock) String() string {
	s := fmt.Sprintf("%s (%s) held by %s since %s until %s", l.Hostname, l.Node, l.Holder,
		l.Start.UTC().Format(time.RFC3339), l.Expiry.UTC().Format(time.RFC3339))
	if l.Reason != "" {
		s += ": " + l.Reason
	}
	return s
}

// Encode returns the label value.
func (l *MaintenanceLock) Encode() string {
	b, err := json.Marshal(l)
	if err != nil {
		panic(err) // plain fields only: cannot fail
	}
	return string(b)
}

// DecodeMaintenanceLock parses a label value. Anything that is not a complete lock is ErrBadLock, with what is
// wrong, so that a label edited by hand is reported instead of silently ignored or obeyed.
func DecodeMaintenanceLock(v string) (*MaintenanceLock, error) {
	var l MaintenanceLock
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%w: label %s=%q: %w", ErrBadLock, MaintenanceLabelKey, short(v), err)
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
		return nil, fmt.Errorf("%w: label %s=%q has no %s", ErrBadLock, MaintenanceLabelKey, short(v), strings.Join(missing, ", "))
	}
	if !l.Expiry.After(l.Start) {
		return nil, fmt.Errorf("%w: label %s: expiry %s is not after start %s", ErrBadLock, MaintenanceLabelKey,
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

// InMaintenance returns the valid lock on node id, if any, at the snapshot's time.
func (s *Snapshot) InMaintenance(id string) *MaintenanceLock {
	if l := s.Maintenance; l.Valid(s.Time) && l.Node == id {
		return l
	}
	return nil
}

// managerInMaintenance returns the valid lock if it is on a raft member.
func (s *Snapshot) managerInMaintenance() *MaintenanceLock {
	l := s.Maintenance
	if !l.Valid(s.Time) {
		return nil
	}
	for i := range s.Nodes {
		if s.Nodes[i].ID == l.Node && s.Nodes[i].Member {
			return l
		}
	}
	return nil
}

// holdForMaintenance drops the demotions while a manager is in maintenance: the manager that is
// down on purpose already costs one unit of fault tolerance, and a demotion, even a safe one on
// paper, changes the raft membership the maintenance was judged against. Promotions stay: a new
// reachable member never lowers the fault tolerance.
func holdForMaintenance(steps []Step, s *Snapshot, warn func(string, ...any)) []Step {
	l := s.managerInMaintenance()
	if l == nil {
		return steps
	}
	out := steps[:0:0]
	held := map[string]bool{}
	for _, st := range steps {
		if st.Action == ActionDemote {
			warn("not demoting %s while manager %s is in maintenance (until %s)", st.Hostname, l.Hostname, l.Expiry.UTC().Format(time.RFC3339))
			held[st.Node] = true
			continue
		}
		if held[st.Node] {
			continue // its removal waits for the demotion
		}
		out = append(out, st)
	}
	return out
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

// checkMaintenance is CheckStep's part for maintenance: no demotion while a manager is in
// maintenance, whatever the plan that asked for it.
func checkMaintenance(s *Snapshot, st Step) error {
	if st.Action != ActionDemote {
		return nil
	}
	if l := s.managerInMaintenance(); l != nil {
		return fmt.Errorf("%w: manager %s is in maintenance until %s; no demotion meanwhile",
			ErrNotEligible, l.Hostname, l.Expiry.UTC().Format(time.RFC3339))
	}
	return nil
}
