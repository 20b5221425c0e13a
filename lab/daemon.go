package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// script is what runs as PID 1 of a node's new PID, mount and UTS namespaces before it becomes
// tini. The fresh tmpfs on /run gives the node its own /var/run/docker.sock for its containers
// and its own exec-root (/var/run/docker), so nothing of it shows on the host and a restart
// starts clean, as after a reboot. /etc/docker gets the node's own directory so each engine
// makes its own key.json instead of sharing the host's. dockerd and binDir pick the node's
// engine (Config.Engines); extra are Config.DaemonArgs of the node.
func script(n *Node, initBin, dockerd, binDir string, extra ...string) string {
	args := []string{
		dockerd,
		"--config-file", filepath.Join(n.Dir, "daemon.json"),
		"--data-root", filepath.Join(n.Dir, "data"),
		"-H", "unix:///var/run/docker.sock",
		"-H", "unix://" + n.Socket,
		"--bridge=none", "--iptables=false", "--ip-masq=false",
	}
	args = append(args, extra...)
	return strings.Join([]string{
		"set -e",
		"hostname " + n.Hostname,
		"mount -t tmpfs -o mode=0755 tmpfs /run",
		"mkdir -p /etc/docker",
		"mount --bind " + filepath.Join(n.Dir, "etc") + " /etc/docker",
		pathLine(binDir),
		"exec " + initBin + " -- " + strings.Join(args, " "),
	}, "; ")
}

// pathLine puts another engine's binaries (containerd, shims) first on PATH, keeping the host's
// /usr/sbin for runc: trixie's runc needs a newer glibc than the host's.
func pathLine(binDir string) string {
	if binDir == "" {
		return "true"
	}
	return "export PATH=" + binDir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

// spawn starts node n's dockerd and returns once its init PID is known, not waiting for the
// engine to answer. The node runs in its own PID namespace: killing its init (Kill) takes
// down dockerd, containerd, shims and containers at once, like a machine losing power.
func (l *Lab) spawn(ctx context.Context, n *Node) error {
	initBin, err := initPath()
	if err != nil {
		return err
	}
	for _, d := range []string{filepath.Join(n.Dir, "data"), filepath.Join(n.Dir, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating dirs of %s: %w", n.Hostname, err)
		}
	}
	cfgPath := filepath.Join(n.Dir, "daemon.json")
	if _, err := os.Stat(cfgPath); err != nil {
		// An empty config keeps the host's /etc/docker/daemon.json out of the lab.
		if err := os.WriteFile(cfgPath, []byte("{}\n"), 0o644); err != nil {
			return fmt.Errorf("writing daemon.json of %s: %w", n.Hostname, err)
		}
	}
	dockerd, binDir := l.cfg.engineDockerd(n.Index)
	// A stale socket would answer nothing and confuse the readiness check.
	_ = os.Remove(n.Socket)
	logf, err := os.OpenFile(n.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening log of %s: %w", n.Hostname, err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- swarmlab: starting %s at %s\n", n.Hostname, time.Now().Format(time.RFC3339Nano))

	cmd := exec.Command("nsenter", "--net="+filepath.Join(netnsDir, n.Netns), "--",
		"unshare", "--uts", "--mount", "--pid", "--fork", "--mount-proc", "--propagation", "private", "--",
		"sh", "-c", script(n, initBin, dockerd, binDir, l.cfg.DaemonArgs[n.Hostname]...))
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session: the node outlives the CLI that started it and ignores its terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting dockerd of %s: %w", n.Hostname, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // reaps unshare, which exits with the node
		close(exited)
	}()
	findCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// unshare forks the namespace's PID 1; that child is the process to signal.
	pid, err := firstChild(findCtx, cmd.Process.Pid, exited)
	if err != nil {
		return fmt.Errorf("starting dockerd of %s: %w\n%s", n.Hostname, err, tail(n.LogPath(), 20))
	}
	n.pid.Store(int64(pid))
	n.exited = exited
	l.log.V(1).Info("Started dockerd", "node", n.Hostname, "pid", pid, "addr", n.Addr)
	return nil
}

