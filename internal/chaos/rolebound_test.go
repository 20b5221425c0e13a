package chaos

import (
	"testing"
	"time"
)

func TestRoleBound(t *testing.T) {
	abc := []string{"a", "b", "c"}
	three := Topology{Count: 3, Spread: "auto"}
	five := Topology{Count: 5, Spread: "auto"}
	kill := func(manager bool, d time.Duration) Executed {
		return Executed{Kind: KindKill, Hostname: "node2", WasManager: manager, For: d}
	}
	for _, tc := range []struct {
		name     string
		start    StartState
		target   Topology
		executed []Executed
		want     int
	}{
		{"3 to 5 over a,b,c on 7 nodes: two promotions", StartState{Nodes: 7, Zones: abc, Managers: 3}, five, nil, 2},
		{"5 to 3: two demotions", StartState{Nodes: 7, Zones: abc, Managers: 5}, three, nil, 2},
		{"3 stays 3", StartState{Nodes: 5, Zones: abc, Managers: 3}, three, nil, 0},
		{"1 to 3", StartState{Nodes: 5, Zones: abc, Managers: 1}, three, nil, 2},
		{"drain only: no role change", StartState{Nodes: 5, Zones: abc, Managers: 3}, Topology{Count: 3, Drain: true}, nil, 0},
		// Node c (node3) leaves, a second manager in a (node4) comes.
		{"a map moves one manager", StartState{Nodes: 6, Zones: abc, Managers: 3},
			Topology{Count: 3, SpreadMap: map[string]int{"a": 2, "b": 1}}, nil, 2},
		{"a manager killed past the grace period", StartState{Nodes: 5, Zones: abc, Managers: 3}, three,
			[]Executed{kill(true, 20*time.Second)}, 2},
		{"a manager killed within the grace period", StartState{Nodes: 5, Zones: abc, Managers: 3}, three,
			[]Executed{kill(true, 5*time.Second)}, 0},
		{"a worker killed", StartState{Nodes: 5, Zones: abc, Managers: 3}, three, []Executed{kill(false, 20*time.Second)}, 0},
		{"split: two minority managers past grace", StartState{Nodes: 7, Zones: abc, Managers: 5}, five,
			[]Executed{{Kind: KindSplit, Hostname: "node4", WasManager: true, For: 15 * time.Second},
				{Kind: KindSplit, Hostname: "node5", WasManager: true, For: 15 * time.Second}}, 4},
		{"human promote and label, operator killed", StartState{Nodes: 5, Zones: abc, Managers: 3}, three,
			[]Executed{{Kind: KindHuman, Edit: EditPromote, Hostname: "node4"}, {Kind: KindHuman, Edit: EditLabel, Hostname: "node5"},
				{Kind: KindOperatorKill, For: 30 * time.Second}, {Kind: KindSocket, For: 30 * time.Second}}, 2},
		{"new file 3 to 5 to 3", StartState{Nodes: 7, Zones: abc, Managers: 3}, five,
			[]Executed{{Kind: KindNewFile, NewTarget: &three}}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RoleBound(tc.start, tc.target, tc.executed)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("RoleBound = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRoleBoundErrors(t *testing.T) {
	start := StartState{Nodes: 5, Zones: []string{"a"}, Managers: 3}
	if _, err := RoleBound(start, Topology{Count: 0}, nil); err == nil {
		t.Error("a count of 0 gave no error")
	}
	if _, err := RoleBound(start, Topology{Count: 3}, []Executed{{Kind: KindNewFile}}); err == nil {
		t.Error("a new-file without NewTarget gave no error")
	}
}

// Every generated scenario has a bound, and faults never lower it.
func TestRoleBoundOfGeneratedScenarios(t *testing.T) {
	for _, s := range Plan(3, 200, 0, nil) {
		base, err := RoleBound(s.Start(), s.Target, nil)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		var ex []Executed
		for _, f := range s.Faults {
			ex = append(ex, Executed{Kind: f.Kind, Hostname: "node1", WasManager: true, For: f.For, Edit: f.Edit, NewTarget: f.NewTarget})
		}
		with, err := RoleBound(s.Start(), s.Target, ex)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if base < 0 || with < base {
			t.Errorf("%s: bound %d without faults, %d with", s, base, with)
		}
	}
}
