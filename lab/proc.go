package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one process as /proc shows it.
type proc struct {
	pid, ppid int
	state     byte
	argv      []string
	netns     uint64
}

// gone reports a process that has exited; a zombie counts, since only its parent can reap it.
func (p proc) gone() bool { return p.state == 'Z' || p.state == 'X' }

func readProc(pid int) (proc, bool) {
	base := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(base, "stat"))
	if err != nil {
		return proc{}, false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses, so cut at the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return proc{}, false
	}
	fields := strings.Fields(string(stat[i+2:]))
	if len(fields) < 2 {
		return proc{}, false
	}
	p := proc{pid: pid, state: fields[0][0]}
	p.ppid, _ = strconv.Atoi(fields[1])
	if cmdline, err := os.ReadFile(filepath.Join(base, "cmdline")); err == nil {
		p.argv = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	}
	if link, err := os.Readlink(filepath.Join(base, "ns", "net")); err == nil {
		p.netns, _ = nsInode(link)
	}
	return p, true
}

func listProcs() []proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var ps []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			ps = append(ps, p)
		}
	}
	return ps
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, ok := readProc(pid)
	return ok && !p.gone()
}

// cmdlineHas reports whether the process's command line mentions s: how a pid read from a
// state file is checked to still be the lab's own process before it gets a signal.
func cmdlineHas(pid int, s string) bool {
	p, ok := readProc(pid)
	return ok && !p.gone() && strings.Contains(strings.Join(p.argv, " "), s)
}

// firstChild returns a child of pid, waiting for one to appear.
func firstChild(ctx context.Context, pid int, exited <-chan struct{}) (int, error) {
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	for {
		for _, p := range listProcs() {
			if p.ppid == pid && !p.gone() {
				return p.pid, nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-exited:
			return 0, ErrDaemonExited
		case <-ticker.C:
		}
	}
}

// waitGone polls until none of pids is alive or the timeout passes; it returns those left.
func waitGone(pids []int, timeout time.Duration) []int {
	deadline := time.Now().Add(timeout)
	for {
		var left []int
		for _, pid := range pids {
			if alive(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopProcess sends SIGTERM, waits up to grace, then SIGKILL. It reports whether SIGKILL was
// needed.
func stopProcess(pid int, grace time.Duration) (killed bool, err error) {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && err != syscall.ESRCH {
		return false, fmt.Errorf("sending SIGTERM to %d: %w", pid, err)
	}
	if len(waitGone([]int{pid}, grace)) == 0 {
		return false, nil
	}
	return true, killProcess(pid)
}

// killProcess sends SIGKILL and waits for the process to go.
func killProcess(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("sending SIGKILL to %d: %w", pid, err)
	}
	if len(waitGone([]int{pid}, 10*time.Second)) > 0 {
		return fmt.Errorf("process %d survived SIGKILL for 10s", pid)
	}
	return nil
}

// ancestors returns this process and its parents, which cleanup must never kill even when
// their command line names the lab directory (a shell running `swarmlab up --dir ...`).
func ancestors() map[int]bool {
	seen := map[int]bool{}
	for pid := os.Getpid(); pid > 1 && !seen[pid]; {
		seen[pid] = true
		p, ok := readProc(pid)
		if !ok {
			break
		}
		pid = p.ppid
	}
	return seen
}

// rssBytes returns the resident memory of a process, 0 when it is gone.
func rssBytes(pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
