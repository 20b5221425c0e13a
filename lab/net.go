package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// netnsDir is where `ip netns add` pins namespaces.
const netnsDir = "/var/run/netns"

// forwardRule lets bridged traffic between nodes pass when br_netfilter sends it through the
// FORWARD chain, whose policy may be DROP (it is wherever a host docker ran).
var forwardRule = []string{"FORWARD", "-i", Bridge, "-o", Bridge, "-j", "ACCEPT"}

// setupBridge creates the bridge with its address and the forward rule, each only if missing.
func setupBridge(ctx context.Context) error {
	if !linkExists(Bridge) {
		if _, err := run(ctx, "ip", "link", "add", Bridge, "type", "bridge"); err != nil {
			return fmt.Errorf("creating bridge: %w", err)
		}
	}
	if _, err := run(ctx, "ip", "addr", "replace", withMask(bridgeAddr()), "dev", Bridge); err != nil {
		return fmt.Errorf("addressing bridge: %w", err)
	}
	if _, err := run(ctx, "ip", "link", "set", Bridge, "up"); err != nil {
		return fmt.Errorf("bringing bridge up: %w", err)
	}
	ok, err := forwardRulePresent(ctx)
	if err != nil {
		return err
	}
	if !ok {
		if _, err := run(ctx, "iptables", append([]string{"-I"}, forwardRule...)...); err != nil {
			return fmt.Errorf("adding forward rule: %w", err)
		}
	}
	return nil
}

func forwardRulePresent(ctx context.Context) (bool, error) {
	_, err := run(ctx, "iptables", append([]string{"-C"}, forwardRule...)...)
	if err == nil {
		return true, nil
	}
	if exitedNonZero(err) {
		return false, nil
	}
	return false, fmt.Errorf("checking forward rule: %w", err)
}

// setupNodesNet gives every node a namespace with lo up and eth0 on the bridge. It batches
// the ip commands, one batch on the host and one per namespace run in parallel, because a
// process start costs tens of milliseconds on small CI machines and this is 6 per node.
func setupNodesNet(ctx context.Context, nodes []int) error {
	var host [][]string
	for _, i := range nodes {
		ns, veth := netnsName(i), vethName(i)
		host = append(host,
			[]string{"netns", "add", ns},
			[]string{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
			[]string{"link", "set", veth, "master", Bridge, "up"})
	}
	if err := ipBatch(ctx, "", false, host); err != nil {
		return fmt.Errorf("setting up node links: %w", err)
	}
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for k, i := range nodes {
		wg.Go(func() {
			err := ipBatch(ctx, netnsName(i), false, [][]string{
				{"addr", "add", withMask(nodeAddr(i)), "dev", "eth0"},
				{"link", "set", "eth0", "up"},
				{"link", "set", "lo", "up"},
			})
			if err != nil {
				errs[k] = fmt.Errorf("setting up network of %s: %w", hostname(i), err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ipBatch runs ip commands in one process, inside namespace ns unless it is empty. Without
// force it stops at the first failure; with force it tries every line.
func ipBatch(ctx context.Context, ns string, force bool, lines [][]string) error {
	if len(lines) == 0 {
		return nil
	}
	var script strings.Builder
	for _, l := range lines {
		script.WriteString(strings.Join(l, " ") + "\n")
	}
	args := []string{}
	if ns != "" {
		args = append(args, "-n", ns)
	}
	if force {
		args = append(args, "-force")
	}
	args = append(args, "-batch", "-")
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdin = strings.NewReader(script.String())
	cmd.WaitDelay = time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("running ip %s: %w: %s\nbatch:\n%s", strings.Join(args, " "), err,
			strings.TrimSpace(string(out)), script.String())
	}
	return nil
}

// setLink brings node i's host-side veth up or down: down is a partition, the node keeps running.
func setLink(ctx context.Context, i int, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	if _, err := run(ctx, "ip", "link", "set", vethName(i), state); err != nil {
		return fmt.Errorf("setting link of %s %s: %w", hostname(i), state, err)
	}
	return nil
}

func linkExists(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/net", name))
	return err == nil
}

var (
	netnsPattern = regexp.MustCompile("^" + NetnsPrefix + `[0-9]+$`)
	vethPattern  = regexp.MustCompile("^" + VethPrefix + `[0-9]+$`)
)

// labNetns lists the lab's pinned namespaces, whatever node count made them.
func labNetns() []string {
	entries, err := os.ReadDir(netnsDir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if netnsPattern.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names
}

// labLinks lists host links the lab owns: its veths and the bridge.
func labLinks() []string {
	entries, err := os.ReadDir("/sys/class/net")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if vethPattern.MatchString(e.Name()) || e.Name() == Bridge {
			names = append(names, e.Name())
		}
	}
	return names
}

// nsInode reads the namespace identity from a readlink of /proc/PID/ns/net ("net:[4026532]").
func nsInode(link string) (uint64, bool) {
	_, rest, ok := strings.Cut(link, ":[")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64)
	return n, err == nil
}
