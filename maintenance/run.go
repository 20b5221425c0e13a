package maintenance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// ErrCommand means the command run under the lock failed; the lock is kept.
var ErrCommand = errors.New("maintenance: the command failed")

// ErrNotBack means the node did not come back in time; the lock is kept.
var ErrNotBack = errors.New("maintenance: node not back")

// ErrDrainTimeout means the node's tasks did not move in time; the lock is kept. It is the
// controller's, since both wait for a drain the same way.
var ErrDrainTimeout = controller.ErrDrainTimeout

// Defaults of RunOptions.
const (
	DefaultDrainTimeout = 5 * time.Minute
	DefaultWaitTimeout  = 5 * time.Minute
	DefaultPoll         = time.Second
	// DefaultStable is how long the node must read back as healthy before it counts as back:
	// right after a dockerd stops, the other managers still show it ready and reachable for a
	// few seconds (missed heartbeats first), so one good reading is not enough.
	DefaultStable = 10 * time.Second
)

// RunOptions says how Run works around the command.
type RunOptions struct {
	Drain        bool
	DrainTimeout time.Duration
	// WaitTimeout bounds the wait for the node to come back after the command.
	WaitTimeout time.Duration
	Poll        time.Duration
	// Stable is how long the node must read back healthy without a break.
	Stable time.Duration
	// Command is run with the process's stdin, stdout and stderr, and SWARMTOPO_NODE and
	// SWARMTOPO_HOSTNAME in its environment.
	Command        []string
	Stdout, Stderr *os.File
	Log            logr.Logger
	Now            func() time.Time
	// Sleep waits between polls; tests replace it.
	Sleep func(context.Context, time.Duration) error
}

func (o *RunOptions) defaults() {
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = DefaultWaitTimeout
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Stable <= 0 {
		o.Stable = DefaultStable
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
				return nil
			}
		}
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
}

// Run takes the lock, drains the node if asked (waiting for its tasks), runs the command,
// waits until the node is back (ready; a reachable raft member if it is a manager), puts its
// availability back and releases the lock. When the command fails or the node does not come
// back, the lock is kept (until its TTL) so that nothing replaces the node meanwhile, and the
// error says how to end it.
func Run(ctx context.Context, d Docker, req Request, o RunOptions) (*Lock, error) {
	o.defaults()
	if len(o.Command) == 0 {
		return nil, fmt.Errorf("no command given after --")
	}
	info, err := d.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading daemon info: %w", err)
	}
	l, err := Start(ctx, d, req, o.Now)
	if err != nil {
		return nil, err
	}
	if l.Node == info.Swarm.NodeID {
		// Undo at once: the command would cut swarmtopo off from the swarm it must watch.
		_, _ = End(ctx, d, l.Node, l.Holder, false, o.Now)
		return nil, fmt.Errorf("%w: swarmtopo reaches the swarm through %s itself; point DOCKER_HOST or --context at another manager",
			ErrRefused, l.Hostname)
	}
	log := o.Log.WithValues("node", l.Node, "hostname", l.Hostname)
	log.Info("Maintenance started", "holder", l.Holder, "expiry", l.Expiry.Format(time.RFC3339))
	keep := func(err error) error {
		return fmt.Errorf("%w; %s stays in maintenance until %s (end it with `swarmtopo maintenance end %s`)",
			err, l.Hostname, l.Expiry.Format(time.RFC3339), l.Hostname)
	}
	if o.Drain {
		if err := drain(ctx, d, l, o, log); err != nil {
			return l, keep(err)
		}
	}
	log.Info("Running the command", "command", strings.Join(o.Command, " "))
	cmd := exec.CommandContext(ctx, o.Command[0], o.Command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, o.Stdout, o.Stderr
	cmd.Env = append(os.Environ(), "SWARMTOPO_NODE="+l.Node, "SWARMTOPO_HOSTNAME="+l.Hostname)
	if err := cmd.Run(); err != nil {
		return l, keep(fmt.Errorf("%w: %s: %w", ErrCommand, o.Command[0], err))
	}
	log.Info("Command done; waiting for the node to come back")
	if err := waitBack(ctx, d, l, o); err != nil {
		return l, keep(err)
	}
	res, err := End(ctx, d, l.Node, l.Holder, false, o.Now)
	if err != nil {
		return l, fmt.Errorf("ending maintenance: %w", err)
	}
	log.Info("Maintenance ended", "availabilityRestored", string(res.Restored))
	return l, nil
}

