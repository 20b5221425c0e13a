package observe

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// fixtures are `docker node inspect` of the real five-node lab swarm, read through two engines.
var fixtures = []string{
	"../testdata/engine-20.10-mixed-5-nodes-one-unreachable.json",
	"../testdata/engine-26.1-mixed-5-nodes-one-unreachable.json",
}

// labNodes is what both fixtures must parse to, sorted by hostname.
var labNodes = []reconcile.Node{
	{ID: "5j8oben3vcjddow95475r5xzu", Version: 43, Hostname: "node1", DesiredRole: reconcile.RoleManager,
		Availability: spec.AvailabilityDrain, Labels: map[string]string{"az": "a"}, State: reconcile.StateReady,
		Member: true, Reachability: reconcile.ReachabilityReachable, Leader: true, Addr: "10.213.7.11:2377"},
	{ID: "vjdkl0bmwirftfnnic3tfm89e", Version: 38, Hostname: "node2", DesiredRole: reconcile.RoleManager,
		Availability: spec.AvailabilityActive, Labels: map[string]string{"az": "b"}, State: reconcile.StateReady,
		Member: true, Reachability: reconcile.ReachabilityUnreachable, Addr: "10.213.7.12:2377"},
	{ID: "8fuz4kpuu76g57dklc8z3razy", Version: 44, Hostname: "node3", DesiredRole: reconcile.RoleWorker,
		Availability: spec.AvailabilityActive, Labels: map[string]string{"az": "c", "mgr": "yes"}, State: reconcile.StateReady},
	{ID: "oy07p3y62zs33plgeg2rf9sah", Version: 40, Hostname: "node4", DesiredRole: reconcile.RoleManager,
		Availability: spec.AvailabilityActive, Labels: map[string]string{"az": "a"}, State: reconcile.StateReady,
		Member: true, Reachability: reconcile.ReachabilityReachable, Addr: "10.213.7.14:2377"},
	{ID: "362yz8xwrxh4io9ohutnpscci", Version: 32, Hostname: "node5", DesiredRole: reconcile.RoleWorker,
		Availability: spec.AvailabilityActive, Labels: map[string]string{"az": "b"}, State: reconcile.StateReady},
}

func readFixture(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return data
}

func byHostname(t *testing.T, s reconcile.Snapshot, host string) reconcile.Node {
	t.Helper()
	for _, n := range s.Nodes {
		if n.Hostname == host {
			return n
		}
	}
	t.Fatalf("no node with hostname %q", host)
	return reconcile.Node{}
}

