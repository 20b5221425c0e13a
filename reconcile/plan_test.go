package reconcile

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/spec"
)

func drained(s *spec.Spec)       { s.Managers.Availability = spec.AvailabilityDrain }
func workersActive(s *spec.Spec) { s.Workers.Availability = spec.AvailabilityActive }
func removeDown(s *spec.Spec)    { s.Policy.RemoveDownNodes = true }
func shorthand(counts ...int) func(*spec.Spec) {
	return func(s *spec.Spec) { s.Managers.Spread = spec.Spread{Mode: spec.SpreadShorthand, Counts: counts} }
}
func explicit(zones map[string]int) func(*spec.Spec) {
	return func(s *spec.Spec) { s.Managers.Spread = spec.Spread{Mode: spec.SpreadExplicit, Zones: zones} }
}

func TestCompute(t *testing.T) {
	lab7 := func(flags map[string][]string) Snapshot {
		zones := []string{"a", "b", "c", "a", "b", "c", "a"}
		var ns []Node
		for i, z := range zones {
			h := "node" + string(rune('1'+i))
			ns = append(ns, node(h, z, flags[h]...))
		}
		return snap(ns...)
	}
	tests := []struct {
		name          string
		topo          *spec.SwarmTopology
		snap          Snapshot
		steps         string // exact step list, when set
		managers      string // manager set once the plan is applied, when set
		blocked       string // substring of the blocked reason, when set
		warning       string // substring of some warning, when set
		lowestAtLeast int
	}{
		{
			name:     "a swarm that already matches the file needs no steps",
			topo:     topo(3),
			snap:     lab7(map[string][]string{"node1": {"M", "L"}, "node2": {"M"}, "node3": {"M"}}),
			steps:    "",
			managers: "a:node1 b:node2 c:node3",
		},
		{
			name: "scaling one manager to five over three zones ends 2-2-1 with drained managers and active workers",
			topo: topo(5, drained, workersActive),
			snap: lab7(map[string][]string{"node1": {"M", "L"}, "node6": {"drain"}}),
			// node6 is already drained, so it is the cheaper manager for zone c; the leader is drained last.
			steps:    "promote node4, drain node4, promote node2, drain node2, promote node5, drain node5, promote node6, drain node1",
			managers: "a:node1,node4 b:node2,node5 c:node6",
		},
		{
			name:          "three managers crowded in one zone move to one per zone, promote before demote, never below one tolerated failure",
			topo:          topo(3),
			snap:          lab7(map[string][]string{"node1": {"M", "L"}, "node4": {"M"}, "node7": {"M"}}),
			steps:         "promote node2, demote node4, promote node3, demote node7",
			managers:      "a:node1 b:node2 c:node3",
			lowestAtLeast: 1,
		},
		{
			name: "scaling seven managers down to three keeps the leader in its zone",
			topo: topo(3),
			snap: lab7(map[string][]string{"node1": {"M"}, "node2": {"M"}, "node3": {"M"}, "node4": {"M", "L"},
				"node5": {"M"}, "node6": {"M"}, "node7": {"M"}}),
			steps:         "demote node1, demote node7, demote node5, demote node6",
			managers:      "a:node4 b:node2 c:node3",
			lowestAtLeast: 1,
		},
		{
			name:          "scaling down when the leader's zone loses its managers demotes the leader last",
			topo:          topo(3, explicit(map[string]int{"a": 2, "b": 1})),
			snap:          lab7(map[string][]string{"node1": {"M"}, "node2": {"M"}, "node3": {"M", "L"}, "node4": {"M"}, "node6": {"M"}}),
			steps:         "demote node6, demote node3",
			managers:      "a:node1,node4 b:node2",
			lowestAtLeast: 1,
		},
		{
			name: "the operator's own node is demoted after the leader",
			topo: topo(1, explicit(map[string]int{"c": 1})),
			snap: func() Snapshot {
				s := lab7(map[string][]string{"node1": {"M"}, "node2": {"M", "L"}, "node3": {"M"}, "node4": {"M"}, "node5": {"M"}})
				s.Self = "id-node1"
				return s
			}(),
			steps:    "demote node4, demote node5, demote node2, demote node1",
			managers: "c:node3",
		},
		{
			name: "among equally cheap choices the operator's own node stays a manager",
			topo: topo(3),
			snap: func() Snapshot {
				s := lab7(map[string][]string{"node1": {"M"}, "node2": {"M", "L"}, "node3": {"M"}, "node4": {"M"}, "node5": {"M"}})
				s.Self = "id-node4"
				return s
			}(),
			steps:    "demote node1, demote node5",
			managers: "a:node4 b:node2 c:node3",
		},
		{
			name:     "an unreachable manager past its grace is replaced in its zone first, then demoted and removed when down",
			topo:     topo(3, removeDown),
			snap:     lab7(map[string][]string{"node1": {"M", "L"}, "node2": {"U", "D"}, "node3": {"M"}}),
			steps:    "promote node5, demote node2, remove node2",
			managers: "a:node1 b:node5 c:node3",
		},
		{
			name:     "an unreachable manager that is still ready is demoted, and removed once swarm sees it down",
			topo:     topo(3, removeDown),
			snap:     lab7(map[string][]string{"node1": {"M", "L"}, "node2": {"U"}, "node3": {"M"}}),
			steps:    "promote node5, demote node2, remove node2",
			managers: "a:node1 b:node5 c:node3",
		},
		{
			name: "an unreachable manager within its grace period is left alone with a warning",
			topo: topo(3),
			snap: func() Snapshot {
				s := lab7(map[string][]string{"node1": {"M", "L"}, "node2": {"U"}, "node3": {"M"}})
				s.Nodes[1].UnreachableSince = t0.Add(-time.Minute)
				return s
			}(),
			steps:   "",
			warning: "manager node2 is unreachable since 11:59:00",
		},
		{
			name:    "an unreachable manager nothing can replace stays a manager",
			topo:    topo(3),
			snap:    snap(node("node1", "a", "M", "L"), node("node2", "b", "U"), node("node3", "c", "M")),
			steps:   "",
			warning: "manager node2 is unreachable and no eligible node can replace it",
		},
		{
			name:    "two of three managers unreachable is lost quorum: blocked, with what a human can do",
			topo:    topo(3),
			snap:    lab7(map[string][]string{"node1": {"M", "L"}, "node2": {"U"}, "node3": {"U"}}),
			blocked: "1 of 3 managers are reachable and 2 are needed",
		},
		{
			name:    "a swarm that answers with no leader is blocked and the advice names force-new-cluster",
			topo:    topo(3),
			snap:    Snapshot{Time: t0, ClusterError: "The swarm does not have a leader."},
			blocked: "--force-new-cluster",
		},
		{
			name:     "a promote already in flight is waited for, not sent again",
			topo:     topo(3),
			snap:     lab7(map[string][]string{"node1": {"M", "L"}, "node2": {"M"}, "node6": {"P"}}),
			steps:    "",
			managers: "a:node1 b:node2 c:node6",
		},
		{
			name:     "a promote in flight of a node that went down holds every other membership change: it completes by itself when the node returns",
			topo:     topo(3),
			snap:     lab7(map[string][]string{"node1": {"M", "L"}, "node2": {"M"}, "node6": {"P", "D"}}),
			steps:    "",
			managers: "a:node1 b:node2",
			warning:  "held while the promotion of node6 is pending: promote node3",
		},
		{
			name:     "a stuck promotion holds the replacement and removal of a failed manager too, and never removes its own node",
			topo:     topo(3, func(s *spec.Spec) { s.Policy.RemoveDownNodes = true }),
			snap:     lab7(map[string][]string{"node1": {"M", "L"}, "node2": {"M"}, "node3": {"U"}, "node6": {"P", "D"}}),
			steps:    "",
			managers: "a:node1 b:node2 c:node3",
			warning:  "docker node rm --force id-node6",
		},
		{
			name: "right after a leader change every node is unknown: no healthy manager is demoted and nothing is promoted",
			topo: topo(3),
			snap: func() Snapshot {
				s := lab7(map[string][]string{"node1": {"M", "L"}, "node2": {"U"}, "node3": {"M"}})
				for i := range s.Nodes {
					s.Nodes[i].State = StateUnknown
				}
				return s
			}(),
			steps:   "",
			warning: "manager node2 is unreachable and no eligible node can replace it",
		},
		{
			name:    "only ready nodes are promoted",
			topo:    topo(3),
			snap:    lab7(map[string][]string{"node1": {"M", "L"}, "node2": {"D"}, "node5": {"D"}, "node3": {"M"}}),
			steps:   "promote node4",
			warning: "",
		},
		{
			name: "labels come before the role changes that depend on them",
			topo: topo(3, func(s *spec.Spec) {
				s.Managers.Selector = map[string]string{"mgr": "yes"}
				s.Labels = []spec.LabelRule{{Hostnames: []string{"node[123]"}, Set: map[string]string{"mgr": "yes"}}}
			}),
			snap:     lab7(map[string][]string{"node1": {"M", "L"}}),
			steps:    "label node1, label node2, label node3, promote node2, promote node3",
			managers: "a:node1 b:node2 c:node3",
		},
		{
			name: "zones are set by hostname rule before managers are placed",
			topo: topo(3, func(s *spec.Spec) {
				s.Zones = map[string][]string{"x": {"node1", "node2"}, "y": {"node3", "node4"}, "z": {"node5*"}}
			}),
			snap:  lab7(map[string][]string{"node1": {"M", "L"}, "node2": {"M"}, "node3": {"M"}}),
			steps: "label node1, label node2, label node3, label node4, label node5, promote node5, demote node2",
		},
		{
			name:     "a shorthand spread gives the big part to the zone that already has the managers",
			topo:     topo(5, shorthand(1, 3, 1)),
			snap:     lab7(map[string][]string{"node1": {"M", "L"}, "node4": {"M"}, "node2": {"M"}}),
			steps:    "promote node7, promote node3",
			managers: "a:node1,node4,node7 b:node2 c:node3",
			warning:  "",
		},
		{
			name:     "an explicit spread puts managers where the map says",
			topo:     topo(3, explicit(map[string]int{"a": 2, "b": 1})),
			snap:     lab7(map[string][]string{"node1": {"M", "L"}, "node2": {"M"}, "node3": {"M"}}),
			steps:    "promote node4, demote node3",
			managers: "a:node1,node4 b:node2",
		},
		{
			name:     "a zone with too few eligible nodes gets what it can, the rest goes elsewhere, with a warning",
			topo:     topo(5, explicit(map[string]int{"a": 1, "b": 1, "c": 3})),
			snap:     lab7(map[string][]string{"node1": {"M", "L"}}),
			managers: "a:node1,node4 b:node2 c:node3,node6",
			warning:  "spec.managers.spread.c wants 3 managers but only 2 eligible nodes are in zone c",
		},
		{
			name:     "demoted managers get the workers' availability",
			topo:     topo(1, workersActive),
			snap:     lab7(map[string][]string{"node1": {"M", "L", "drain"}, "node2": {"M", "drain"}, "node3": {"M", "drain"}}),
			steps:    "demote node2, activate node2, demote node3, activate node3",
			managers: "a:node1",
		},
		{
			name:  "a down worker is removed only when the policy says so",
			topo:  topo(1, removeDown),
			snap:  snap(node("node1", "a", "M", "L"), node("node2", "a", "D")),
			steps: "remove node2",
		},
		{
			name:  "a down worker stays when removeDownNodes is off",
			topo:  topo(1),
			snap:  snap(node("node1", "a", "M", "L"), node("node2", "a", "D")),
			steps: "",
		},
		{
			name: "labels swarmtopo set and no longer wants are removed; labels it never set are left",
			topo: topo(1, func(s *spec.Spec) {
				s.Labels = []spec.LabelRule{{Hostnames: []string{"*"}, Set: map[string]string{"tier": "db"}}}
			}),
			snap: func() Snapshot {
				n := node("node1", "a", "M", "L")
				n.Labels["old"], n.Labels["tier"], n.Labels["team"] = "x", "db", "ops"
				n.Labels[ManagedLabelsKey] = "old,tier"
				return snap(n)
			}(),
			steps: "label node1",
		},
		{
			name:    "a hostname matched by two zones is left alone with a warning",
			topo:    topo(1, func(s *spec.Spec) { s.Zones = map[string][]string{"a": {"node*"}, "b": {"node1"}} }),
			snap:    snap(node("node1", "c", "M", "L")),
			steps:   "",
			warning: "node node1 matches the hostname rules of zones a, b",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPlan(t, tc.topo, tc.snap)
			if tc.blocked != "" {
				if !strings.Contains(p.Blocked, tc.blocked) {
					t.Fatalf("blocked = %q, want it to mention %q", p.Blocked, tc.blocked)
				}
				if len(p.Steps) != 0 {
					t.Fatalf("a blocked plan has steps: %s", stepList(p))
				}
				return
			}
			if p.Blocked != "" {
				t.Fatalf("unexpectedly blocked: %s", p.Blocked)
			}
			if tc.steps != "" || tc.managers != "" || tc.warning == "" {
				if got := stepList(p); tc.steps != got && (tc.steps != "" || tc.managers == "") {
					t.Errorf("steps:\n got %s\nwant %s", got, tc.steps)
				}
			}
			if tc.managers != "" {
				if got := managersByZone(applyAll(tc.snap, p)); got != tc.managers {
					t.Errorf("managers after the plan = %s, want %s", got, tc.managers)
				}
			}
			if tc.warning != "" && !strings.Contains(strings.Join(p.Warnings, "\n"), tc.warning) {
				t.Errorf("warnings %q do not mention %q", p.Warnings, tc.warning)
			}
			if p.LowestFaultTolerance < tc.lowestAtLeast {
				t.Errorf("lowest fault tolerance %d, want at least %d", p.LowestFaultTolerance, tc.lowestAtLeast)
			}
			again := mustPlan(t, tc.topo, applyAll(tc.snap, p))
			if len(again.Steps) != 0 {
				t.Errorf("planning again after applying the plan gives steps: %s", stepList(again))
			}
		})
	}
}

