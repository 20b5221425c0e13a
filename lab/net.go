package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// netnsDir is where `ip netns add` pins namespaces.
const netnsDir = "/var/run/netns"

// setupBridge creates the bridge with its address and the forward rule, each only if missing.
func setupBridge(ctx context.Context, k instance) error {
	br := k.bridge()
	if !linkExists(br) {
		if _, err := run(ctx, "ip", "link", "add", br, "type", "bridge"); err != nil {
			return fmt.Errorf("creating bridge: %w", err)
		}
	}
	if _, err := run(ctx, "ip", "addr", "replace", k.withMask(k.bridgeAddr()), "dev", br); err != nil {
		return fmt.Errorf("addressing bridge: %w", err)
	}
	if _, err := run(ctx, "ip", "link", "set", br, "up"); err != nil {
		return fmt.Errorf("bringing bridge up: %w", err)
	}
	ok, err := forwardRulePresent(ctx, k)
	if err != nil {
		return err
	}
	if !ok {
		if _, err := run(ctx, "iptables", append([]string{"-I"}, k.forwardRule()...)...); err != nil {
			return fmt.Errorf("adding forward rule: %w", err)
		}
	}
	return nil
}

func forwardRulePresent(ctx context.Context, k instance) (bool, error) {
	_, err := run(ctx, "iptables", append([]string{"-C"}, k.forwardRule()...)...)
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
func setupNodesNet(ctx context.Context, k instance, nodes []int) error {
	var host [][]string
	for _, i := range nodes {
		ns, veth := k.netnsName(i), k.vethName(i)
		host = append(host,
			[]string{"netns", "add", ns},
			[]string{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
			[]string{"link", "set", veth, "master", k.bridge(), "up"})
	}
	if err := ipBatch(ctx, "", false, host); err != nil {
		return fmt.Errorf("setting up node links: %w", err)
	}
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for j, i := range nodes {
		wg.Go(func() {
			err := ipBatch(ctx, k.netnsName(i), false, [][]string{
				{"addr", "add", k.withMask(k.nodeAddr(i)), "dev", "eth0"},
				{"link", "set", "eth0", "up"},
				{"link", "set", "lo", "up"},
			})
			if err != nil {
				errs[j] = fmt.Errorf("setting up network of %s: %w", hostname(i), err)
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

// setLink brings node n's host-side veth up or down: down is a partition, the node keeps running.
func setLink(ctx context.Context, n *Node, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	if _, err := run(ctx, "ip", "link", "set", n.Veth, state); err != nil {
		return fmt.Errorf("setting link of %s %s: %w", n.Hostname, state, err)
	}
	return nil
}

func linkExists(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/net", name))
	return err == nil
}

// labNetns lists the instance's pinned namespaces, whatever node count made them.
func labNetns(k instance) []string {
	pattern := k.netnsPattern()
	entries, err := os.ReadDir(netnsDir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if pattern.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names
}

// labLinks lists host links the instance owns: its veths and the bridge.
func labLinks(k instance) []string {
	pattern := k.vethPattern()
	entries, err := os.ReadDir("/sys/class/net")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if pattern.MatchString(e.Name()) || e.Name() == k.bridge() {
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