func TestParseInspectReadsTheRealLabSwarm(t *testing.T) {
	tests := []struct {
		name  string
		check func(t *testing.T, s reconcile.Snapshot)
	}{
		{"the swarm has five nodes in hostname order", func(t *testing.T, s reconcile.Snapshot) {
			var got []string
			for _, n := range s.Nodes {
				got = append(got, n.Hostname)
			}
			if want := []string{"node1", "node2", "node3", "node4", "node5"}; !reflect.DeepEqual(got, want) {
				t.Errorf("hostnames = %v, want %v", got, want)
			}
		}},
		{"node1 is the leader, a reachable manager, and drained", func(t *testing.T, s reconcile.Snapshot) {
			n := byHostname(t, s, "node1")
			if !n.Leader || !n.Member || n.Reachability != reconcile.ReachabilityReachable || n.Availability != spec.AvailabilityDrain {
				t.Errorf("node1 = %+v", n)
			}
		}},
		{"node2 is a member that is unreachable while its state is still ready", func(t *testing.T, s reconcile.Snapshot) {
			n := byHostname(t, s, "node2")
			if !n.Member || n.Leader || n.Reachability != reconcile.ReachabilityUnreachable || n.State != reconcile.StateReady {
				t.Errorf("node2 = %+v", n)
			}
		}},
		{"node4 is a reachable manager but not the leader", func(t *testing.T, s reconcile.Snapshot) {
			n := byHostname(t, s, "node4")
			if !n.Member || n.Leader || n.Reachability != reconcile.ReachabilityReachable || n.DesiredRole != reconcile.RoleManager {
				t.Errorf("node4 = %+v", n)
			}
		}},
		{"node3 and node5 are workers outside the raft member list", func(t *testing.T, s reconcile.Snapshot) {
			for _, h := range []string{"node3", "node5"} {
				n := byHostname(t, s, h)
				if n.Member || n.DesiredRole != reconcile.RoleWorker || n.Reachability != "" || n.Addr != "" {
					t.Errorf("%s = %+v", h, n)
				}
			}
		}},
		{"every node carries its az label", func(t *testing.T, s reconcile.Snapshot) {
			want := map[string]string{"node1": "a", "node2": "b", "node3": "c", "node4": "a", "node5": "b"}
			for _, n := range s.Nodes {
				if n.Labels["az"] != want[n.Hostname] {
					t.Errorf("%s: az = %q, want %q", n.Hostname, n.Labels["az"], want[n.Hostname])
				}
			}
		}},
		{"every field the planner uses matches the fixture", func(t *testing.T, s reconcile.Snapshot) {
			if !reflect.DeepEqual(s.Nodes, labNodes) {
				t.Errorf("nodes =\n%+v\nwant\n%+v", s.Nodes, labNodes)
			}
		}},
		{"self and time stay zero for the caller to set", func(t *testing.T, s reconcile.Snapshot) {
			if s.Self != "" || !s.Time.IsZero() || s.ClusterError != "" {
				t.Errorf("self = %q, time = %v, clusterError = %q", s.Self, s.Time, s.ClusterError)
			}
		}},
	}
	for _, path := range fixtures {
		s, err := ParseInspect(readFixture(t, path))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, tt := range tests {
			t.Run(filepath.Base(path)+"/"+tt.name, func(t *testing.T) { tt.check(t, s) })
		}
	}
}

// node returns one valid `docker node inspect` entry as a map, for tests to break.
func node(id, hostname string) map[string]any {
	return map[string]any{
		"ID":          id,
		"Version":     map[string]any{"Index": 7},
		"CreatedAt":   "2026-11-27T12:42:48.3150636Z",
		"Spec":        map[string]any{"Labels": map[string]any{"az": "a"}, "Role": "manager", "Availability": "active"},
		"Description": map[string]any{"Hostname": hostname, "Platform": map[string]any{"OS": "linux"}},
		"Status":      map[string]any{"State": "ready", "Addr": "10.0.0.1"},
		"ManagerStatus": map[string]any{
			"Reachability": "reachable", "Addr": "10.0.0.1:2377",
		},
	}
}

// set changes the value at a dotted path of m.
func set(m map[string]any, path string, v any) map[string]any {
	keys := strings.Split(path, ".")
	cur := m
	for _, k := range keys[:len(keys)-1] {
		cur = cur[k].(map[string]any)
	}
	cur[keys[len(keys)-1]] = v
	return m
}

func del(m map[string]any, path string) map[string]any {
	keys := strings.Split(path, ".")
	cur := m
	for _, k := range keys[:len(keys)-1] {
		cur = cur[k].(map[string]any)
	}
	delete(cur, keys[len(keys)-1])
	return m
}

