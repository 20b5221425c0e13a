package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
)

// Cleanup removes whatever a lab of instance 0 left on this host; see CleanupInstance.
func Cleanup(ctx context.Context, dir string, log logr.Logger) error {
	return CleanupInstance(ctx, 0, dir, log)
}

// CleanupInstance removes whatever a lab of the given instance left on this host, whether it was torn down, crashed or was
// killed with its test: processes in the lab's namespaces or running from dir, mounts under
// dir, the namespaces, the veths and bridge, the forward rule and dir itself. dir is removed
// only if it is a lab directory (it holds the marker Up writes) or empty. Leftover processes
// get SIGKILL at once: their data is about to be deleted anyway. Only this instance's names
// and processes are touched: a lab of another instance keeps running.
func CleanupInstance(ctx context.Context, inst int, dir string, log logr.Logger) error {
	k := instance(inst)
	if err := k.check(); err != nil {
		return fmt.Errorf("cleaning up: %w", err)
	}
	dir = filepath.Clean(dir)
	if !safePath.MatchString(dir) || dir == "/" {
		return fmt.Errorf("cleaning up: %w: %q", ErrConfig, dir)
	}
	var errs []error
	t0 := time.Now()
	if n, err := killLeftovers(k, dir); err != nil {
		errs = append(errs, err)
	} else if n > 0 {
		log.Info("Killed leftover processes", "count", n)
	}
	if n, err := unmountUnder(dir); err != nil {
		errs = append(errs, err)
	} else if n > 0 {
		log.Info("Unmounted leftover mounts", "count", n)
	}
	log.V(1).Info("Processes and mounts cleaned", "took", time.Since(t0).Round(time.Millisecond).String())
	var del [][]string
	for _, ns := range labNetns(k) {
		del = append(del, []string{"netns", "del", ns})
	}
	if err := ipBatch(ctx, "", true, del); err != nil {
		errs = append(errs, fmt.Errorf("deleting namespaces: %w", err))
	}
	// The veths die with their namespaces; what is left is the bridge or a veth whose
	// namespace was already gone.
	del = nil
	for _, link := range labLinks(k) {
		del = append(del, []string{"link", "del", link})
	}
	if err := ipBatch(ctx, "", true, del); err != nil && len(labLinks(k)) > 0 {
		errs = append(errs, fmt.Errorf("deleting links: %w", err))
	}
	for range 10 {
		ok, err := forwardRulePresent(ctx, k)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if !ok {
			break
		}
		if _, err := run(ctx, "iptables", append([]string{"-D"}, k.forwardRule()...)...); err != nil {
			errs = append(errs, fmt.Errorf("deleting forward rule: %w", err))
			break
		}
	}
	log.V(1).Info("Network cleaned", "took", time.Since(t0).Round(time.Millisecond).String())
	if err := removeLabDir(dir); err != nil {
		errs = append(errs, err)
	}
	log.V(1).Info("Cleaned up", "dir", dir, "took", time.Since(t0).Round(time.Millisecond).String())
	return errors.Join(errs...)
}

// nsInodes returns the identities of the instance's pinned network namespaces.
func nsInodes(k instance) map[uint64]bool {
	inodes := map[uint64]bool{}
	for _, ns := range labNetns(k) {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(netnsDir, ns), &st); err == nil {
			inodes[st.Ino] = true
		}
	}
	return inodes
}

// leftoverNames are the programs a node runs from its directory; a process that only mentions
// the directory (an editor, a shell with `ls`) is not one of them.
var leftoverNames = []string{"dockerd", "containerd", "tini", "docker-init", "tini-static", "unshare", "nsenter", "sh"}

// killLeftovers kills every process inside one of the instance's namespaces, and every node
// process whose command line names dir, except this process and its ancestors.
func killLeftovers(k instance, dir string) (int, error) {
	inodes := nsInodes(k)
	mine := ancestors()
	var pids []int
	for _, p := range listProcs() {
		if mine[p.pid] || p.gone() {
			continue
		}
		inLab := inodes[p.netns]
		fromDir := len(p.argv) > 0 && slices.Contains(leftoverNames, filepath.Base(p.argv[0])) &&
			strings.Contains(strings.Join(p.argv, " "), dir+"/")
		if inLab || fromDir {
			pids = append(pids, p.pid)
		}
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
			return 0, fmt.Errorf("killing leftover process %d: %w", pid, err)
		}
	}
	if left := waitGone(pids, 10*time.Second); len(left) > 0 {
		return 0, fmt.Errorf("killing leftover processes: %v survived SIGKILL for 10s", left)
	}
	return len(pids), nil
}

// unmountUnder unmounts everything mounted at or below dir, deepest first, lazily when a
// mount is busy. Nodes keep their mounts in private namespaces, so these come from runs of
// other recipes or from a node whose namespace outlived it.
func unmountUnder(dir string) (int, error) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return 0, fmt.Errorf("reading mounts: %w", err)
	}
	defer f.Close()
	points, err := mountsUnder(bufio.NewScanner(f), dir)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, 0); err != nil {
			if err2 := syscall.Unmount(p, syscall.MNT_DETACH); err2 != nil && err2 != syscall.EINVAL {
				errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err2))
			}
		}
	}
	return len(points), errors.Join(errs...)
}

// mountsUnder returns the mount points at or below dir from a /proc/mounts listing, deepest
// first so that children go before their parents.
func mountsUnder(s *bufio.Scanner, dir string) ([]string, error) {
	var points []string
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 2 {
			continue
		}
		p := unescapeMount(fields[1])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("reading mounts: %w", err)
	}
	// A path mounted twice appears twice and is simply unmounted twice.
	slices.SortStableFunc(points, func(a, b string) int {
		return strings.Count(b, "/") - strings.Count(a, "/")
	})
	return points, nil
}

// unescapeMount undoes the octal escapes (\040 for space) of /proc/mounts.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeLabDir deletes dir if it is absent, empty or marked as a lab directory; anything else
// might be a user's directory given by mistake and is left alone.
func removeLabDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading lab dir: %w", err)
	}
	if len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, markerFile)); err != nil {
			return fmt.Errorf("removing %s: %w", dir, ErrNotLabDir)
		}
	}
	// Node directories go in parallel: each holds thousands of small files.
	var wg sync.WaitGroup
	for _, e := range entries {
		wg.Go(func() { _ = os.RemoveAll(filepath.Join(dir, e.Name())) })
	}
	wg.Wait()
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing lab dir: %w", err)
	}
	return nil
}
