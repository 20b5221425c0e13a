package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// cmdTimeout bounds every short command (ip, iptables): they answer in milliseconds, so a
// command that takes longer is stuck, and the lab must not hang with it.
const cmdTimeout = 20 * time.Second

// run executes one short command and returns its combined output. The error names the whole
// command line and carries what it printed.
func run(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		line := strings.Join(append([]string{name}, args...), " ")
		if msg := strings.TrimSpace(string(out)); msg != "" {
			return string(out), fmt.Errorf("running %s: %w: %s", line, err, msg)
		}
		return string(out), fmt.Errorf("running %s: %w", line, err)
	}
	return string(out), nil
}

// exitedNonZero tells a command that ran and said "no" (iptables -C on a missing rule) from one
// that could not run at all.
func exitedNonZero(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}

// tools are the programs the lab runs; dockerd finds containerd and runc on PATH itself.
var tools = []string{"ip", "iptables", "nsenter", "unshare", "sh", "mount", "hostname", "dockerd", "containerd", "runc"}

// initNames are the tiny inits accepted as each node's PID 1; Debian's docker.io depends on tini.
var initNames = []string{"tini", "docker-init", "tini-static"}

// Prerequisites reports what keeps a lab from starting on this machine: not root, or a missing
// program (on Debian: apt-get install docker.io iproute2 iptables).
func Prerequisites() error {
	var errs []error
	if os.Geteuid() != 0 {
		errs = append(errs, fmt.Errorf("%w (euid %d)", ErrNotRoot, os.Geteuid()))
	}
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s (apt-get install docker.io iproute2 iptables)", ErrMissingTool, t))
		}
	}
	if _, err := initPath(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func initPath() (string, error) {
	for _, n := range initNames {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: tini (apt-get install tini; docker.io depends on it)", ErrMissingTool)
}

// tail returns the last n lines of a file, for errors about a daemon that would not start.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
