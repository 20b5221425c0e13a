package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/go-logr/logr"

	"github.com/swarmtopo/swarmtopo/spec"
)

// Names and addresses of instance 0's network (see Config.Instance for the others). Up replaces
// whatever lab of the same instance (bridge, namespaces, daemons) an earlier run left behind.
const (
	// Bridge is the Linux bridge of instance 0.
	Bridge = "stbr0"
	// NetnsPrefix names node N's network namespace NetnsPrefix+N.
	NetnsPrefix = "stlab"
	// VethPrefix names node N's host-side veth VethPrefix+N; inside the namespace it is eth0.
	VethPrefix = "stveth"
	// DefaultDir holds the nodes' data, sockets and logs unless Config.Dir says otherwise.
	DefaultDir = "/tmp/swarmtopo-lab"
	// MaxNodes bounds the node count: a node costs about 150 MB and addresses are .11 up.
	MaxNodes = 40
	// SwarmPort is the swarm management port every node listens on inside its namespace.
	SwarmPort = 2377

	markerFile = ".swarmlab"
	stateFile  = "lab.json"
)

// subnet is instance 0's private /24: the bridge is .1, node N is .10+N. Nothing routes out of
// it; instance k uses the k-th /24 after it.
var subnet = netip.MustParsePrefix("10.213.7.0/24")

const (
	defaultReadyTimeout = 60 * time.Second
	defaultStopTimeout  = 10 * time.Second
	defaultSettle       = 60 * time.Second
	// maxSocketPath keeps node sockets under the kernel's sun_path limit (108 bytes with the NUL).
	maxSocketPath = 100
)

// Sentinel errors.
var (
	ErrConfig       = errors.New("lab: invalid config")
	ErrNotRoot      = errors.New("lab: must run as root")
	ErrMissingTool  = errors.New("lab: required tool not found")
	ErrNodeRunning  = errors.New("lab: node is running")
	ErrNodeStopped  = errors.New("lab: node is not running")
	ErrNoSuchNode   = errors.New("lab: no such node")
	ErrNotLabDir    = errors.New("lab: directory is not a lab directory")
	ErrDaemonExited = errors.New("lab: dockerd exited")
)

// Config says what lab to build. Only Nodes is required.
type Config struct {
	// Instance (0..MaxInstance) picks one of the labs that can run side by side on a host, each
	// with its own bridge, namespaces, subnet, default Dir and lock. 0 is stbr0, stlabN, stvethN,
	// 10.213.7.0/24 and DefaultDir; k >= 1 is stbr<k>, st<k>labN, st<k>vethN, 10.213.(7+k).0/24
	// and DefaultDir-<k>.
	Instance int `json:"instance,omitempty"`
	// Nodes is the number of engines, node1..nodeN.
	Nodes int `json:"nodes"`
	// Managers is how many of them start as managers (node1..nodeM); 0 means 1.
	Managers int `json:"managers"`
	// Zones are assigned round robin: node i gets Zones[(i-1) % len(Zones)]. Empty means no
	// zone label at all (for tests where the operator assigns zones).
	Zones []string `json:"zones,omitempty"`
	// ZoneOf maps a hostname to its zone and wins over Zones.
	ZoneOf map[string]string `json:"zoneOf,omitempty"`
	// ZoneLabel is the node label that holds the zone; empty means spec.DefaultZoneLabel.
	ZoneLabel string `json:"zoneLabel,omitempty"`
	// Dir holds one directory per node; empty means the instance's InstanceDir. It must be empty, absent or an
	// earlier lab's directory, because Down removes it.
	Dir string `json:"dir"`
	// Spec is sent with swarm init; zero fields keep swarm's defaults.
	Spec swarm.Spec `json:"spec"`
	// ReadyTimeout bounds the wait for one dockerd to answer; 0 means 60 s.
	ReadyTimeout time.Duration `json:"readyTimeout,omitempty"`
	// StopTimeout is how long Down waits after SIGTERM before SIGKILL; 0 means 10 s.
	StopTimeout time.Duration `json:"stopTimeout,omitempty"`
	// DaemonArgs adds dockerd flags to some nodes, by hostname (e.g. "node1": TLS on a TCP
	// listener). Each argument may hold only letters, digits and /._=:,@+- because it goes
	// into the node's shell script.
	DaemonArgs map[string][]string `json:"daemonArgs,omitempty"`
	// Engines picks another engine for some nodes: node N runs Engines[N]/usr/sbin/dockerd with
	// Engines[N]/usr/bin first on PATH (its containerd and shims) and the host's runc. Nodes not
	// listed run the host's dockerd (/usr/bin, Engine 20.10). Engine26Root is what
	// hack/engine-26.1.sh provisions.
	Engines map[int]string `json:"engines,omitempty"`
	// Log receives progress; the zero Logger discards.
	Log logr.Logger `json:"-"`
}

// safeArg matches a dockerd argument that is safe in a shell script unquoted.
var safeArg = regexp.MustCompile(`^[A-Za-z0-9/._=:,@+-]+$`)

// Engine26Root is where hack/engine-26.1.sh unpacks Debian trixie's Engine 26.1.
const Engine26Root = "/opt/swarmtopo-engine-26.1"

