package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/client"
	"github.com/go-logr/logr"
)

// Lab is a running set of engines joined into one swarm.
type Lab struct {
	cfg   Config
	log   logr.Logger
	nodes []*Node

	// mu serialises the node operations (Kill, Start, Down) and writes of the state file.
	mu sync.Mutex
}

// Node is one engine of the lab.
type Node struct {
	// Index is the node number, 1-based.
	Index int
	// Hostname is node<Index>, what swarm reports.
	Hostname string
	// ID is the swarm node ID.
	ID string
	// Addr is the node's IP address on the lab bridge.
	Addr string
	// Zone is the zone label the lab set, "" for none.
	Zone string
	// Dir holds the node's data-root, log and socket.
	Dir string
	// Socket is the path of the engine's API socket as seen from the host.
	Socket string
	// Netns is the name of the node's network namespace.
	Netns string
	// Veth is the name of the node's host-side veth (eth0 inside the namespace).
	Veth string

	pid    atomic.Int64  // host PID of the node's PID 1 (tini); 0 when not running
	exited chan struct{} // closed when the process this Lab started is gone; nil if not ours
}

// DockerHost is the value for DOCKER_HOST to reach this node: "unix://<Socket>".
func (n *Node) DockerHost() string { return "unix://" + n.Socket }

// Client returns a Docker client for this node. The caller closes it.
func (n *Node) Client() (*client.Client, error) {
	c, err := client.NewClientWithOpts(client.WithHost(n.DockerHost()), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("creating client for %s: %w", n.Hostname, err)
	}
	return c, nil
}

// LogPath is the file dockerd (and its containerd) log to.
func (n *Node) LogPath() string { return filepath.Join(n.Dir, "dockerd.log") }

// PID is the host PID of the node's init (tini, whose child is dockerd), 0 when not running.
func (n *Node) PID() int { return int(n.pid.Load()) }

// Running reports whether the node's processes are up (not whether the engine answers).
func (n *Node) Running() bool { pid := n.PID(); return pid > 0 && alive(pid) }

func newLab(cfg Config) *Lab {
	l := &Lab{cfg: cfg, log: cfg.Log}
	k := instance(cfg.Instance)
	for i := 1; i <= cfg.Nodes; i++ {
		l.nodes = append(l.nodes, &Node{
			Index:    i,
			Hostname: hostname(i),
			Addr:     k.nodeAddr(i).String(),
			Zone:     cfg.zoneOf(i),
			Dir:      nodeDir(cfg.Dir, i),
			Socket:   socketPath(cfg.Dir, i),
			Netns:    k.netnsName(i),
			Veth:     k.vethName(i),
		})
	}
	return l
}

// Up builds a lab: it first removes whatever an earlier lab left (see Cleanup), then creates the
// bridge and one namespace and dockerd per node, initialises the swarm on node1, joins the others
// (node2..nodeM as managers), sets the zone labels and waits until every node is ready and every
// manager reachable. On failure it tears down what it built.
func Up(ctx context.Context, cfg Config) (*Lab, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := Prerequisites(); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := CleanupInstance(ctx, cfg.Instance, cfg.Dir, cfg.Log); err != nil {
		return nil, fmt.Errorf("cleaning up leftovers: %w", err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating lab dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, markerFile), []byte("swarmtopo lab; removed by swarmlab down\n"), 0o644); err != nil {
		return nil, fmt.Errorf("marking lab dir: %w", err)
	}
	l := newLab(cfg)
	if err := l.build(ctx); err != nil {
		// The context may be what failed; tearing down must still run.
		downCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		return nil, errors.Join(err, l.Down(downCtx))
	}
	l.log.Info("Lab up", "nodes", cfg.Nodes, "managers", cfg.Managers, "instance", cfg.Instance, "dir", cfg.Dir, "took", time.Since(start).Round(time.Millisecond).String())
	return l, nil
}

