package chaos

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

func TestGenerateIsDeterministic(t *testing.T) {
	for i := range 200 {
		a := Generate(7, i, E261, Kinds[i%len(Kinds)])
		b := Generate(7, i, E261, Kinds[i%len(Kinds)])
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("index %d: two draws differ:\n%s\n%s", i, a, b)
		}
		// The engine is recorded, nothing more.
		c := Generate(7, i, E2010, Kinds[i%len(Kinds)])
		c.Engine = E261
		if !reflect.DeepEqual(a, c) {
			t.Fatalf("index %d: the engine changed the scenario:\n%s\n%s", i, a, c)
		}
	}
}

func TestPlanScenarioDoesNotDependOnN(t *testing.T) {
	all := Plan(42, 60, 0, nil)
	for _, tc := range []struct{ first, n int }{{17, 1}, {0, 5}, {30, 30}, {59, 1}} {
		part := Plan(42, tc.n, tc.first, nil)
		if len(part) != tc.n {
			t.Fatalf("Plan(n=%d) gave %d scenarios", tc.n, len(part))
		}
		for j, s := range part {
			if s.Index != tc.first+j || !reflect.DeepEqual(s, all[tc.first+j]) {
				t.Errorf("FIRST=%d N=%d: scenario %d differs from the whole run's:\n%s\n%s", tc.first, tc.n, j, s, all[tc.first+j])
			}
		}
	}
	if reflect.DeepEqual(Plan(42, 1, 3, nil)[0].Faults, Plan(43, 1, 3, nil)[0].Faults) &&
		reflect.DeepEqual(Plan(42, 1, 3, nil)[0].Target, Plan(43, 1, 3, nil)[0].Target) {
		t.Error("seeds 42 and 43 give the same scenario 3")
	}
	if id := all[17].ID(); id != "s42-i17" {
		t.Errorf("ID = %q, want s42-i17", id)
	}
}

func TestPlanCoversEveryKindOnEveryEngine(t *testing.T) {
	seen := map[string]map[Kind]int{}
	for _, s := range Plan(1, 150, 0, Engines) {
		if seen[s.Engine] == nil {
			seen[s.Engine] = map[Kind]int{}
		}
		if s.Faults[0].Kind != s.Primary && !slices.ContainsFunc(s.Faults, func(f Fault) bool { return f.Kind == s.Primary }) {
			t.Errorf("%s: primary kind %s is not among its faults", s.ID(), s.Primary)
		}
		for _, k := range s.Kinds() {
			seen[s.Engine][k]++
		}
	}
	for _, e := range Engines {
		for _, k := range Kinds {
			if seen[e][k] == 0 {
				t.Errorf("engine %s never got a %s fault", e, k)
			}
		}
	}
	// Within one round of len(Engines)*len(Kinds) scenarios already.
	round := map[string]bool{}
	for _, s := range Plan(9, len(Engines)*len(Kinds), 0, Engines) {
		round[s.Engine+"/"+string(s.Primary)] = true
	}
	if len(round) != len(Engines)*len(Kinds) {
		t.Errorf("one round covers %d engine/kind pairs as primary, want %d", len(round), len(Engines)*len(Kinds))
	}
}

// checkTopology parses the file, and plans it on the start to see that the lab can meet it.
func checkTopology(t *testing.T, s Scenario, what string, tp Topology) {
	t.Helper()
	st, err := tp.Parse(what)
	if err != nil {
		t.Fatalf("%s: %s does not parse: %v\n%s", s, what, err, tp.YAML(what))
	}
	if st.Spec.Managers.Count != tp.Count || st.Spec.Policy.ReplaceUnreachableAfter.Duration != ReplaceUnreachableAfter {
		t.Fatalf("%s: %s parses to count %d, grace %s", s, what, st.Spec.Managers.Count, st.Spec.Policy.ReplaceUnreachableAfter)
	}
	if tp.Count < 1 || tp.Count > min(9, s.Nodes) {
		t.Fatalf("%s: %s count %d out of 1..min(9, %d)", s, what, tp.Count, s.Nodes)
	}
	p, err := reconcile.Compute(st, s.Start().Snapshot())
	if err != nil {
		t.Fatalf("%s: %s: planner: %v", s, what, err)
	}
	if len(p.Unmet) > 0 {
		t.Fatalf("%s: the lab cannot meet %s: %v\n%s", s, what, p.Unmet, tp.YAML(what))
	}
}

func TestGeneratedScenariosAreValid(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	work, shorthand, maps, long := 0, 0, 0, 0
	for seed := range int64(n / 30) {
		for _, s := range Plan(seed, 30, int(seed)*5, Engines) {
			if s.Nodes < 5 || s.Nodes > 9 || len(s.Zones) < 1 || len(s.Zones) > 3 || s.StartManagers < 1 || s.StartManagers > s.Nodes {
				t.Fatalf("%s: lab out of range", s)
			}
			checkTopology(t, s, "target", s.Target)
			if hasWork(s.Start(), s.Target) {
				work++
			}
			if s.Target.SpreadMap != nil {
				maps++
			} else if s.Target.Spread != "" && s.Target.Spread != "auto" {
				shorthand++
			}
			if !slices.IsSortedFunc(s.Faults, func(a, b Fault) int { return int(a.At - b.At) }) {
				t.Fatalf("%s: faults not sorted by At", s)
			}
			var heal time.Duration
			for _, f := range s.Faults {
				heal = max(heal, f.At+f.For)
				if f.At < 0 || f.At > 20*time.Second {
					t.Fatalf("%s: %s starts out of 0..20s", s, f)
				}
				if f.For != 0 && (f.For < 5*time.Second || f.For > 60*time.Second || (f.Kind != KindPause && f.For > 40*time.Second)) {
					t.Fatalf("%s: %s lasts out of range", s, f)
				}
				if f.Kind.nodeFault() && f.Target == "" {
					t.Fatalf("%s: %s has no target", s, f)
				}
				if f.Kind == KindSplit && (f.MinoritySize < 1 || 2*f.MinoritySize >= min(s.StartManagers, s.Target.Count)) {
					t.Fatalf("%s: %s is no minority of %d/%d managers", s, f, s.StartManagers, s.Target.Count)
				}
				if f.Target == TargetWorker && s.Nodes <= max(s.StartManagers, s.Target.Count) {
					t.Fatalf("%s: %s targets a worker, but there may be none", s, f)
				}
				if f.Kind == KindNewFile {
					if f.NewTarget == nil {
						t.Fatalf("%s: new-file without a new target", s)
					}
					checkTopology(t, s, "new target", *f.NewTarget)
				}
			}
			if heal != s.HealBy {
				t.Fatalf("%s: HealBy %s, latest end %s", s, s.HealBy, heal)
			}
			if heal > 30*time.Second {
				long++
			}
		}
	}
	total := n / 30 * 30
	t.Logf("%d scenarios: %d start away from the target, %d shorthand spreads, %d maps, %d heal after 30s", total, work, shorthand, maps, long)
	if work < total*3/4 {
		t.Errorf("only %d of %d scenarios give the operator work", work, total)
	}
	if shorthand == 0 || maps == 0 {
		t.Errorf("no shorthand (%d) or map (%d) spread drawn", shorthand, maps)
	}
	if long > total/2 {
		t.Errorf("%d of %d scenarios last past 30s; most should not", long, total)
	}
}
