package adopt

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func node(host, zone string, manager bool, avail spec.Availability) reconcile.Node {
	n := reconcile.Node{ID: "id-" + host, Hostname: host, State: reconcile.StateReady, Availability: avail,
		DesiredRole: reconcile.RoleWorker, Labels: map[string]string{"az": zone}}
	if manager {
		n.DesiredRole, n.Member, n.Reachability = reconcile.RoleManager, true, reconcile.ReachabilityReachable
	}
	return n
}

// roundTrip writes the topology as JSON and reads it back as a user's file would be.
func roundTrip(t *testing.T, top *spec.SwarmTopology) *spec.SwarmTopology {
	t.Helper()
	data, err := json.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	back, err := spec.Parse("export.json", data)
	if err != nil {
		t.Fatalf("exported file does not parse: %v\n%s", err, data)
	}
	return back
}

func TestExportThenPlanChangesNothing(t *testing.T) {
	cases := []struct {
		name  string
		nodes []reconcile.Node
		notes []string
	}{
		{"five drained managers spread 2-2-1 and active workers", []reconcile.Node{
			node("eu-a-1", "a", true, spec.AvailabilityDrain), node("eu-b-1", "b", true, spec.AvailabilityDrain),
			node("eu-c-1", "c", true, spec.AvailabilityDrain), node("eu-a-2", "a", true, spec.AvailabilityDrain),
			node("eu-b-2", "b", true, spec.AvailabilityDrain), node("eu-c-2", "c", false, spec.AvailabilityActive),
			node("eu-a-3", "a", false, spec.AvailabilityActive),
		}, []string{`zones: {a: ["eu-a-*"], b: ["eu-b-*"], c: ["eu-c-*"]}`}},
		{"an unbalanced 3-1 spread over two zones is kept as it is, with an even-count note", []reconcile.Node{
			node("n1", "a", true, spec.AvailabilityActive), node("n2", "a", true, spec.AvailabilityActive),
			node("n3", "a", true, spec.AvailabilityActive), node("n4", "b", true, spec.AvailabilityActive),
			node("n5", "b", false, spec.AvailabilityPause), node("n6", "b", false, spec.AvailabilityActive),
		}, []string{"4 managers, an even number", "workers' availability differs", "1 active, 1 pause"}},
		{"no zone labels at all: auto spread, said in a note", []reconcile.Node{
			node("n1", "", true, spec.AvailabilityActive), node("n2", "", false, spec.AvailabilityActive),
		}, []string{"single manager", `no manager has the "az" label`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := reconcile.Snapshot{Nodes: c.nodes, Time: now}
			for i := range s.Nodes {
				if s.Nodes[i].Labels["az"] == "" {
					delete(s.Nodes[i].Labels, "az")
				}
			}
			s.Nodes[0].Leader = true
			r, err := Describe(s, "adopted", "az")
			if err != nil {
				t.Fatalf("Describe: %v", err)
			}
			top := roundTrip(t, r.Topology)
			p, err := reconcile.Compute(top, s)
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			if len(p.Steps) != 0 || p.Blocked != "" {
				t.Errorf("plan with the exported file has %d steps (blocked %q); want none: %+v", len(p.Steps), p.Blocked, p.Steps)
			}
			notes := strings.Join(r.Notes, "\n")
			for _, w := range c.notes {
				if !strings.Contains(notes, w) {
					t.Errorf("notes do not say %q:\n%s", w, notes)
				}
			}
		})
	}
}

func TestAnEditedExportPlansOnlyTheEdit(t *testing.T) {
	s := reconcile.Snapshot{Time: now, Nodes: []reconcile.Node{
		node("n1", "a", true, spec.AvailabilityActive), node("n2", "b", true, spec.AvailabilityActive),
		node("n3", "c", true, spec.AvailabilityActive), node("n4", "a", false, spec.AvailabilityActive),
	}}
	s.Nodes[0].Leader = true
	r, err := Describe(s, "adopted", "az")
	if err != nil {
		t.Fatal(err)
	}
	top := roundTrip(t, r.Topology)
	top.Spec.Managers.Availability = spec.AvailabilityDrain
	p, err := reconcile.Compute(top, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Steps) != 3 {
		t.Fatalf("steps = %+v; want the three managers drained and nothing else", p.Steps)
	}
	for _, st := range p.Steps {
		if st.Action != reconcile.ActionDrain {
			t.Errorf("step %s %s: only drains were asked for", st.Action, st.Hostname)
		}
	}
}

func TestExportRefusesASwarmBetweenTwoShapes(t *testing.T) {
	s := reconcile.Snapshot{Time: now, Nodes: []reconcile.Node{
		node("n1", "a", true, spec.AvailabilityActive), node("n2", "b", false, spec.AvailabilityActive),
	}}
	s.Nodes[1].DesiredRole = reconcile.RoleManager
	if _, err := Describe(s, "x", "az"); !errors.Is(err, ErrInFlight) || !strings.Contains(err.Error(), "n2") {
		t.Errorf("Describe = %v; want ErrInFlight naming n2", err)
	}
	s.ClusterError = "The swarm does not have a leader"
	if _, err := Describe(s, "x", "az"); err == nil || !strings.Contains(err.Error(), "no leader") {
		t.Errorf("Describe without a leader = %v", err)
	}
}