func TestCheckStepRefusesUnsafeChanges(t *testing.T) {
	three := snap(node("node1", "a", "M", "L"), node("node2", "b", "M"), node("node3", "c", "U"), node("node4", "a"), node("node5", "b", "D"))
	tests := []struct {
		name  string
		snap  Snapshot
		step  Step
		floor int
		want  error
	}{
		{"demoting a reachable manager when one is already unreachable loses quorum", three, Step{Action: ActionDemote, Node: "id-node2"}, 0, ErrQuorumLost},
		{"demoting below the floor is refused", snap(node("node1", "a", "M", "L"), node("node2", "b", "M"), node("node3", "c", "M")), Step{Action: ActionDemote, Node: "id-node2"}, 1, ErrBelowFloor},
		{"promoting a down node is refused", three, Step{Action: ActionPromote, Node: "id-node5"}, 0, ErrNotEligible},
		{"removing a manager is refused", three, Step{Action: ActionRemove, Node: "id-node3"}, 0, ErrNotEligible},
		{"removing a ready worker is refused", three, Step{Action: ActionRemove, Node: "id-node4"}, 0, ErrNotEligible},
		{"a role change while another is in flight is refused", snap(node("node1", "a", "M", "L"), node("node2", "b", "P"), node("node3", "c")), Step{Action: ActionPromote, Node: "id-node3"}, 0, ErrInFlight},
		{"demoting the last manager is refused", snap(node("node1", "a", "M", "L")), Step{Action: ActionDemote, Node: "id-node1"}, 0, ErrQuorumLost},
		{"any role change without quorum is refused", snap(node("node1", "a", "M", "L"), node("node2", "b", "U"), node("node3", "c", "U"), node("node4", "a")), Step{Action: ActionPromote, Node: "id-node4"}, 0, ErrQuorumLost},
		{"a node that left the swarm is refused", three, Step{Action: ActionDrain, Node: "id-gone"}, 0, ErrNotEligible},
		{"even a label change is refused without quorum", snap(node("node1", "a", "M", "L"), node("node2", "b", "U"), node("node3", "c", "U")), Step{Action: ActionLabel, Node: "id-node1", Labels: &LabelChange{Add: map[string]string{"k": "v"}}}, 0, ErrQuorumLost},
		{"demoting a node whose promotion has not joined raft is refused, as swarm does", snap(node("node1", "a", "M", "L"), node("node2", "b", "P")), Step{Action: ActionDemote, Node: "id-node2"}, 0, ErrNotEligible},
		{"demoting an unreachable manager is allowed", three, Step{Action: ActionDemote, Node: "id-node3"}, 0, nil},
		{"promoting a ready worker is allowed", three, Step{Action: ActionPromote, Node: "id-node4"}, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckStep(tc.snap, tc.step, tc.floor)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("CheckStep = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFaultToleranceMatchesTheAdminGuideTable(t *testing.T) {
	want := map[int]int{1: 0, 2: 0, 3: 1, 4: 1, 5: 2, 6: 2, 7: 3, 8: 3, 9: 4}
	for n, ft := range want {
		if got := FaultTolerance(n, n); got != ft {
			t.Errorf("FaultTolerance(%d, %d) = %d, want %d", n, n, got, ft)
		}
	}
}

func TestAfterALeaderChangeUnknownNodesDoNotMakeHealthyManagersLookUnwanted(t *testing.T) {
	// Swarm marks every node "unknown" for a second or two after an election. Five managers
	// spread 2-2-1 must not look misplaced then: not even a demote the floor would stop.
	s := snap(node("node1", "a", "M", "L"), node("node2", "b", "M"), node("node3", "c", "M"),
		node("node4", "a", "M"), node("node5", "b", "M"), node("node6", "c"))
	for i := range s.Nodes {
		s.Nodes[i].State = StateUnknown
	}
	p := mustPlan(t, topo(5), s)
	if len(p.Steps) != 0 || len(p.Warnings) != 0 {
		t.Fatalf("plan with every node unknown: steps %q, warnings %q; want neither", stepList(p), p.Warnings)
	}
}