// waitReady waits until node n's engine answers a ping.
func (l *Lab) waitReady(ctx context.Context, n *Node) error {
	c, err := n.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, l.cfg.ReadyTimeout)
	defer cancel()
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := c.Ping(pctx)
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for dockerd of %s: %w (last: %v)\n%s", n.Hostname, ctx.Err(), err, tail(n.LogPath(), 20))
		case <-n.exited:
			return fmt.Errorf("waiting for dockerd of %s: %w\n%s", n.Hostname, ErrDaemonExited, tail(n.LogPath(), 20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill sends SIGKILL to node i's init: dockerd and everything it started die at once and the
// node's address stops answering, a real unreachable manager. Its data stays for Start. A paused
// node dies too: SIGKILL needs no SIGCONT.
func (l *Lab) Kill(ctx context.Context, i int) error {
	return l.onRunning(i, "killing", func(n *Node) error {
		if err := killProcess(n.PID()); err != nil {
			return err
		}
		n.pid.Store(0)
		l.log.Info("Killed node", "node", n.Hostname)
		return l.saveState()
	})
}

// Start restarts node i's dockerd over its existing data, as after a reboot, and waits until
// the engine answers and, if it was in the swarm, until it is active in it again.
func (l *Lab) Start(ctx context.Context, i int) error {
	n, err := l.node(i)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.startLocked(ctx, n)
}

func (l *Lab) startLocked(ctx context.Context, n *Node) error {
	if n.Running() {
		return fmt.Errorf("starting %s: %w", n.Hostname, ErrNodeRunning)
	}
	t0 := time.Now()
	if err := l.spawn(ctx, n); err != nil {
		return err
	}
	if err := l.saveState(); err != nil {
		return err
	}
	if err := l.waitReady(ctx, n); err != nil {
		return err
	}
	if err := l.waitSwarmActive(ctx, n); err != nil {
		return err
	}
	l.log.Info("Started node", "node", n.Hostname, "took", time.Since(t0).Round(time.Millisecond).String())
	return nil
}

// waitSwarmActive waits until a restarted node is back in its swarm; a node that never joined
// one is done at once. A manager that cannot reach a quorum stays pending and times out here.
func (l *Lab) waitSwarmActive(ctx context.Context, n *Node) error {
	c, err := n.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, defaultSettle)
	defer cancel()
	var last swarm.LocalNodeState
	for {
		ictx, icancel := context.WithTimeout(ctx, 5*time.Second)
		info, err := c.Info(ictx)
		icancel()
		if err == nil {
			last = info.Swarm.LocalNodeState
			switch last {
			case swarm.LocalNodeStateActive, swarm.LocalNodeStateInactive:
				return nil
			case swarm.LocalNodeStateError:
				return fmt.Errorf("waiting for %s to rejoin the swarm: %s", n.Hostname, info.Swarm.Error)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to rejoin the swarm: %w (state %q)", n.Hostname, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Partition takes node i's link down: the node keeps running but reaches no one.
func (l *Lab) Partition(ctx context.Context, i int) error {
	n, err := l.node(i)
	if err != nil {
		return err
	}
	if err := setLink(ctx, n, false); err != nil {
		return err
	}
	l.log.Info("Partitioned node", "node", n.Hostname)
	return nil
}

// Heal brings node i's link back up.
func (l *Lab) Heal(ctx context.Context, i int) error {
	n, err := l.node(i)
	if err != nil {
		return err
	}
	if err := setLink(ctx, n, true); err != nil {
		return err
	}
	l.log.Info("Healed node", "node", n.Hostname)
	return nil
}

// Down stops every node (SIGTERM, then SIGKILL after StopTimeout) and removes everything the lab
// made: namespaces, links, the forward rule and the directory. It is safe to call twice. Stopping
// is bounded by StopTimeout plus the SIGKILL wait, so it does not watch ctx; the removal does.
func (l *Lab) Down(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	t0 := time.Now()
	errs := make([]error, len(l.nodes))
	killed := make([]bool, len(l.nodes))
	var wg sync.WaitGroup
	for i, n := range l.nodes {
		if !n.Running() {
			continue
		}
		wg.Go(func() {
			// A paused node would not act on SIGTERM until the StopTimeout ran out.
			err := contTree(n.PID())
			if err == nil {
				killed[i], err = stopProcess(n.PID(), l.cfg.StopTimeout)
			}
			if err != nil {
				errs[i] = fmt.Errorf("stopping %s: %w", n.Hostname, err)
			}
			l.log.V(1).Info("Stopped node", "node", n.Hostname, "sigkilled", killed[i], "took", time.Since(t0).Round(time.Millisecond).String())
		})
	}
	wg.Wait()
	var hard []string
	for i, n := range l.nodes {
		if killed[i] {
			hard = append(hard, n.Hostname)
		}
		n.pid.Store(0)
	}
	stopped := time.Since(t0)
	errs = append(errs, CleanupInstance(ctx, l.cfg.Instance, l.cfg.Dir, l.log))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tearing down lab: %w", err)
	}
	l.log.Info("Lab down", "stopped", stopped.Round(time.Millisecond).String(), "sigkilled", hard,
		"took", time.Since(t0).Round(time.Millisecond).String())
	return nil
}
