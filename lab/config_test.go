package lab

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"
)

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Nodes: 3}.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}
	if c.Managers != 1 || c.Dir != DefaultDir || c.ZoneLabel != "az" || c.ReadyTimeout == 0 || c.StopTimeout == 0 {
		t.Errorf("defaults not filled: %+v", c)
	}
}

func TestConfigRejects(t *testing.T) {
	long := "/tmp/" + strings.Repeat("x", 90)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no nodes", Config{}},
		{"too many nodes", Config{Nodes: MaxNodes + 1}},
		{"more managers than nodes", Config{Nodes: 2, Managers: 3}},
		{"a relative dir", Config{Nodes: 1, Dir: "lab"}},
		{"the root dir", Config{Nodes: 1, Dir: "/"}},
		{"a dir with a space", Config{Nodes: 1, Dir: "/tmp/my lab"}},
		{"a dir with a quote", Config{Nodes: 1, Dir: "/tmp/x'y"}},
		{"a dir under /run, which each node hides", Config{Nodes: 1, Dir: "/run/lab"}},
		{"a dir under /var/run", Config{Nodes: 1, Dir: "/var/run/lab"}},
		{"a dir too long for socket paths", Config{Nodes: 1, Dir: long}},
		{"an empty zone name", Config{Nodes: 1, Zones: []string{"a", ""}}},
		{"an engine for a node the lab lacks", Config{Nodes: 2, Engines: map[int]string{3: "/tmp"}}},
		{"an engine root with a space", Config{Nodes: 1, Engines: map[int]string{1: "/tmp/my engine"}}},
		{"an engine root without a dockerd", Config{Nodes: 1, Engines: map[int]string{1: "/nonexistent-engine"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.cfg.withDefaults(); !errors.Is(err, ErrConfig) {
				t.Errorf("withDefaults(%+v) = %v, want ErrConfig", tt.cfg, err)
			}
		})
	}
}

