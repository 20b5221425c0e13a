package progress

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/reconcile"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// plain renders without colours, so the goldens are the text a terminal shows.
func plain() Styles {
	r := lipgloss.NewRenderer(&bytes.Buffer{})
	r.SetColorProfile(termenv.Ascii)
	return NewStyles(r)
}

func steps() []reconcile.Step {
	return []reconcile.Step{
		{Action: reconcile.ActionLabel, Node: "id1", Hostname: "node1", Zone: "a",
			Labels: &reconcile.LabelChange{Add: map[string]string{"dev.swarmtopo.managed-labels": "az"}},
			Reason: "record which labels swarmtopo manages"},
		{Action: reconcile.ActionPromote, Node: "id2", Hostname: "node2", Zone: "b", Reason: "zone b has 0 healthy managers, the spread wants 1"},
		{Action: reconcile.ActionDrain, Node: "id2", Hostname: "node2", Zone: "b", Reason: "spec.managers.availability is drain: managers are manager-only", FaultTolerance: 0},
		{Action: reconcile.ActionPromote, Node: "id3", Hostname: "node3", Zone: "c", Reason: "zone c has 0 healthy managers, the spread wants 1", FaultTolerance: 1},
		{Action: reconcile.ActionDrain, Node: "id3", Hostname: "node3", Zone: "c", Reason: "spec.managers.availability is drain: managers are manager-only", FaultTolerance: 1},
	}
}

// planOf is the plan of the remaining steps from i on, with managers counted from how many
// promotes are done.
func planOf(i int) *reconcile.Plan {
	all := steps()
	mgrs := 1
	for _, st := range all[:i] {
		if st.Action == reconcile.ActionPromote {
			mgrs++
		}
	}
	ft := reconcile.FaultTolerance(mgrs, mgrs)
	return &reconcile.Plan{
		Steps:  append([]reconcile.Step(nil), all[i:]...),
		Before: reconcile.Summary{Managers: mgrs, Reachable: mgrs, FaultTolerance: ft},
		After:  reconcile.Summary{Managers: 3, Reachable: 3, FaultTolerance: 1},
		Floor:  ft,
	}
}

func refused() controller.StepResult {
	return controller.StepResult{Step: steps()[1], Result: controller.ResultRefused,
		Err: errors.New("would leave fault tolerance -1, below the floor 0")}
}

func ok(st reconcile.Step, settle time.Duration, ft int) controller.StepResult {
	return controller.StepResult{Step: st, Result: controller.ResultOK, Settle: settle, FaultToleranceBefore: ft, FaultToleranceAfter: ft}
}

// run drives a model through a whole --once run: each step is planned at a whole second and
// settles after the given time, as the controller reports it.
func run(m *Model, upto int) {
	all := steps()
	now := time.Second
	for i := 0; i < upto; i++ {
		m.Plan(planOf(i), at(now))
		now += time.Duration(i+1) * 700 * time.Millisecond
		ft := 0
		if i >= 3 {
			ft = 1
		}
		m.Step(ok(all[i], time.Duration(i+1)*700*time.Millisecond, ft), at(now))
		m.Pass(controller.Result{RequeueNow: true}, nil, at(now))
	}
	m.Plan(planOf(upto), at(now))
}

