//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/lab"
)

// Scenario 4: a manager's dockerd is killed; after the grace period the operator demotes the
// dead manager (with one of three away, a fourth member would leave 2 of 4 reachable until it
// joined), promotes a replacement in the same zone, and removes the dead one.
func TestUnreachableManagerIsReplacedInItsZone(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Nodes: 6, Managers: 3, Zones: []string{"a", "b", "c"}})
	file := topology(t, "  managers:\n    count: 3\n  policy:\n    replaceUnreachableAfter: 10s\n    removeDownNodes: true\n")
	p := startSwarmtopo(t, l.Node(1), "run", "-f", file, "--resync", "2s")
	p.waitLog(t, time.Minute, "Controller started")

	w := watch(t, l, 0) // with one of three managers dead the swarm tolerates no further failure
	killed := time.Now()
	if err := l.Kill(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 4*time.Minute, "node5 to replace node2 and node2 to be removed", func() bool {
		views, err := tryListNodes(l)
		if err != nil {
			return false
		}
		_, present := views["node2"]
		return !present && views["node5"].manager && views["node5"].reachable
	})
	replaced := time.Since(killed)
	w.finish(t)
	if code := p.stop(t); code != 0 {
		t.Errorf("swarmtopo run exited %d after SIGTERM, want 0", code)
	}
	views := listNodes(t, l)
	if got := managersByZone(views); got != "a:node1 b:node5 c:node3" {
		t.Errorf("managers %s, want a:node1 b:node5 c:node3", got)
	}
	steps := p.appliedSteps()
	t.Logf("replaced in %.1fs (grace 10s) with steps %v", replaced.Seconds(), steps)
	if strings.Join(steps, ", ") != "demote node2, promote node5, remove node2" {
		t.Errorf("steps sent %v, want demote node2, promote node5, remove node2", steps)
	}
	if replaced < 10*time.Second {
		t.Errorf("replaced after %s, before the 10s grace period ended", replaced)
	}
}

