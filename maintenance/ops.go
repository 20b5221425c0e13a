package maintenance

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/observe"
	"github.com/swarmtopo/swarmtopo/spec"
)

// Docker is what maintenance needs of a Docker connection: the controller's calls, the swarm
// object that holds the lock, and the task list a drain waits on.
type Docker interface {
	controller.Docker
	SwarmInspect(ctx context.Context) (swarm.Swarm, error)
	SwarmUpdate(ctx context.Context, version swarm.Version, spec swarm.Spec, flags swarm.UpdateFlags) error
	TaskList(ctx context.Context, options swarm.TaskListOptions) ([]swarm.Task, error)
}

// casRetries bounds how often a lock write is retried when the swarm object's version moved
// for another reason than a racing lock (a token rotation, a `docker swarm update`).
const casRetries = 3

// State is the lock as read from the swarm.
type State struct {
	// Lock is the stored lock, valid or expired; nil if there is none.
	Lock *Lock
	// Autolock reports whether the managers' raft data is encrypted at rest: a manager that
	// restarts then needs `docker swarm unlock` with the key.
	Autolock bool
	sw       swarm.Swarm
}

// Read reads the lock. A label that is not a lock is ErrBadLock.
func Read(ctx context.Context, d Docker) (State, error) {
	sw, err := d.SwarmInspect(ctx)
	if err != nil {
		return State{}, fmt.Errorf("reading the swarm object: %w", err)
	}
	st := State{sw: sw, Autolock: sw.Spec.EncryptionConfig.AutoLockManagers}
	if v, ok := sw.Spec.Labels[LabelKey]; ok {
		if st.Lock, err = Decode(v); err != nil {
			return st, err
		}
	}
	return st, nil
}

// write stores l (nil removes the label) with the version st was read at.
func write(ctx context.Context, d Docker, st State, l *Lock) error {
	sp := st.sw.Spec
	sp.Labels = maps.Clone(sp.Labels)
	if sp.Labels == nil {
		sp.Labels = map[string]string{}
	}
	if l == nil {
		delete(sp.Labels, LabelKey)
	} else {
		sp.Labels[LabelKey] = l.Encode()
	}
	return d.SwarmUpdate(ctx, st.sw.Version, sp, swarm.UpdateFlags{})
}

// Request is a maintenance start.
type Request struct {
	// Node names the node: ID, ID prefix or hostname.
	Node   string
	Holder string
	Reason string
	TTL    time.Duration
	// MinFaultTolerance is spec.policy.maintenance.minFaultTolerance.
	MinFaultTolerance int
}

// Start takes the lock for req.Node, after the safety checks, and returns it. It changes
// nothing when it refuses (ErrRefused) or fails.
func Start(ctx context.Context, d Docker, req Request, now func() time.Time) (*Lock, error) {
	if req.TTL <= 0 {
		req.TTL = DefaultTTL
	}
	if req.Holder == "" {
		return nil, fmt.Errorf("no holder given")
	}
	for try := 0; ; try++ {
		s, err := controller.Observe(ctx, d, now())
		if err != nil {
			return nil, fmt.Errorf("observing swarm: %w", err)
		}
		n, err := Resolve(s.Nodes, req.Node)
		if err != nil {
			return nil, err
		}
		st, err := Read(ctx, d)
		if err != nil {
			return nil, err
		}
		t := now()
		if st.Lock.Valid(t) {
			return nil, fmt.Errorf("%w: a node is already in maintenance: %s; one node at a time", ErrRefused, st.Lock)
		}
		if err := CheckTakeDown(s, n, req.MinFaultTolerance); err != nil {
			return nil, err
		}
		l := &Lock{Node: n.ID, Hostname: n.Hostname, Holder: req.Holder, Reason: req.Reason,
			Start: t.UTC().Truncate(time.Second), Expiry: t.Add(req.TTL).UTC().Truncate(time.Second),
			Manager: n.Member, Availability: n.Availability}
		err = write(ctx, d, st, l)
		if err == nil {
			return l, nil
		}
		if !observe.IsOutOfSequence(err) {
			return nil, fmt.Errorf("writing the lock: %w", err)
		}
		// Someone wrote the swarm object since it was read: another start, or an unrelated
		// update. Read again: the checks above tell which.
		if try+1 >= casRetries {
			return nil, fmt.Errorf("%w: the swarm object kept changing while writing the lock: %w", ErrLost, err)
		}
	}
}