func TestZones(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"no zones leaves nodes unlabelled", Config{Nodes: 3}, []string{"", "", ""}},
		{"zones go round robin", Config{Nodes: 5, Zones: []string{"a", "b", "c"}}, []string{"a", "b", "c", "a", "b"}},
		{"an explicit map wins over round robin",
			Config{Nodes: 4, Zones: []string{"a", "b"}, ZoneOf: map[string]string{"node1": "c", "node4": "c"}},
			[]string{"c", "b", "a", "c"}},
		{"an explicit map alone labels only its nodes",
			Config{Nodes: 3, ZoneOf: map[string]string{"node2": "x"}}, []string{"", "x", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for i := 1; i <= tt.cfg.Nodes; i++ {
				got = append(got, tt.cfg.zoneOf(i))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("zones = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNaming(t *testing.T) {
	k := instance(0)
	if got := k.nodeAddr(1).String(); got != "10.213.7.11" || NodeAddr(1) != got {
		t.Errorf("nodeAddr(1) = %s, NodeAddr(1) = %s", got, NodeAddr(1))
	}
	if got := k.withMask(k.bridgeAddr()); got != "10.213.7.1/24" {
		t.Errorf("bridge address = %s", got)
	}
	l := newLab(Config{Nodes: 12, Dir: "/tmp/l", Zones: []string{"a"}})
	n := l.Node(12)
	if n.Hostname != "node12" || n.Netns != "stlab12" || n.Veth != "stveth12" ||
		n.Socket != "/tmp/l/node12/docker.sock" || n.DockerHost() != "unix:///tmp/l/node12/docker.sock" ||
		n.Addr != "10.213.7.22" || n.Zone != "a" {
		t.Errorf("node 12 = %+v", n)
	}
	if k.bridge() != "stbr0" || k.dir() != "/tmp/swarmtopo-lab" || filepath.Base(k.lockPath()) != "swarmtopo-lab.lock" {
		t.Errorf("instance 0: bridge %s dir %s lock %s", k.bridge(), k.dir(), k.lockPath())
	}
}

func TestInstanceNaming(t *testing.T) {
	c, err := Config{Nodes: 3, Instance: 2}.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}
	if c.Dir != "/tmp/swarmtopo-lab-2" || InstanceDir(2) != c.Dir || InstanceDir(0) != DefaultDir {
		t.Errorf("instance 2 dir = %s, InstanceDir(2) = %s", c.Dir, InstanceDir(2))
	}
	l := newLab(c)
	n := l.Node(3)
	if n.Netns != "st2lab3" || n.Veth != "st2veth3" || n.Addr != "10.213.9.13" || c.NodeAddr(3) != n.Addr {
		t.Errorf("instance 2 node 3 = %+v, NodeAddr %s", n, c.NodeAddr(3))
	}
	k := instance(2)
	if k.bridge() != "stbr2" || k.withMask(k.bridgeAddr()) != "10.213.9.1/24" ||
		filepath.Base(k.lockPath()) != "swarmtopo-lab-2.lock" ||
		strings.Join(k.forwardRule(), " ") != "FORWARD -i stbr2 -o stbr2 -j ACCEPT" {
		t.Errorf("instance 2: bridge %s %s lock %s rule %q", k.bridge(), k.withMask(k.bridgeAddr()), k.lockPath(), k.forwardRule())
	}
	for inst := 0; inst <= MaxInstance; inst++ {
		k := instance(inst)
		if v := k.vethName(MaxNodes); len(v) > 15 {
			t.Errorf("veth name %q is longer than IFNAMSIZ allows", v)
		}
		if b := k.bridge(); len(b) > 15 {
			t.Errorf("bridge name %q is longer than IFNAMSIZ allows", b)
		}
		// No instance's listing may claim another's names, or Cleanup of one would tear
		// down the other.
		for other := 0; other <= MaxInstance; other++ {
			o := instance(other)
			for _, i := range []int{1, 9, 12, MaxNodes} {
				if got := k.netnsPattern().MatchString(o.netnsName(i)); got != (inst == other) {
					t.Errorf("instance %d's namespace pattern matches %q: %t", inst, o.netnsName(i), got)
				}
				if got := k.vethPattern().MatchString(o.vethName(i)); got != (inst == other) {
					t.Errorf("instance %d's veth pattern matches %q: %t", inst, o.vethName(i), got)
				}
			}
			if inst != other && (k.bridge() == o.bridge() || k.subnet().Overlaps(o.subnet()) || k.dir() == o.dir() || k.lockPath() == o.lockPath()) {
				t.Errorf("instances %d and %d share a bridge, subnet, dir or lock", inst, other)
			}
		}
	}
	for _, bad := range []int{-1, MaxInstance + 1} {
		if _, err := (Config{Nodes: 1, Instance: bad}).withDefaults(); !errors.Is(err, ErrConfig) {
			t.Errorf("instance %d: withDefaults = %v, want ErrConfig", bad, err)
		}
	}
}

func TestStateKeepsInstance(t *testing.T) {
	cfg, err := Config{Nodes: 2, Instance: 4, Dir: t.TempDir()}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if err := newLab(cfg).saveState(); err != nil {
		t.Fatalf("saveState: %v", err)
	}
	l, err := Load(cfg.Dir, logr.Discard())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if l.Config().Instance != 4 || l.Node(2).Netns != "st4lab2" || l.Node(2).Addr != "10.213.11.12" {
		t.Errorf("loaded instance %d, node2 %+v", l.Config().Instance, l.Node(2))
	}
}

func TestMixed(t *testing.T) {
	tests := []struct {
		n            int
		leaderOnRoot bool
		want         []int
	}{
		{5, true, []int{1, 3, 5}},
		{5, false, []int{2, 4}},
		{4, true, []int{1, 3}},
		{1, false, nil},
		{0, true, nil},
	}
	for _, tt := range tests {
		m := Mixed(tt.n, "/opt/e", tt.leaderOnRoot)
		var got []int
		for i := 1; i <= tt.n; i++ {
			if r, ok := m[i]; ok {
				if r != "/opt/e" {
					t.Errorf("Mixed(%d, %t)[%d] = %q", tt.n, tt.leaderOnRoot, i, r)
				}
				got = append(got, i)
			}
		}
		if len(m) != len(got) || !slices.Equal(got, tt.want) {
			t.Errorf("Mixed(%d, %t) = %v, want nodes %v on the engine", tt.n, tt.leaderOnRoot, m, tt.want)
		}
	}
}

func TestNodeOutOfRangePanics(t *testing.T) {
	l := newLab(Config{Nodes: 2, Dir: "/tmp/l"})
	defer func() {
		if recover() == nil {
			t.Error("Node(3) on a 2-node lab did not panic")
		}
	}()
	l.Node(3)
}

func TestScriptRunsDockerdUnderTini(t *testing.T) {
	l := newLab(Config{Nodes: 1, Dir: "/tmp/l"})
	dockerd, binDir := l.cfg.engineDockerd(1)
	s := script(l.Node(1), "/usr/bin/tini", dockerd, binDir)
	for _, want := range []string{
		"hostname node1",
		"mount -t tmpfs -o mode=0755 tmpfs /run",
		"mount --bind /tmp/l/node1/etc /etc/docker",
		"exec /usr/bin/tini -- dockerd",
		"--data-root /tmp/l/node1/data",
		"-H unix:///var/run/docker.sock -H unix:///tmp/l/node1/docker.sock",
		"--bridge=none --iptables=false --ip-masq=false",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "--exec-root") {
		t.Errorf("script sets an exec-root; it must stay in the node's private /run:\n%s", s)
	}
}

func TestScriptRunsAnotherEngine(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "usr", "sbin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr", "sbin", "dockerd"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := Config{Nodes: 2, Dir: "/tmp/l", Engines: map[int]string{2: root}}.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}
	l := newLab(cfg)
	d1, b1 := cfg.engineDockerd(1)
	if s := script(l.Node(1), "/usr/bin/tini", d1, b1); !strings.Contains(s, "exec /usr/bin/tini -- dockerd ") || strings.Contains(s, "PATH=") {
		t.Errorf("node1 must run the host's dockerd with the host's PATH:\n%s", s)
	}
	d2, b2 := cfg.engineDockerd(2)
	s := script(l.Node(2), "/usr/bin/tini", d2, b2)
	for _, want := range []string{
		"export PATH=" + root + "/usr/bin:",
		":/usr/sbin:", // the host's runc
		"exec /usr/bin/tini -- " + root + "/usr/sbin/dockerd --config-file /tmp/l/node2/daemon.json",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("node2 script lacks %q:\n%s", want, s)
		}
	}
}
