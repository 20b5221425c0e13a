package lab

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"
)

// pauseTimeout bounds Pause: stopping a node's processes takes a few passes over /proc, each
// a few milliseconds; a node still forking after this is not settling.
const pauseTimeout = 5 * time.Second

// tree returns root and every process below it by parent links, parents first, zombies left
// out. Ancestry rather than the PID namespace finds every process of a node: containers run in
// PID namespaces of their own nested in the node's, and every orphan in the node is reparented
// to its init, so all of them descend from it.
func tree(root int) []proc {
	children := map[int][]proc{}
	var top proc
	found := false
	for _, p := range listProcs() {
		if p.pid == root {
			top, found = p, true
		}
		children[p.ppid] = append(children[p.ppid], p)
	}
	if !found || top.gone() {
		return nil
	}
	out := []proc{top}
	for k := 0; k < len(out); k++ {
		for _, c := range children[out[k].pid] {
			if !c.gone() {
				out = append(out, c)
			}
		}
	}
	return out
}

// stopTree sends SIGSTOP to every process of the tree under root until all of them are
// stopped: a process not yet stopped may fork meanwhile, so it takes passes until one finds
// nothing left running.
func stopTree(root int) error {
	deadline := time.Now().Add(pauseTimeout)
	for {
		procs := tree(root)
		if len(procs) == 0 {
			return ErrNodeStopped
		}
		running := 0
		for _, p := range procs {
			if p.state == 'T' {
				continue
			}
			running++
			if err := syscall.Kill(p.pid, syscall.SIGSTOP); err != nil && err != syscall.ESRCH {
				return fmt.Errorf("sending SIGSTOP to %d: %w", p.pid, err)
			}
		}
		if running == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d processes still running after %s of SIGSTOP", running, pauseTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// contTree sends SIGCONT to every process of the tree under root; to one that was not stopped
// it does nothing.
func contTree(root int) error {
	var errs []error
	for _, p := range tree(root) {
		if err := syscall.Kill(p.pid, syscall.SIGCONT); err != nil && err != syscall.ESRCH {
			errs = append(errs, fmt.Errorf("sending SIGCONT to %d: %w", p.pid, err))
		}
	}
	return errors.Join(errs...)
}

// paused reports whether node n's init is stopped: Pause stops it with the rest.
func (n *Node) paused() bool {
	p, ok := readProc(n.PID())
	return ok && n.PID() > 0 && p.state == 'T'
}

// Paused reports whether node i is paused (see Pause); false for no such node.
func (l *Lab) Paused(i int) bool {
	n, err := l.node(i)
	return err == nil && n.paused()
}

// Pause sends SIGSTOP to every process of node i: its init, dockerd, containerd, shims and
// containers. Stopping the init alone would not do, since dockerd runs on without it. The node
// keeps its memory, connections and data but answers nothing: to the others it looks like a
// machine that hangs, and after Resume it carries on where it stopped, with timers long past.
func (l *Lab) Pause(ctx context.Context, i int) error {
	return l.onRunning(i, "pausing", func(n *Node) error {
		if err := stopTree(n.PID()); err != nil {
			return err
		}
		l.log.Info("Paused node", "node", n.Hostname, "processes", len(tree(n.PID())))
		return nil
	})
}

// onRunning looks node i up and, under the lab's lock, runs act on it if its daemon runs. Its
// errors, and a node that does not run (ErrNodeStopped), name the node and what was being done.
func (l *Lab) onRunning(i int, doing string, act func(n *Node) error) error {
	n, err := l.node(i)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !n.Running() {
		return fmt.Errorf("%s %s: %w", doing, n.Hostname, ErrNodeStopped)
	}
	if err := act(n); err != nil {
		return fmt.Errorf("%s %s: %w", doing, n.Hostname, err)
	}
	return nil
}

// Resume sends SIGCONT to every process of node i, undoing Pause.
func (l *Lab) Resume(ctx context.Context, i int) error {
	return l.onRunning(i, "resuming", func(n *Node) error {
		if err := contTree(n.PID()); err != nil {
			return err
		}
		l.log.Info("Resumed node", "node", n.Hostname)
		return nil
	})
}

// Stop shuts node i down gracefully, like a clean reboot's first half: SIGTERM to its init,
// which passes it on to dockerd, then SIGKILL if it is still there after StopTimeout. A paused
// node is resumed first, since a stopped process would not act on SIGTERM. Start brings it back.
func (l *Lab) Stop(ctx context.Context, i int) error {
	n, err := l.node(i)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopLocked(n)
}

func (l *Lab) stopLocked(n *Node) error {
	if !n.Running() {
		return fmt.Errorf("stopping %s: %w", n.Hostname, ErrNodeStopped)
	}
	t0 := time.Now()
	if err := contTree(n.PID()); err != nil {
		return fmt.Errorf("stopping %s: %w", n.Hostname, err)
	}
	killed, err := stopProcess(n.PID(), l.cfg.StopTimeout)
	if err != nil {
		return fmt.Errorf("stopping %s: %w", n.Hostname, err)
	}
	n.pid.Store(0)
	l.log.Info("Stopped node", "node", n.Hostname, "sigkilled", killed, "took", time.Since(t0).Round(time.Millisecond).String())
	return l.saveState()
}

// Restart stops node i gracefully (Stop) and starts it again (Start), waiting until it is
// active in its swarm again.
func (l *Lab) Restart(ctx context.Context, i int) error {
	n, err := l.node(i)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.stopLocked(n); err != nil {
		return fmt.Errorf("restarting: %w", err)
	}
	if err := l.startLocked(ctx, n); err != nil {
		return fmt.Errorf("restarting: %w", err)
	}
	return nil
}

// Split cuts the lab into islands: nodes in different islands cannot reach each other, nodes
// of one island still can. Every node must be in exactly one island. It replaces an earlier
// Split; HealSplit undoes it. Partition and Heal act on links and are independent of it.
//
// Each node's namespace gets a blackhole route for every address of the other islands. No
// packet between islands leaves its sender, and none is answered with an ICMP error as an
// unreachable or prohibit route would make the kernel send: what is in flight on an existing
// connection is lost and retransmitted until the connection times out, as on a cut network.
// (A new connection does fail at once, with EINVAL, since the sender's own kernel refuses it;
// swarm notices a partition by its heartbeats timing out either way.)
func (l *Lab) Split(ctx context.Context, islands ...[]int) error {
	island := map[int]int{}
	for k, is := range islands {
		for _, i := range is {
			if _, err := l.node(i); err != nil {
				return fmt.Errorf("splitting: island %d: %w", k+1, err)
			}
			if prev, dup := island[i]; dup {
				return fmt.Errorf("%w: splitting: %s is in island %d and island %d", ErrConfig, hostname(i), prev+1, k+1)
			}
			island[i] = k
		}
	}
	for _, n := range l.nodes {
		if _, ok := island[n.Index]; !ok {
			return fmt.Errorf("%w: splitting: %s is in no island; the islands must cover every node", ErrConfig, n.Hostname)
		}
	}
	err := l.eachNetns(ctx, func(n *Node) [][]string {
		lines := [][]string{{"route", "flush", "type", "blackhole"}}
		for _, m := range l.nodes {
			if island[m.Index] != island[n.Index] {
				lines = append(lines, []string{"route", "replace", "blackhole", m.Addr + "/32"})
			}
		}
		return lines
	})
	if err != nil {
		return fmt.Errorf("splitting: %w", err)
	}
	l.log.Info("Split lab", "islands", islands)
	return nil
}

// HealSplit removes every island boundary Split drew, from any process: it flushes the
// blackhole routes of every node, which nothing else in the lab uses.
func (l *Lab) HealSplit(ctx context.Context) error {
	err := l.eachNetns(ctx, func(*Node) [][]string {
		return [][]string{{"route", "flush", "type", "blackhole"}}
	})
	if err != nil {
		return fmt.Errorf("healing split: %w", err)
	}
	l.log.Info("Healed split")
	return nil
}

// eachNetns runs the ip commands lines(n) inside every node's network namespace, in parallel.
func (l *Lab) eachNetns(ctx context.Context, lines func(*Node) [][]string) error {
	errs := make([]error, len(l.nodes))
	var wg sync.WaitGroup
	for k, n := range l.nodes {
		wg.Go(func() {
			if err := ipBatch(ctx, n.Netns, false, lines(n)); err != nil {
				errs[k] = fmt.Errorf("%s: %w", n.Hostname, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