// Current returns the valid lock, or nil if there is none (an expired one counts as none).
func Current(ctx context.Context, d Docker, now time.Time) (*Lock, State, error) {
	st, err := Read(ctx, d)
	if err != nil {
		return nil, st, err
	}
	if !st.Lock.Valid(now) {
		return nil, st, nil
	}
	return st.Lock, st, nil
}

// EndResult says what End found.
type EndResult struct {
	Lock *Lock
	// Expired is set when the lock had already expired: it is removed all the same.
	Expired bool
	// Restored is the availability put back, if the lock had drained the node.
	Restored spec.Availability
}

// End releases the lock on node. A lock of another holder is ErrForeign unless force; a lock
// for another node, or none, is ErrNoLock. With force, a label that is not a lock is removed.
func End(ctx context.Context, d Docker, node, holder string, force bool, now func() time.Time) (EndResult, error) {
	for try := 0; ; try++ {
		st, err := Read(ctx, d)
		if err != nil && !(force && errors.Is(err, ErrBadLock)) {
			if errors.Is(err, ErrBadLock) {
				return EndResult{}, fmt.Errorf("%w; remove it with `swarmtopo maintenance end --force %s`", err, node)
			}
			return EndResult{}, err
		}
		res := EndResult{Lock: st.Lock}
		if err == nil {
			if st.Lock == nil {
				return res, fmt.Errorf("%w: no node is in maintenance", ErrNoLock)
			}
			s, oerr := controller.Observe(ctx, d, now())
			if oerr != nil {
				return res, fmt.Errorf("observing swarm: %w", oerr)
			}
			n, rerr := Resolve(s.Nodes, node)
			if rerr != nil && node != st.Lock.Node {
				return res, rerr
			}
			if n != nil && n.ID != st.Lock.Node {
				return res, fmt.Errorf("%w for %s: the maintenance in progress is on %s", ErrNoLock, n.Hostname, st.Lock)
			}
			res.Expired = !st.Lock.Valid(now())
			if !res.Expired && st.Lock.Holder != holder && !force {
				return res, fmt.Errorf("%w: %s; end it as that holder, or with --force", ErrForeign, st.Lock)
			}
			if st.Lock.Drained && n != nil && n.Availability == spec.AvailabilityDrain {
				if err := setAvailability(ctx, d, n.ID, st.Lock.Availability); err != nil {
					return res, fmt.Errorf("putting %s's availability back to %s: %w", n.Hostname, st.Lock.Availability, err)
				}
				res.Restored = st.Lock.Availability
			}
		}
		err = write(ctx, d, st, nil)
		if err == nil {
			return res, nil
		}
		if !observe.IsOutOfSequence(err) || try+1 >= casRetries {
			return res, fmt.Errorf("removing the lock: %w", err)
		}
	}
}

// markDrained records in the lock that its holder drained the node, so that End puts the
// availability back even if the process that drained it is gone.
func markDrained(ctx context.Context, d Docker, l *Lock) error {
	for try := 0; ; try++ {
		st, err := Read(ctx, d)
		if err != nil {
			return err
		}
		if st.Lock == nil || st.Lock.Node != l.Node || st.Lock.Holder != l.Holder || !st.Lock.Start.Equal(l.Start) {
			return fmt.Errorf("%w: the lock on %s is no longer ours", ErrLost, l.Hostname)
		}
		nl := *st.Lock
		nl.Drained = true
		err = write(ctx, d, st, &nl)
		if err == nil {
			*l = nl
			return nil
		}
		if !observe.IsOutOfSequence(err) || try+1 >= casRetries {
			return fmt.Errorf("recording the drain in the lock: %w", err)
		}
	}
}

// setAvailability sets a node's availability with the version read (NodeUpdate replaces the
// whole spec).
func setAvailability(ctx context.Context, d Docker, id string, a spec.Availability) error {
	for try := 0; ; try++ {
		n, _, err := d.NodeInspectWithRaw(ctx, id)
		if err != nil {
			return fmt.Errorf("reading node %s: %w", id, err)
		}
		if n.Spec.Availability == swarm.NodeAvailability(a) {
			return nil
		}
		sp := n.Spec
		sp.Availability = swarm.NodeAvailability(a)
		err = d.NodeUpdate(ctx, id, n.Version, sp)
		if err == nil {
			return nil
		}
		if !observe.IsOutOfSequence(err) || try+1 >= casRetries {
			return fmt.Errorf("updating node %s: %w", id, err)
		}
	}
}
