package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/observe"
)

// ErrStandby is what a gate (CheckLeader, LeaderGate) answers when this instance must not change
// the swarm now: another instance acts, or it cannot tell whether it may. It stays inside the
// gate's answer: a pass turns it into Result.Standby, which is not an error, and Run looks again
// at the resync interval or on the next node event, without backoff.
var ErrStandby = errors.New("controller: standing by")

// GateState is what a gate said last: the controller logs its transitions once, and service
// mode reports it.
type GateState int

// Gate states.
const (
	GateUnknown GateState = iota // not asked yet
	GateActive                   // this instance changes the swarm
	GateStandby                  // another instance does, or it cannot tell
)

// checkGate asks Options.Gate whether this instance may change the swarm now. It logs when the
// answer changes, and returns an error wrapping ErrStandby when it may not. Without a gate the
// instance always may.
func (c *Controller) checkGate(ctx context.Context) error {
	if c.o.Gate == nil {
		return nil
	}
	err := c.o.Gate(ctx)
	if err == nil {
		if c.gate != GateActive {
			c.o.Log.Info("Active: this instance changes the swarm")
		}
		c.gate = GateActive
		return nil
	}
	if !errors.Is(err, ErrStandby) {
		err = fmt.Errorf("%w: %w", ErrStandby, err)
	}
	if c.gate != GateStandby {
		c.o.Log.Info("Standing by: another instance changes the swarm", "reason", err.Error())
	} else {
		c.o.Log.V(1).Info("Still standing by", "reason", err.Error())
	}
	c.gate = GateStandby
	return err
}

// Leadership is who leads the raft cluster as seen from the daemon the operator talks to.
type Leadership struct {
	// Self is the node the operator runs on (Info().Swarm.NodeID).
	Self         string `json:"self"`
	SelfHostname string `json:"selfHostname,omitempty"`
	// Leader is the raft leader's node ID; empty when it could not be found.
	Leader         string `json:"leader,omitempty"`
	LeaderHostname string `json:"leaderHostname,omitempty"`
}

// Active reports whether the operator's own node is the raft leader.
func (l Leadership) Active() bool { return l.Self != "" && l.Self == l.Leader }

// CheckLeader reads, fresh, which node the daemon at d runs on and whether that node is the raft
// leader. It returns an error wrapping ErrStandby unless it is; what it found is returned either
// way. Every call is bounded by timeout (DefaultCallTimeout if zero): the same Options.CallTimeout
// as the controller's own calls, so a hanging daemon holds the gate no longer than a pass.
//
// Leadership is read from the node's own ManagerStatus rather than from a lease of our own: raft
// already elects exactly one leader, and the swarm moves it away before the leader is demoted,
// so the instance on the leader is the one instance that may act.
func CheckLeader(ctx context.Context, d Reader, timeout time.Duration) (Leadership, error) {
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	b := bounded{r: d, timeout: timeout}
	var l Leadership
	info, err := b.Info(ctx)
	if err != nil {
		return l, fmt.Errorf("%w: cannot tell whether this node leads: reading daemon info: %w", ErrStandby, err)
	}
	l.Self = info.Swarm.NodeID
	if l.Self == "" || info.Swarm.LocalNodeState != swarm.LocalNodeStateActive {
		return l, fmt.Errorf("%w: the daemon is not an active swarm member (state %q)", ErrStandby, info.Swarm.LocalNodeState)
	}
	n, _, err := b.NodeInspectWithRaw(ctx, l.Self)
	if err != nil {
		if observe.IsNotManager(err) {
			return l, fmt.Errorf("%w: node %s is not a manager", ErrStandby, l.Self)
		}
		return l, fmt.Errorf("%w: cannot tell whether node %s leads: reading the node: %w", ErrStandby, l.Self, err)
	}
	l.SelfHostname = n.Description.Hostname
	if n.ManagerStatus != nil && n.ManagerStatus.Leader {
		l.Leader, l.LeaderHostname = l.Self, l.SelfHostname
		return l, nil
	}
	// Only to say who leads instead: a failure here changes nothing about standing by.
	leader := "unknown"
	if nodes, err := b.NodeList(ctx, swarm.NodeListOptions{Filters: filters.NewArgs(filters.Arg("role", "manager"))}); err == nil {
		for _, m := range nodes {
			if m.ManagerStatus != nil && m.ManagerStatus.Leader {
				l.Leader, l.LeaderHostname = m.ID, m.Description.Hostname
				leader = nameOf(m.Description.Hostname, m.ID)
				break
			}
		}
	}
	return l, fmt.Errorf("%w: node %s is not the raft leader (leader is %s)", ErrStandby, nameOf(l.SelfHostname, l.Self), leader)
}

// LeaderGate returns an Options.Gate that lets this instance act only while the node it runs on
// (the daemon d answers for) is the raft leader. It reads afresh on every call, each call
// bounded by timeout as in CheckLeader.
func LeaderGate(d Reader, timeout time.Duration) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := CheckLeader(ctx, d, timeout)
		return err
	}
}

func nameOf(hostname, id string) string {
	if hostname != "" {
		return hostname
	}
	return id
}