func array(t *testing.T, nodes ...any) string {
	t.Helper()
	b, err := json.Marshal(nodes)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseInspectRejectsWhatThePlannerCannotTrust(t *testing.T) {
	tests := []struct {
		name  string
		input func(t *testing.T) string
		want  []string
	}{
		{"empty input is not a snapshot", func(*testing.T) string { return "" },
			[]string{"empty input", "docker node inspect"}},
		{"whitespace only is empty input", func(*testing.T) string { return " \n\t" },
			[]string{"empty input"}},
		{"a single object is not an array", func(t *testing.T) string { return `{"ID":"x"}` },
			[]string{"not a JSON array", "an object"}},
		{"null is not an array", func(*testing.T) string { return "null" },
			[]string{"not a JSON array", "null"}},
		{"UTF-16 text from a Windows shell is named", func(*testing.T) string { return "\xff\xfe[\x00]\x00" },
			[]string{"UTF-16", "UTF-8"}},
		{"an empty array has no nodes", func(*testing.T) string { return " [ ] " },
			[]string{"no nodes"}},
		{"truncated JSON names the line and column", func(*testing.T) string { return "[\n  {\"ID\": \"a\",\n" },
			[]string{"line 3, column 1", "unexpected end of JSON input"}},
		{"a syntax error names the line and column", func(*testing.T) string { return "\n[\n  {\"ID\": \"a\"}}\n]" },
			[]string{"line 3, column 15", "invalid character '}'"}},
		{"an entry that is a number is not a node", func(t *testing.T) string { return array(t, node("a", "h1"), 5) },
			[]string{"node [1]", "not a JSON object", "a number"}},
		{"a node without an ID is named by index and hostname", func(t *testing.T) string {
			return array(t, node("a", "h1"), del(node("", "h2"), "ID"))
		}, []string{`node [1] (hostname "h2")`, "ID: missing"}},
		{"two nodes with one ID are both named", func(t *testing.T) string {
			return array(t, node("a", "h1"), node("b", "h2"), node("a", "h3"))
		}, []string{`node [2] (ID "a", hostname "h3")`, "ID: same ID as node [0]"}},
		{"an unknown role is refused", func(t *testing.T) string { return array(t, set(node("a", "h1"), "Spec.Role", "boss")) },
			[]string{`node [0] (ID "a", hostname "h1")`, `Spec.Role: unknown value "boss"; want "manager" or "worker"`}},
		{"a missing role is refused", func(t *testing.T) string { return array(t, del(node("a", "h1"), "Spec.Role")) },
			[]string{"Spec.Role: missing"}},
		{"an unknown availability is refused", func(t *testing.T) string {
			return array(t, set(node("a", "h1"), "Spec.Availability", "paused"))
		}, []string{`Spec.Availability: unknown value "paused"; want "active", "pause" or "drain"`}},
		{"an unknown state is refused", func(t *testing.T) string { return array(t, set(node("a", "h1"), "Status.State", "Ready")) },
			[]string{`Status.State: unknown value "Ready"`}},
		{"a missing state is refused", func(t *testing.T) string { return array(t, del(node("a", "h1"), "Status")) },
			[]string{"Status.State: missing"}},
		{"an unknown reachability is refused", func(t *testing.T) string {
			return array(t, set(node("a", "h1"), "ManagerStatus.Reachability", "gone"))
		}, []string{`ManagerStatus.Reachability: unknown value "gone"; want "reachable", "unreachable" or "unknown"`}},
		{"a manager status without reachability is refused", func(t *testing.T) string {
			return array(t, set(node("a", "h1"), "ManagerStatus", map[string]any{"Leader": true}))
		}, []string{"ManagerStatus.Reachability: missing"}},
		{"a negative version is refused", func(t *testing.T) string { return array(t, set(node("a", "h1"), "Version.Index", -1)) },
			[]string{"Version.Index: -1 is not a whole number"}},
		{"a fractional version is refused", func(t *testing.T) string { return array(t, set(node("a", "h1"), "Version.Index", 1.5)) },
			[]string{"Version.Index: 1.5 is not a whole number"}},
		{"a label that is not a string names its key", func(t *testing.T) string {
			return array(t, set(node("a", "h1"), "Spec.Labels.az", 3))
		}, []string{`node [0] (ID "a", hostname "h1")`, "Spec.Labels.az: JSON number where a string belongs"}},
		{"a leader flag that is not a boolean is refused", func(t *testing.T) string {
			return array(t, set(node("a", "h1"), "ManagerStatus.Leader", "yes"))
		}, []string{"ManagerStatus.Leader: JSON string where true or false belongs"}},
		{"an ID that is not a string still names the hostname", func(t *testing.T) string {
			return array(t, set(node("a", "h1"), "ID", 12))
		}, []string{`node [0] (hostname "h1")`, "ID: JSON number where a string belongs"}},
		{"labels that are a list are refused", func(t *testing.T) string {
			return array(t, set(node("a", "h1"), "Spec.Labels", []string{"az=a"}))
		}, []string{"Spec.Labels: JSON array where an object belongs"}},
		{"two leaders mean the snapshot caught an election", func(t *testing.T) string {
			return array(t, set(node("a", "h1"), "ManagerStatus.Leader", true), set(node("b", "h2"), "ManagerStatus.Leader", true))
		}, []string{`node [1] (ID "b", hostname "h2")`, "node [0] is leader too", "take it again"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseInspect([]byte(tt.input(t)))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalidSnapshot) {
				t.Errorf("error %q does not wrap ErrInvalidSnapshot", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestParseInspectIsLenientWhereThePlannerDoesNotLook(t *testing.T) {
	tests := []struct {
		name  string
		input map[string]any
		check func(t *testing.T, n reconcile.Node)
	}{
		{"fields a newer engine adds are ignored", set(set(node("a", "h1"), "Shiny", []int{1}), "Spec.Future", map[string]any{"x": 1}),
			func(t *testing.T, n reconcile.Node) {
				if n.ID != "a" {
					t.Errorf("ID = %q", n.ID)
				}
			}},
		{"a node that never reported its description has an empty hostname", del(node("a", "h1"), "Description"),
			func(t *testing.T, n reconcile.Node) {
				if n.Hostname != "" {
					t.Errorf("hostname = %q", n.Hostname)
				}
			}},
		{"a timestamp in an odd format is not read", set(node("a", "h1"), "CreatedAt", "yesterday"),
			func(t *testing.T, n reconcile.Node) {
				if n.State != reconcile.StateReady {
					t.Errorf("state = %q", n.State)
				}
			}},
		{"a missing version reads as zero", del(node("a", "h1"), "Version"),
			func(t *testing.T, n reconcile.Node) {
				if n.Version != 0 {
					t.Errorf("version = %d", n.Version)
				}
			}},
		{"a null manager status means a worker's observed role", set(set(node("a", "h1"), "ManagerStatus", nil), "Spec.Role", "worker"),
			func(t *testing.T, n reconcile.Node) {
				if n.Member || n.Reachability != "" {
					t.Errorf("node = %+v", n)
				}
			}},
		{"a node asked to be a worker that is still a member keeps both facts", set(node("a", "h1"), "Spec.Role", "worker"),
			func(t *testing.T, n reconcile.Node) {
				if !n.Member || n.DesiredRole != reconcile.RoleWorker {
					t.Errorf("node = %+v", n)
				}
			}},
		{"a node without labels has nil labels", set(node("a", "h1"), "Spec.Labels", map[string]any{}),
			func(t *testing.T, n reconcile.Node) {
				if n.Labels != nil {
					t.Errorf("labels = %#v", n.Labels)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseInspect([]byte(array(t, tt.input)))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Nodes) != 1 {
				t.Fatalf("got %d nodes, want 1", len(s.Nodes))
			}
			tt.check(t, s.Nodes[0])
		})
	}
}

func TestParseInspectSkipsAByteOrderMark(t *testing.T) {
	data := append([]byte("\xef\xbb\xbf"), readFixture(t, fixtures[0])...)
	s, err := ParseInspect(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Nodes, labNodes) {
		t.Errorf("nodes = %+v", s.Nodes)
	}
}

func TestParseInspectOrdersNodesByHostnameThenID(t *testing.T) {
	in := array(t, node("c", "b-host"), node("z", "a-host"), node("a", "b-host"))
	s, err := ParseInspect([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range s.Nodes {
		got = append(got, n.Hostname+"/"+n.ID)
	}
	if want := []string{"a-host/z", "b-host/a", "b-host/c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	if !s.Time.Equal(time.Time{}) {
		t.Errorf("time = %v, want zero", s.Time)
	}
}