func (l *Lab) build(ctx context.Context) error {
	t0 := time.Now()
	k := instance(l.cfg.Instance)
	if err := setupBridge(ctx, k); err != nil {
		return err
	}
	var idx []int
	for _, n := range l.nodes {
		idx = append(idx, n.Index)
	}
	if err := setupNodesNet(ctx, k, idx); err != nil {
		return err
	}
	l.log.V(1).Info("Network ready", "bridge", k.bridge(), "took", time.Since(t0).Round(time.Millisecond).String())

	t0 = time.Now()
	for _, n := range l.nodes {
		if err := l.spawn(ctx, n); err != nil {
			return err
		}
	}
	if err := l.saveState(); err != nil {
		return err
	}
	errs := make([]error, len(l.nodes))
	var wg sync.WaitGroup
	for i, n := range l.nodes {
		wg.Go(func() { errs[i] = l.waitReady(ctx, n) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	l.log.Info("Engines answering", "nodes", len(l.nodes), "took", time.Since(t0).Round(time.Millisecond).String())

	t0 = time.Now()
	if err := l.formSwarm(ctx); err != nil {
		return err
	}
	l.log.Info("Swarm formed", "nodes", len(l.nodes), "managers", l.cfg.Managers, "took", time.Since(t0).Round(time.Millisecond).String())
	return l.saveState()
}

// Config returns the lab's configuration with defaults filled in.
func (l *Lab) Config() Config { return l.cfg }

// Dir is the lab directory.
func (l *Lab) Dir() string { return l.cfg.Dir }

// Nodes returns every node, node1 first.
func (l *Lab) Nodes() []*Node { return l.nodes }

// Node returns node i (1-based). It panics when there is no such node: that is a bug in the test.
func (l *Lab) Node(i int) *Node {
	if i < 1 || i > len(l.nodes) {
		panic(fmt.Sprintf("lab: no node %d (the lab has %d)", i, len(l.nodes)))
	}
	return l.nodes[i-1]
}

func (l *Lab) node(i int) (*Node, error) {
	if i < 1 || i > len(l.nodes) {
		return nil, fmt.Errorf("%w: %d (the lab has %d)", ErrNoSuchNode, i, len(l.nodes))
	}
	return l.nodes[i-1], nil
}

// Env returns shell lines that point the docker CLI at node1 and name every node's socket.
func (l *Lab) Env() string {
	var b strings.Builder
	fmt.Fprintf(&b, "export DOCKER_HOST=%s\n", l.nodes[0].DockerHost())
	fmt.Fprintf(&b, "export SWARMLAB_DIR=%s\n", l.cfg.Dir)
	fmt.Fprintf(&b, "export SWARMLAB_INSTANCE=%d\n", l.cfg.Instance)
	for _, n := range l.nodes {
		fmt.Fprintf(&b, "export SWARMLAB_%s=%s\n", strings.ToUpper(n.Hostname), n.DockerHost())
	}
	return b.String()
}

// MemoryRSS sums the resident memory of every process in the lab's namespaces (dockerd,
// containerd, shims, host-network containers).
func (l *Lab) MemoryRSS() int64 {
	inodes := nsInodes(instance(l.cfg.Instance))
	var total int64
	for _, p := range listProcs() {
		if inodes[p.netns] && !p.gone() {
			total += rssBytes(p.pid)
		}
	}
	return total
}

// state is what lab.json keeps so that another process (the CLI) can drive the lab.
type state struct {
	Config Config      `json:"config"`
	Nodes  []nodeState `json:"nodes"`
}

type nodeState struct {
	Index int    `json:"index"`
	ID    string `json:"id,omitempty"`
	PID   int    `json:"pid,omitempty"`
}

func (l *Lab) saveState() error {
	s := state{Config: l.cfg}
	for _, n := range l.nodes {
		s.Nodes = append(s.Nodes, nodeState{Index: n.Index, ID: n.ID, PID: n.PID()})
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding lab state: %w", err)
	}
	path := filepath.Join(l.cfg.Dir, stateFile)
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		return fmt.Errorf("writing lab state: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("writing lab state: %w", err)
	}
	return nil
}

// Load reattaches to a lab that Up started, possibly in another process, from its state file.
func Load(dir string, log logr.Logger) (*Lab, error) {
	b, err := os.ReadFile(filepath.Join(filepath.Clean(dir), stateFile))
	if err != nil {
		return nil, fmt.Errorf("reading lab state: %w", err)
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decoding lab state: %w", err)
	}
	s.Config.Log = log
	cfg, err := s.Config.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("loading lab state: %w", err)
	}
	l := newLab(cfg)
	for _, ns := range s.Nodes {
		if ns.Index < 1 || ns.Index > len(l.nodes) {
			return nil, fmt.Errorf("loading lab state: %w: %d", ErrNoSuchNode, ns.Index)
		}
		n := l.nodes[ns.Index-1]
		n.ID = ns.ID
		// A PID from the file is trusted only while it is still this node's init.
		if cmdlineHas(ns.PID, n.Dir+"/") {
			n.pid.Store(int64(ns.PID))
		}
	}
	return l, nil
}
