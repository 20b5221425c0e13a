//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/lab"
)

const drainedManagers = `  managers:
    count: %d
    availability: drain
  workers:
    availability: active
`

// Scenario 1: one manager grows to three then five over zones a, b, c; managers drained,
// workers active; the swarm's own node ls agrees.
func TestScaleOneToThreeToFiveOverThreeZones(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Nodes: 7, Managers: 1, Zones: []string{"a", "b", "c"}})
	node1 := l.Node(1)

	w := watch(t, l, 0)
	r := swarmtopo(t, node1, 5*time.Minute, "run", "--once", "-f", topology(t, sprintf(drainedManagers, 3)))
	if r.code != 0 {
		t.Fatalf("run --once to 3 managers: exit %d\n%s", r.code, r.stderr)
	}
	views := listNodes(t, l)
	if got := spread(views); got != "1-1-1" {
		t.Fatalf("after scaling to 3 the spread is %s (%s), want 1-1-1", got, managersByZone(views))
	}
	w.finish(t)

	w = watch(t, l, 1) // three reachable managers tolerate one failure; never less on the way to five
	r = swarmtopo(t, node1, 5*time.Minute, "run", "--once", "-f", topology(t, sprintf(drainedManagers, 5)))
	if r.code != 0 {
		t.Fatalf("run --once to 5 managers: exit %d\n%s", r.code, r.stderr)
	}
	w.finish(t)
	views = listNodes(t, l)
	if got := spread(views); got != "2-2-1" {
		t.Fatalf("after scaling to 5 the spread is %s (%s), want 2-2-1", got, managersByZone(views))
	}
	for _, v := range views {
		want := "active"
		if v.manager {
			want = "drain"
			if !v.reachable {
				t.Errorf("manager %s is not reachable", v.hostname)
			}
		}
		if v.availability != want {
			t.Errorf("%s (manager %v) is %s, want %s", v.hostname, v.manager, v.availability, want)
		}
	}
	ls := dockerNodeLs(t, node1)
	t.Logf("docker node ls:\n%s", ls)
	managers, drained := 0, 0
	for _, line := range strings.Split(ls, "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && (f[1] == "Leader" || f[1] == "Reachable") {
			managers++
			if f[2] == "Drain" {
				drained++
			}
		}
	}
	if managers != 5 || drained != 5 {
		t.Errorf("docker node ls shows %d reachable managers, %d drained; want 5 and 5", managers, drained)
	}

	again := swarmtopo(t, node1, time.Minute, "plan", "-f", topology(t, sprintf(drainedManagers, 5)))
	if again.code != 0 {
		t.Errorf("plan after convergence: exit %d, want 0 (converged)\n%s", again.code, again.stdout)
	}
}

// Scenario 2: three managers crowded in zone a move to one per zone without ever tolerating
// fewer than one failure.
func TestCrowdedManagersSpreadOverZones(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Nodes: 6, Managers: 3,
		ZoneOf: map[string]string{"node1": "a", "node2": "a", "node3": "a", "node4": "b", "node5": "c", "node6": "b"}})
	w := watch(t, l, 1)
	r := swarmtopo(t, l.Node(1), 5*time.Minute, "run", "--once", "-f", topology(t, "  managers:\n    count: 3\n"))
	w.finish(t)
	if r.code != 0 {
		t.Fatalf("run --once: exit %d\n%s", r.code, r.stderr)
	}
	views := listNodes(t, l)
	if got := spread(views); got != "1-1-1" {
		t.Fatalf("spread %s (%s), want 1-1-1", got, managersByZone(views))
	}
	if !views["node1"].manager {
		t.Errorf("the leader node1 was moved although another zone-a manager could go: %s", managersByZone(views))
	}
}

// Scenario 3: seven managers (3-2-2) scale down to three (1-1-1); the leader, which the file
// no longer allows as a manager, is demoted last.
func TestScaleDownSevenToThreeDemotesTheLeaderLast(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Nodes: 7, Managers: 7, Zones: []string{"a", "b", "c"}})
	leader, err := l.Leader(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The operator talks to a manager that stays; the leader is made ineligible by label.
	op := l.Node(2)
	if leader == op {
		op = l.Node(3)
	}
	body := "  managers:\n    count: 3\n    selector: {mgr: \"yes\"}\n" +
		"  labels:\n    - hostnames: [\"node*\"]\n      set: {mgr: \"yes\"}\n    - hostnames: [\"" + leader.Hostname + "\"]\n      set: {mgr: \"no\"}\n"
	w := watch(t, l, 1)
	r := swarmtopo(t, op, 8*time.Minute, "run", "--once", "-f", topology(t, body))
	// run --once ends as soon as it sees the leader's demotion settle; the watcher's next poll
	// may come after that (in CI it stopped first, twice).
	waitFor(t, 30*time.Second, "the watcher to see the leader leave the managers", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		_, ok := w.leftAt[leader.Hostname]
		return ok
	})
	w.finish(t)
	if r.code != 0 {
		t.Fatalf("run --once: exit %d\n%s", r.code, r.stderr)
	}
	views := listNodes(t, l)
	if got := spread(views); got != "1-1-1" {
		t.Fatalf("spread %s (%s), want 1-1-1", got, managersByZone(views))
	}
	if views[leader.Hostname].manager {
		t.Fatalf("the old leader %s is still a manager", leader.Hostname)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	last := w.leftAt[leader.Hostname]
	for h, at := range w.leftAt {
		if h != leader.Hostname && at > last {
			t.Errorf("%s left the managers (poll %d) after the leader %s (poll %d)", h, at, leader.Hostname, last)
		}
	}
	if len(w.leftAt) != 4 {
		t.Errorf("the watcher saw %d managers leave, want 4: %v", len(w.leftAt), w.leftAt)
	}
}
