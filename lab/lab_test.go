//go:build e2e

// The real-lab smoke test. Prerequisites (it fails, never skips, without them): root, Linux,
// `apt-get install docker.io iproute2 iptables`, and the go tool on PATH (it builds a probe).
//
//	go test -tags e2e -run TestLab -v -timeout 10m ./lab/
package lab

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

func TestLab(t *testing.T) {
	t.Run("five nodes with three managers in zones a, b, c", testFiveNodes)
	t.Run("a new lab starts over the leftovers of a killed run", testOverLeftovers)
	t.Run("seven nodes come up and go down in bounded time", testSevenNodes)
}

func testFiveNodes(t *testing.T) {
	ctx := context.Background()
	t0 := time.Now()
	l := ForTest(t, Config{Nodes: 5, Managers: 3, Zones: []string{"a", "b", "c"}})
	t.Logf("TIMING up 5 nodes (3 managers): %s, memory %d MB", time.Since(t0).Round(time.Millisecond), l.MemoryRSS()>>20)

	c := client1(t, l)
	nodes := listNodes(t, c)
	if len(nodes) != 5 {
		t.Fatalf("node list has %d nodes, want 5", len(nodes))
	}
	reachable, leaders := 0, 0
	for _, sn := range nodes {
		n := nodeByHostname(t, l, sn.Description.Hostname)
		if n.ID != sn.ID {
			t.Errorf("%s: lab says ID %s, swarm says %s", n.Hostname, n.ID, sn.ID)
		}
		if got, want := sn.Spec.Labels["az"], []string{"a", "b", "c"}[(n.Index-1)%3]; got != want {
			t.Errorf("%s: az label %q, want %q", n.Hostname, got, want)
		}
		if sn.Status.State != swarm.NodeStateReady {
			t.Errorf("%s: state %s, want ready", n.Hostname, sn.Status.State)
		}
		if ms := sn.ManagerStatus; ms != nil && ms.Reachability == swarm.ReachabilityReachable {
			reachable++
			if ms.Leader {
				leaders++
			}
			if n.Index > 3 {
				t.Errorf("%s is a manager; only node1..node3 should be", n.Hostname)
			}
		}
	}
	if reachable != 3 || leaders != 1 {
		t.Fatalf("%d reachable managers and %d leaders, want 3 and 1", reachable, leaders)
	}

	t.Run("a container sees its own node's engine at /var/run/docker.sock", func(t *testing.T) {
		probeDir := buildProbe(t)
		t0 := time.Now()
		if err := l.BuildImage(ctx, probeDir, "swarmlab-probe:test", 2, 4); err != nil {
			t.Fatalf("BuildImage: %v", err)
		}
		t.Logf("TIMING docker build FROM scratch on 2 nodes: %s", time.Since(t0).Round(time.Millisecond))
		for _, i := range []int{2, 4} {
			n := l.Node(i)
			got := runProbe(t, n)
			if got.Name != n.Hostname || got.Swarm.NodeID != n.ID {
				t.Errorf("container on %s reached engine %q (node %s), want %q (node %s)",
					n.Hostname, got.Name, got.Swarm.NodeID, n.Hostname, n.ID)
			}
		}
	})

	leader, err := l.Leader(ctx)
	if err != nil {
		t.Fatalf("Leader: %v", err)
	}
	victim := 2
	if leader.Index == 2 {
		victim = 3
	}
	t.Run("a killed manager becomes unreachable and comes back when started", func(t *testing.T) {
		t0 := time.Now()
		if err := l.Kill(ctx, victim); err != nil {
			t.Fatalf("Kill: %v", err)
		}
		if l.Node(victim).Running() {
			t.Fatalf("node%d still running after Kill", victim)
		}
		waitReachability(t, leader, l.Node(victim).ID, swarm.ReachabilityUnreachable)
		t.Logf("TIMING kill -> unreachable: %s", time.Since(t0).Round(time.Millisecond))
		t0 = time.Now()
		if err := l.Start(ctx, victim); err != nil {
			t.Fatalf("Start: %v", err)
		}
		waitReachability(t, leader, l.Node(victim).ID, swarm.ReachabilityReachable)
		t.Logf("TIMING start -> reachable: %s", time.Since(t0).Round(time.Millisecond))
	})
	t.Run("a partitioned manager becomes unreachable and comes back when healed", func(t *testing.T) {
		t0 := time.Now()
		if err := l.Partition(ctx, victim); err != nil {
			t.Fatalf("Partition: %v", err)
		}
		waitReachability(t, leader, l.Node(victim).ID, swarm.ReachabilityUnreachable)
		t.Logf("TIMING partition -> unreachable: %s", time.Since(t0).Round(time.Millisecond))
		t0 = time.Now()
		if err := l.Heal(ctx, victim); err != nil {
			t.Fatalf("Heal: %v", err)
		}
		waitReachability(t, leader, l.Node(victim).ID, swarm.ReachabilityReachable)
		t.Logf("TIMING heal -> reachable: %s", time.Since(t0).Round(time.Millisecond))
	})

	t0 = time.Now()
	if err := l.Down(ctx); err != nil {
		t.Fatalf("Down: %v", err)
	}
	t.Logf("TIMING down 5 nodes: %s", time.Since(t0).Round(time.Millisecond))
	assertNothingLeft(t, l)
}

