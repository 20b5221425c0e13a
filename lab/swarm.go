package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// joinTimeout bounds one swarm join; the daemon itself gives up after 20 s.
const joinTimeout = 60 * time.Second

func (n *Node) swarmAddr() string { return net.JoinHostPort(n.Addr, strconv.Itoa(SwarmPort)) }

// formSwarm initialises the swarm on node1 and joins the rest. Managers join one at a time,
// each waited for until reachable, because raft takes one membership change at a time
// (swarmkit#2196); workers are not raft members and join all at once meanwhile.
func (l *Lab) formSwarm(ctx context.Context) error {
	first := l.nodes[0]
	c1, err := first.Client()
	if err != nil {
		return err
	}
	defer c1.Close()
	ictx, cancel := context.WithTimeout(ctx, joinTimeout)
	_, err = c1.SwarmInit(ictx, swarm.InitRequest{
		ListenAddr:    "0.0.0.0:" + strconv.Itoa(SwarmPort),
		AdvertiseAddr: first.swarmAddr(),
		Spec:          l.cfg.Spec,
	})
	cancel()
	if err != nil {
		return fmt.Errorf("initialising swarm on %s: %w", first.Hostname, err)
	}
	sctx, cancel := context.WithTimeout(ctx, joinTimeout)
	sw, err := c1.SwarmInspect(sctx)
	cancel()
	if err != nil {
		return fmt.Errorf("reading join tokens from %s: %w", first.Hostname, err)
	}

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	wg.Go(func() {
		for _, n := range l.nodes[1:l.cfg.Managers] {
			if err := l.join(ctx, n, sw.JoinTokens.Manager); err != nil {
				fail(err)
				return
			}
			if err := l.waitSwarm(ctx, c1, n.Index, 0); err != nil {
				fail(err)
				return
			}
		}
	})
	for _, n := range l.nodes[l.cfg.Managers:] {
		wg.Go(func() {
			if err := l.join(ctx, n, sw.JoinTokens.Worker); err != nil {
				fail(err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := l.waitSwarm(ctx, c1, l.cfg.Managers, len(l.nodes)); err != nil {
		return err
	}
	return l.labelZones(ctx, c1)
}

func (l *Lab) join(ctx context.Context, n *Node, token string) error {
	c, err := n.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	err = c.SwarmJoin(ctx, swarm.JoinRequest{
		ListenAddr:    "0.0.0.0:" + strconv.Itoa(SwarmPort),
		AdvertiseAddr: n.swarmAddr(),
		RemoteAddrs:   []string{l.nodes[0].swarmAddr()},
		JoinToken:     token,
	})
	if err != nil {
		return fmt.Errorf("joining %s to the swarm: %w\n%s", n.Hostname, err, tail(n.LogPath(), 20))
	}
	l.log.V(1).Info("Joined swarm", "node", n.Hostname)
	return nil
}

// waitSwarm waits until node1 sees at least managers reachable managers with a leader and at
// least ready nodes ready, then records the node IDs it lists.
func (l *Lab) waitSwarm(ctx context.Context, c *client.Client, managers, ready int) error {
	ctx, cancel := context.WithTimeout(ctx, defaultSettle)
	defer cancel()
	var last string
	for {
		lctx, lcancel := context.WithTimeout(ctx, 5*time.Second)
		nodes, err := c.NodeList(lctx, swarm.NodeListOptions{})
		lcancel()
		if err == nil {
			reachable, leader, up := 0, false, 0
			for _, sn := range nodes {
				if ms := sn.ManagerStatus; ms != nil && ms.Reachability == swarm.ReachabilityReachable {
					reachable++
					leader = leader || ms.Leader
				}
				if sn.Status.State == swarm.NodeStateReady {
					up++
				}
			}
			if reachable >= managers && leader && up >= ready {
				l.recordIDs(nodes)
				return nil
			}
			last = fmt.Sprintf("%d reachable managers, leader %t, %d ready nodes", reachable, leader, up)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d reachable managers and %d ready nodes: %w (last: %s)", managers, ready, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (l *Lab) recordIDs(nodes []swarm.Node) {
	byName := map[string]string{}
	for _, sn := range nodes {
		byName[sn.Description.Hostname] = sn.ID
	}
	for _, n := range l.nodes {
		if id, ok := byName[n.Hostname]; ok {
			n.ID = id
		}
	}
}

// labelZones sets the zone label on every node that has a zone. A node's version moves by
// itself right after it joins, so an update that loses that race is read and sent again.
func (l *Lab) labelZones(ctx context.Context, c *client.Client) error {
	for _, n := range l.nodes {
		if n.Zone == "" {
			continue
		}
		if n.ID == "" {
			return fmt.Errorf("labelling %s: %w: not in the node list", n.Hostname, ErrNoSuchNode)
		}
		var err error
		for attempt := 0; attempt < 5; attempt++ {
			if err = l.setLabel(ctx, c, n.ID, l.cfg.ZoneLabel, n.Zone); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("labelling %s: %w", n.Hostname, err)
		}
	}
	return nil
}

func (l *Lab) setLabel(ctx context.Context, c *client.Client, id, key, value string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sn, _, err := c.NodeInspectWithRaw(ctx, id)
	if err != nil {
		return fmt.Errorf("reading node: %w", err)
	}
	if sn.Spec.Labels == nil {
		sn.Spec.Labels = map[string]string{}
	}
	sn.Spec.Labels[key] = value
	if err := c.NodeUpdate(ctx, id, sn.Version, sn.Spec); err != nil {
		return fmt.Errorf("updating node: %w", err)
	}
	return nil
}

// Leader returns the node the swarm reports as raft leader, asking each running node in turn
// until one answers (workers and nodes without quorum do not).
func (l *Lab) Leader(ctx context.Context) (*Node, error) {
	var errs []error
	for _, n := range l.nodes {
		if !n.Running() {
			continue
		}
		id, err := leaderSeenBy(ctx, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, m := range l.nodes {
			if m.ID == id {
				return m, nil
			}
		}
		return nil, fmt.Errorf("finding leader: %w: id %s", ErrNoSuchNode, id)
	}
	return nil, fmt.Errorf("finding leader: %w", errors.Join(errs...))
}

func leaderSeenBy(ctx context.Context, n *Node) (string, error) {
	c, err := n.Client()
	if err != nil {
		return "", err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	nodes, err := c.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return "", fmt.Errorf("listing nodes on %s: %w", n.Hostname, err)
	}
	for _, sn := range nodes {
		if sn.ManagerStatus != nil && sn.ManagerStatus.Leader {
			return sn.ID, nil
		}
	}
	return "", fmt.Errorf("listing nodes on %s: no leader", n.Hostname)
}