// Drain drains the node of l (recorded in the lock, so that End puts its availability back) and
// waits until its tasks run elsewhere or cannot be placed anywhere.
func Drain(ctx context.Context, d Docker, l *Lock, o RunOptions) error {
	o.defaults()
	return drain(ctx, d, l, o, o.Log.WithValues("node", l.Node, "hostname", l.Hostname))
}

// drain records in the lock that the node is drained, drains it, and waits for its tasks.
func drain(ctx context.Context, d Docker, l *Lock, o RunOptions, log logr.Logger) error {
	if l.Availability == spec.AvailabilityDrain {
		log.Info("Node already drained")
		return nil
	}
	if err := markDrained(ctx, d, l); err != nil {
		return err
	}
	before, err := controller.TasksOn(ctx, d, l.Node)
	if err != nil {
		return err
	}
	if err := setAvailability(ctx, d, l.Node, spec.AvailabilityDrain); err != nil {
		return err
	}
	log.Info("Node drained; waiting for its tasks to move", "tasks", len(before))
	deadline := o.Now().Add(o.DrainTimeout)
	for {
		left, err := controller.DrainLeft(ctx, d, l.Node, before)
		if err != nil {
			return err
		}
		if left.Done() {
			if len(left.Unplaceable) > 0 {
				log.Info("Drain done, but some tasks cannot be placed anywhere", "services", left.Unplaceable)
			} else {
				log.Info("Drain done: the node's tasks run elsewhere")
			}
			return nil
		}
		if !o.Now().Before(deadline) {
			return fmt.Errorf("%w after %s: %s", ErrDrainTimeout, o.DrainTimeout, left)
		}
		log.Info("Waiting for the drain", "stillRunning", left.Running, "notYetRunning", left.Pending)
		if err := o.Sleep(ctx, o.Poll); err != nil {
			return err
		}
	}
}

// waitBack waits until the node is ready again and, if it was a manager, a reachable raft
// member of a swarm with a leader.
func waitBack(ctx context.Context, d Docker, l *Lock, o RunOptions) error {
	deadline := o.Now().Add(o.WaitTimeout)
	var (
		seen      string
		goodSince time.Time
	)
	for {
		s, err := controller.Observe(ctx, d, o.Now())
		ok := false
		if err != nil {
			seen = err.Error()
		} else if ok, seen = back(s, l); ok {
			if goodSince.IsZero() {
				goodSince = o.Now()
			}
			if o.Now().Sub(goodSince) >= o.Stable {
				return nil
			}
			seen = "healthy, making sure it stays so"
		}
		if !ok {
			goodSince = time.Time{}
		}
		if !o.Now().Before(deadline) {
			return fmt.Errorf("%w after %s: %s", ErrNotBack, o.WaitTimeout, seen)
		}
		if err := o.Sleep(ctx, o.Poll); err != nil {
			return err
		}
	}
}

func back(s reconcile.Snapshot, l *Lock) (bool, string) {
	if s.ClusterError != "" {
		return false, "the swarm has no leader: " + s.ClusterError
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if n.ID != l.Node {
			continue
		}
		switch {
		case n.State != reconcile.StateReady:
			return false, fmt.Sprintf("%s is %s", n.Hostname, n.State)
		case l.Manager && !n.Member:
			return false, n.Hostname + " is not in the raft member list"
		case l.Manager && n.Reachability != reconcile.ReachabilityReachable:
			return false, fmt.Sprintf("%s is a raft member but %s", n.Hostname, n.Reachability)
		}
		return true, ""
	}
	return false, l.Hostname + " is no longer in the swarm"
}