func testOverLeftovers(t *testing.T) {
	ctx := context.Background()
	cfg := Config{Nodes: 3, Managers: 1}
	unlock := lockInstance(t, cfg.Instance)
	first, err := Up(ctx, cfg)
	if err != nil {
		unlock()
		t.Fatalf("first Up: %v", err)
	}
	// A killed run: no Down, the nodes keep running, and a mount of another recipe is left
	// under the lab dir.
	oldPIDs := []int{}
	for _, n := range first.Nodes() {
		oldPIDs = append(oldPIDs, n.PID())
	}
	stale := filepath.Join(first.Node(1).Dir, "stale-mount")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "tmpfs", stale).CombinedOutput(); err != nil {
		t.Fatalf("mounting %s: %v: %s", stale, err, out)
	}
	unlock()

	t0 := time.Now()
	l := ForTest(t, cfg)
	t.Logf("TIMING up 3 nodes over leftovers: %s", time.Since(t0).Round(time.Millisecond))
	for _, pid := range oldPIDs {
		if alive(pid) {
			t.Errorf("node process %d of the killed run is still alive", pid)
		}
	}
	if mounts, _ := os.ReadFile("/proc/self/mounts"); strings.Contains(string(mounts), stale) {
		t.Errorf("stale mount %s survived", stale)
	}
	if nodes := listNodes(t, client1(t, l)); len(nodes) != 3 {
		t.Errorf("new lab lists %d nodes, want 3", len(nodes))
	}
}

func testSevenNodes(t *testing.T) {
	t0 := time.Now()
	l := ForTest(t, Config{Nodes: 7, Managers: 3, Zones: []string{"a", "b", "c"}})
	t.Logf("TIMING up 7 nodes (3 managers): %s, memory %d MB", time.Since(t0).Round(time.Millisecond), l.MemoryRSS()>>20)
	if nodes := listNodes(t, client1(t, l)); len(nodes) != 7 {
		t.Errorf("lab lists %d nodes, want 7", len(nodes))
	}
	t0 = time.Now()
	if err := l.Down(context.Background()); err != nil {
		t.Fatalf("Down: %v", err)
	}
	t.Logf("TIMING down 7 nodes: %s", time.Since(t0).Round(time.Millisecond))
	assertNothingLeft(t, l)
}

func client1(t *testing.T, l *Lab) *client.Client {
	t.Helper()
	c, err := l.Node(1).Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func listNodes(t *testing.T, c *client.Client) []swarm.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nodes, err := c.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		t.Fatalf("listing nodes: %v", err)
	}
	return nodes
}

func nodeByHostname(t *testing.T, l *Lab, h string) *Node {
	t.Helper()
	for _, n := range l.Nodes() {
		if n.Hostname == h {
			return n
		}
	}
	t.Fatalf("swarm lists unknown hostname %q", h)
	return nil
}