func TestViewGolden(t *testing.T) {
	cases := []struct {
		name          string
		width, height int
		model         func() *Model
	}{
		{"observing", 100, 40, func() *Model { return NewModel("lab", t0) }},
		{"first-step", 100, 40, func() *Model {
			m := NewModel("lab", t0)
			m.Plan(planOf(0), at(time.Second))
			m.Tick(at(1500 * time.Millisecond))
			return m
		}},
		{"mid-run", 100, 40, func() *Model {
			m := NewModel("lab", t0)
			run(m, 3)
			m.Tick(m.now.Add(3200 * time.Millisecond))
			return m
		}},
		{"narrow", 60, 40, func() *Model {
			m := NewModel("lab", t0)
			run(m, 2)
			return m
		}},
		{"short-window", 100, 9, func() *Model {
			m := NewModel("lab", t0)
			run(m, 3)
			return m
		}},
		{"refused", 100, 40, func() *Model {
			m := NewModel("lab", t0)
			run(m, 1)
			m.Step(refused(), at(3*time.Second))
			return m
		}},
		{"retried", 100, 40, func() *Model {
			m := NewModel("lab", t0)
			run(m, 1)
			m.Step(refused(), at(3*time.Second))
			m.Pass(controller.Result{RequeueAfter: 2 * time.Second}, nil, at(3*time.Second))
			m.Plan(planOf(1), at(5*time.Second))
			m.Tick(at(6 * time.Second))
			return m
		}},
		{"in-flight", 100, 40, func() *Model {
			m := NewModel("lab", t0)
			p := planOf(2)
			p.InFlight = []reconcile.InFlight{{Node: "id2", Hostname: "node2", To: reconcile.RoleManager}}
			m.Plan(p, at(time.Second))
			return m
		}},
		{"converged", 100, 40, func() *Model {
			m := NewModel("lab", t0)
			run(m, 5)
			m.Finish(planOf(5), nil, m.now)
			return m
		}},
		{"blocked", 100, 40, func() *Model {
			m := NewModel("lab", t0)
			p := planOf(0)
			p.Steps = nil
			p.Blocked = "quorum is lost: 2 of 3 managers are unreachable (node2, node3). Bring them back, or as a last resort run `docker swarm init --force-new-cluster` on node1"
			p.Warnings = []string{"manager node2 is unreachable and no eligible node can replace it; it stays a manager"}
			m.Plan(p, at(time.Second))
			m.Finish(p, nil, at(time.Second))
			return m
		}},
		{"stopped", 100, 40, func() *Model {
			m := NewModel("lab", t0)
			run(m, 2)
			err := fmt.Errorf("%w: %w", controller.ErrStopped, context.Canceled)
			m.Pass(controller.Result{}, err, at(4*time.Second))
			m.Finish(planOf(2), err, at(4*time.Second))
			return m
		}},
		{"pending", 100, 40, func() *Model {
			m := NewModel("lab", t0)
			run(m, 1)
			p := planOf(1)
			p.Steps = nil
			p.InFlight = []reconcile.InFlight{{Node: "id2", Hostname: "node2", To: reconcile.RoleManager}}
			p.Warnings = []string{"node2 was asked to become a manager and is down; only its return or a human can finish it"}
			m.Plan(p, at(3*time.Second))
			m.Finish(p, nil, at(3*time.Second))
			return m
		}},
		{"error", 100, 40, func() *Model {
			m := NewModel("lab", t0)
			run(m, 1)
			m.Tick(at(92 * time.Second))
			err := fmt.Errorf("reconciling: %w: promote of node2 after 1m30s", controller.ErrStepTimeout)
			m.Step(controller.StepResult{Step: steps()[1], Result: controller.ResultTimeout, Err: err, Settle: 90 * time.Second}, at(92*time.Second))
			m.Pass(controller.Result{}, err, at(92*time.Second))
			m.Finish(planOf(1), err, at(92*time.Second))
			return m
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.model().View(plain(), c.width, c.height)
			for i, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
				if w := lipgloss.Width(l); w > c.width {
					t.Errorf("line %d is %d wide, more than the terminal's %d: %q", i+1, w, c.width, l)
				}
			}
			if n := strings.Count(got, "\n"); n > c.height {
				t.Errorf("the view is %d lines, more than the terminal's %d", n, c.height)
			}
			assertGolden(t, filepath.Join("testdata", c.name+".golden"), []byte(got))
		})
	}
}

// TestCounts checks the state behind the goldens: the counter and the markers.
func TestCounts(t *testing.T) {
	m := NewModel("lab", t0)
	run(m, 2)
	if d, n := m.count(done), len(m.rows); d != 2 || n != 5 {
		t.Errorf("done/total = %d/%d, want 2/5", d, n)
	}
	if m.rows[2].state != inHand || m.rows[3].state != pending {
		t.Errorf("row states %v, want the third in hand and the rest pending", m.rows)
	}
	// A plan that changed its mind drops the steps it no longer asks for, never the done ones.
	p := planOf(4)
	m.Plan(p, at(time.Minute))
	if d, n := m.count(done), len(m.rows); d != 2 || n != 3 {
		t.Errorf("after a shorter plan done/total = %d/%d, want 2/3", d, n)
	}
	if m.rows[2].step.Hostname != "node3" || m.rows[2].state != inHand {
		t.Errorf("row 3 = %+v, want node3's drain in hand", m.rows[2])
	}
	// The clock of the step in hand runs from when it was first planned, across passes that
	// plan it again.
	m.Plan(p, at(time.Minute+5*time.Second))
	m.Tick(at(time.Minute + 7*time.Second))
	if !strings.Contains(m.View(plain(), 100, 0), "settling 7s") {
		t.Errorf("the step in hand lost its clock on a new plan:\n%s", m.View(plain(), 100, 0))
	}
}

func TestWindowKeepsTheStepInHandInSight(t *testing.T) {
	for _, c := range []struct{ n, hand, done, avail, from, to int }{
		{5, 2, 2, 10, 0, 5},
		{50, 20, 20, 10, 18, 26},
		{50, 49, 49, 10, 42, 50},
		{50, -1, 50, 10, 42, 50},
		{50, 0, 0, 10, 0, 8},
	} {
		from, to := window(c.n, c.hand, c.done, c.avail)
		if from != c.from || to != c.to {
			t.Errorf("window(%d, %d, %d, %d) = %d, %d; want %d, %d", c.n, c.hand, c.done, c.avail, from, to, c.from, c.to)
		}
		if c.hand >= 0 && (c.hand < from || c.hand >= to) {
			t.Errorf("window(%d, %d, ...) = [%d, %d) hides the step in hand", c.n, c.hand, from, to)
		}
	}
}

// assertGolden compares got with the golden file at path, rewriting it first under -update.
func assertGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./progress -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output; review the change and run go test ./progress -update\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