// Scenario 5: two of three managers are killed. The survivor soon answers every node call with
// "The swarm does not have a leader" (and calls can hang first): run --once and plan report
// blocked with exit 3 in bounded time, say what a human can do, and change nothing.
func TestQuorumLossBlocksWithoutAnyChange(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Nodes: 5, Managers: 3, Zones: []string{"a", "b", "c"}})
	before := listNodes(t, l)
	file := topology(t, "  managers:\n    count: 3\n    availability: drain\n")
	for _, i := range []int{2, 3} {
		if err := l.Kill(t.Context(), i); err != nil {
			t.Fatal(err)
		}
	}
	// Act once the survivor can tell: in the first moments after a crash raft still counts
	// the dead managers as reachable, and a write sent then waits in the leader's log.
	waitFor(t, time.Minute, "node1 to see quorum lost", func() bool {
		nodes, err := nodeList(l.Node(1))
		if err != nil {
			return true
		}
		r := 0
		for _, n := range nodes {
			if n.ManagerStatus != nil && n.ManagerStatus.Reachability == "reachable" {
				r++
			}
		}
		return r < 2
	})
	for _, args := range [][]string{
		{"run", "--once", "-f", file},
		{"plan", "-f", file, "-o", "json"},
		{"run", "--once", "-f", file}, // again, once the survivor answers "no leader" at once
	} {
		r := swarmtopo(t, l.Node(1), 3*time.Minute, args...)
		if r.code != 3 {
			t.Fatalf("swarmtopo %v: exit %d, want 3 (blocked)\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, "force-new-cluster") {
			t.Errorf("swarmtopo %v does not say what a human can do:\n%s", args, r.stdout)
		}
		if strings.Contains(r.stderr, `"msg":"Step sent"`) {
			t.Errorf("swarmtopo %v sent a step while quorum was lost:\n%s", args, r.stderr)
		}
		if args[0] == "plan" {
			var plan struct {
				Blocked string            `json:"blocked"`
				Steps   []json.RawMessage `json:"steps"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil || plan.Blocked == "" || len(plan.Steps) != 0 {
				t.Errorf("plan -o json while blocked: %v %+v\n%s", err, plan, r.stdout)
			}
		}
	}
	// Later the survivor answers every node call with "The swarm does not have a leader"
	// (after calls that hang): still blocked, in bounded time, with nothing sent.
	waitFor(t, 2*time.Minute, `node1 to answer "does not have a leader"`, func() bool {
		_, err := nodeList(l.Node(1))
		return err != nil && strings.Contains(err.Error(), "does not have a leader")
	})
	for _, args := range [][]string{{"run", "--once", "-f", file}, {"plan", "-f", file}} {
		r := swarmtopo(t, l.Node(1), 3*time.Minute, args...)
		if r.code != 3 || !strings.Contains(r.stdout, "force-new-cluster") || strings.Contains(r.stderr, `"msg":"Step sent"`) {
			t.Errorf("swarmtopo %v with no leader: exit %d, want 3 with advice and no step\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
		}
	}
	// Bring the managers back: the roles and availability nobody touched are as they were.
	for _, i := range []int{2, 3} {
		if err := l.Start(t.Context(), i); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 2*time.Minute, "quorum to come back", func() bool {
		views, err := tryListNodes(l)
		if err != nil {
			return false
		}
		r := 0
		for _, v := range views {
			if v.reachable {
				r++
			}
		}
		return r == 3
	})
	after := listNodes(t, l)
	for h, b := range before {
		a := after[h]
		if a.manager != b.manager || a.availability != b.availability {
			t.Errorf("%s changed while quorum was lost: manager %v→%v, availability %s→%s", h, b.manager, a.manager, b.availability, a.availability)
		}
	}
}

// Scenario 6: the operator is SIGKILLed right after it sent a promote. Started again, it
// converges with no extra role change: the promote in flight is waited for, not repeated.
func TestOperatorKilledAfterPromoteConvergesWithoutExtraRoleChanges(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Nodes: 5, Managers: 1, Zones: []string{"a", "b", "c"}})
	file := topology(t, "  managers:\n    count: 3\n")
	w := watch(t, l, 0)
	p := startSwarmtopo(t, l.Node(1), "run", "-f", file)
	sent := p.waitLog(t, 2*time.Minute, "Step sent", "action", "promote")
	p.signal(syscall.SIGKILL)
	<-p.done
	first := fmt.Sprint(sent["hostname"])
	t.Logf("killed the operator right after it sent: promote %s", first)

	r := swarmtopo(t, l.Node(1), 5*time.Minute, "run", "--once", "-f", file)
	w.finish(t)
	if r.code != 0 {
		t.Fatalf("run --once after the kill: exit %d\n%s", r.code, r.stderr)
	}
	var steps []string
	for _, line := range strings.Split(r.stderr, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "Step sent" {
			steps = append(steps, fmt.Sprintf("%v %v", m["action"], m["hostname"]))
		}
	}
	if len(steps) != 1 || !strings.HasPrefix(steps[0], "promote ") || steps[0] == "promote "+first {
		t.Errorf("the second run sent %v; want exactly one promote, of a node other than %s", steps, first)
	}
	views := listNodes(t, l)
	if got := spread(views); got != "1-1-1" {
		t.Errorf("spread %s (%s), want 1-1-1", got, managersByZone(views))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.leftAt) != 0 {
		t.Errorf("managers were demoted: %v", w.leftAt)
	}
}

// Scenario 8: plan and --dry-run against the live lab make no mutating call: node versions
// and specs do not move.
func TestDryRunAndPlanChangeNothing(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Nodes: 5, Managers: 1, Zones: []string{"a", "b", "c"}})
	file := topology(t, "  managers:\n    count: 3\n    availability: drain\n  workers:\n    availability: pause\n")
	before := listNodes(t, l)
	if r := swarmtopo(t, l.Node(1), time.Minute, "plan", "-f", file); r.code != 2 {
		t.Fatalf("plan: exit %d, want 2 (steps pending)\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := swarmtopo(t, l.Node(1), time.Minute, "run", "--dry-run", "--once", "-f", file); r.code != 2 {
		t.Fatalf("run --dry-run --once: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	p := startSwarmtopo(t, l.Node(1), "run", "--dry-run", "-f", file, "--resync", "1s")
	p.waitLog(t, time.Minute, "Controller started")
	time.Sleep(5 * time.Second)
	if code := p.stop(t); code != 0 {
		t.Errorf("run --dry-run exited %d after SIGTERM", code)
	}
	if steps := p.appliedSteps(); len(steps) != 0 {
		t.Errorf("dry run sent steps: %v", steps)
	}
	after := listNodes(t, l)
	for h, b := range before {
		a := after[h]
		if a.version != b.version || a.manager != b.manager || a.availability != b.availability {
			t.Errorf("%s moved: version %d→%d, manager %v→%v, availability %s→%s", h, b.version, a.version, b.manager, a.manager, b.availability, a.availability)
		}
	}
}