// waitReachability polls the observer's view of node id until it has the wanted reachability.
func waitReachability(t *testing.T, observer *Node, id string, want swarm.Reachability) {
	t.Helper()
	c, err := observer.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		sn, _, err := c.NodeInspectWithRaw(ctx, id)
		cancel()
		switch {
		case err != nil:
			last = err.Error()
		case sn.ManagerStatus == nil:
			last = "no manager status"
		case sn.ManagerStatus.Reachability == want:
			return
		default:
			last = string(sn.ManagerStatus.Reachability)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("node %s never became %s as %s sees it (last: %s)", id, want, observer.Hostname, last)
}

func assertNothingLeft(t *testing.T, l *Lab) {
	t.Helper()
	dir, k := l.Dir(), instance(l.Config().Instance)
	if ns := labNetns(k); len(ns) > 0 {
		t.Errorf("namespaces left: %v", ns)
	}
	if links := labLinks(k); len(links) > 0 {
		t.Errorf("links left: %v", links)
	}
	if ok, err := forwardRulePresent(context.Background(), k); err != nil || ok {
		t.Errorf("forward rule left (%t) or unreadable: %v", ok, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("lab dir %s left: %v", dir, err)
	}
	for _, p := range listProcs() {
		if !p.gone() && slices.ContainsFunc(p.argv, func(a string) bool { return strings.Contains(a, dir+"/") }) {
			t.Errorf("process left: %d %q", p.pid, p.argv)
		}
	}
}

// probeSource asks the engine behind /var/run/docker.sock who it is.
const probeSource = `package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", "/var/run/docker.sock")
	}}}
	resp, err := c.Get("http://docker/v1.41/info")
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	io.Copy(os.Stdout, resp.Body)
}
`

// buildProbe compiles the probe as a static binary next to a FROM scratch Dockerfile.
func buildProbe(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "probe")
	files := map[string]string{
		filepath.Join(src, "go.mod"):     "module probe\n\ngo 1.21\n",
		filepath.Join(src, "main.go"):    probeSource,
		filepath.Join(dir, "Dockerfile"): "FROM scratch\nCOPY probe /probe\nENTRYPOINT [\"/probe\"]\n",
	}
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	cmd := exec.Command(goBin, "build", "-o", filepath.Join(dir, "probe"), ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building probe: %v: %s", err, out)
	}
	return dir
}

type engineInfo struct {
	Name  string
	Swarm struct{ NodeID string }
}

// runProbe runs the probe on node n with the socket bind-mounted and decodes what it saw.
func runProbe(t *testing.T, n *Node) engineInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := n.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	created, err := c.ContainerCreate(ctx, &container.Config{Image: "swarmlab-probe:test"},
		&container.HostConfig{Mounts: []mount.Mount{{
			Type: mount.TypeBind, Source: "/var/run/docker.sock", Target: "/var/run/docker.sock",
		}}}, nil, nil, "")
	if err != nil {
		t.Fatalf("creating probe on %s: %v", n.Hostname, err)
	}
	defer func() {
		_ = c.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	}()
	if err := c.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("starting probe on %s: %v", n.Hostname, err)
	}
	waitC, errC := c.ContainerWait(ctx, created.ID, container.WaitConditionNotRunning)
	select {
	case res := <-waitC:
		if res.StatusCode != 0 {
			t.Fatalf("probe on %s exited %d", n.Hostname, res.StatusCode)
		}
	case err := <-errC:
		t.Fatalf("waiting for probe on %s: %v", n.Hostname, err)
	}
	logs, err := c.ContainerLogs(ctx, created.ID, container.LogsOptions{ShowStdout: true})
	if err != nil {
		t.Fatalf("reading probe logs on %s: %v", n.Hostname, err)
	}
	defer logs.Close()
	var buf, errBuf strings.Builder
	if _, err := stdcopy.StdCopy(&buf, &errBuf, logs); err != nil {
		t.Fatalf("reading probe logs on %s: %v", n.Hostname, err)
	}
	var info engineInfo
	if err := json.Unmarshal([]byte(buf.String()), &info); err != nil {
		t.Fatalf("decoding probe output on %s: %v: %q", n.Hostname, err, buf.String())
	}
	return info
}