// AllOn returns an Engines map that puts nodes 1..n on the engine unpacked at root.
func AllOn(n int, root string) map[int]string {
	m := make(map[int]string, n)
	for i := 1; i <= n; i++ {
		m[i] = root
	}
	return m
}

// engineDockerd is the dockerd node i runs, and the directory to put first on its PATH ("" for
// the host's engine).
func (c Config) engineDockerd(i int) (dockerd, binDir string) {
	root := c.Engines[i]
	if root == "" {
		return "dockerd", ""
	}
	return filepath.Join(root, "usr", "sbin", "dockerd"), filepath.Join(root, "usr", "bin")
}

// safePath matches directories that are safe to put in a shell script unquoted.
var safePath = regexp.MustCompile(`^/[A-Za-z0-9/._-]+$`)

// withDefaults returns a copy with every default filled in and checks it.
func (c Config) withDefaults() (Config, error) {
	if c.Managers == 0 {
		c.Managers = 1
	}
	if c.ZoneLabel == "" {
		c.ZoneLabel = spec.DefaultZoneLabel
	}
	if err := instance(c.Instance).check(); err != nil {
		return c, err
	}
	if c.Dir == "" {
		c.Dir = instance(c.Instance).dir()
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = defaultReadyTimeout
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = defaultStopTimeout
	}
	c.Dir = filepath.Clean(c.Dir)
	switch {
	case c.Nodes < 1 || c.Nodes > MaxNodes:
		return c, fmt.Errorf("%w: nodes must be 1..%d, got %d", ErrConfig, MaxNodes, c.Nodes)
	case c.Managers < 1 || c.Managers > c.Nodes:
		return c, fmt.Errorf("%w: managers must be 1..%d, got %d", ErrConfig, c.Nodes, c.Managers)
	case !safePath.MatchString(c.Dir) || c.Dir == "/":
		return c, fmt.Errorf("%w: dir %q must be an absolute path of letters, digits and ./_-", ErrConfig, c.Dir)
	case underRun(c.Dir):
		// Each node mounts a fresh tmpfs on /run, which would hide its own directory.
		return c, fmt.Errorf("%w: dir %q must not be under /run", ErrConfig, c.Dir)
	case len(socketPath(c.Dir, c.Nodes)) > maxSocketPath:
		return c, fmt.Errorf("%w: dir %q is too long for unix socket paths", ErrConfig, c.Dir)
	}
	for _, z := range c.Zones {
		if z == "" {
			return c, fmt.Errorf("%w: empty zone name", ErrConfig)
		}
	}
	for host, args := range c.DaemonArgs {
		if i, err := strconv.Atoi(strings.TrimPrefix(host, "node")); err != nil || hostname(i) != host || i < 1 || i > c.Nodes {
			return c, fmt.Errorf("%w: daemonArgs: %q is not a node of this lab (node1..node%d)", ErrConfig, host, c.Nodes)
		}
		for _, a := range args {
			if !safeArg.MatchString(a) {
				return c, fmt.Errorf("%w: daemonArgs of %s: argument %q may hold only letters, digits and /._=:,@+-", ErrConfig, host, a)
			}
		}
	}
	for i, root := range c.Engines {
		if i < 1 || i > c.Nodes {
			return c, fmt.Errorf("%w: engines: no node %d (the lab has %d)", ErrConfig, i, c.Nodes)
		}
		if root == "" {
			continue
		}
		if !safePath.MatchString(root) {
			return c, fmt.Errorf("%w: engines: node%d: root %q must be an absolute path of letters, digits and ./_-", ErrConfig, i, root)
		}
		dockerd, _ := c.engineDockerd(i)
		if _, err := os.Stat(dockerd); err != nil {
			return c, fmt.Errorf("%w: engines: node%d: %s missing (run hack/engine-26.1.sh): %w", ErrConfig, i, dockerd, err)
		}
	}
	return c, nil
}

func underRun(dir string) bool {
	for _, r := range []string{"/run", "/var/run"} {
		if dir == r || strings.HasPrefix(dir, r+"/") {
			return true
		}
	}
	return false
}

// zoneOf returns the zone of node i (1-based), or "" when it gets no zone label.
func (c Config) zoneOf(i int) string {
	if z, ok := c.ZoneOf[hostname(i)]; ok {
		return z
	}
	if len(c.Zones) == 0 {
		return ""
	}
	return c.Zones[(i-1)%len(c.Zones)]
}

func hostname(i int) string { return "node" + strconv.Itoa(i) }

func nodeDir(dir string, i int) string { return filepath.Join(dir, hostname(i)) }

func socketPath(dir string, i int) string { return filepath.Join(nodeDir(dir, i), "docker.sock") }

// NodeAddr is node i's address on instance 0's bridge, known before the lab is up (for
// certificates and listeners in DaemonArgs); Config.NodeAddr answers for any instance.
func NodeAddr(i int) string { return instance(0).nodeAddr(i).String() }

// Mixed returns an Engines map for a lab of n nodes that alternates between the engine at root
// and the host's: node1 (the first manager and initial leader) runs root iff leaderOnRoot, node2
// the other one, and so on.
func Mixed(n int, root string, leaderOnRoot bool) map[int]string {
	m := map[int]string{}
	for i := 1; i <= n; i++ {
		if (i%2 == 1) == leaderOnRoot {
			m[i] = root
		}
	}
	return m
}
