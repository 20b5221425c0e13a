package reconcile

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/swarmtopo/swarmtopo/spec"
)

// TestMain runs the property tests over 10,000 random swarms unless -rapid.checks says otherwise.
// Each run draws new swarms; under CI (CI set) the seed is fixed unless -rapid.seed is given, so
// that a gate run is reproducible, while every developer run keeps exploring new cases.
func TestMain(m *testing.M) {
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	defaults := map[string]string{"rapid.checks": "10000"}
	if os.Getenv("CI") != "" {
		defaults["rapid.seed"] = "20261127"
	}
	for name, value := range defaults {
		if set[name] {
			continue
		}
		if err := flag.Set(name, value); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}

var genZones = []string{"a", "b", "c", "d", ""}

func genSnapshot(t *rapid.T) Snapshot {
	n := rapid.IntRange(1, 10).Draw(t, "nodes")
	s := Snapshot{Time: t0}
	for i := range n {
		host := fmt.Sprintf("n%02d", i)
		var flags []string
		switch rapid.IntRange(0, 11).Draw(t, "kind"+host) {
		case 4, 5, 6, 7:
			flags = append(flags, "M")
		case 8:
			flags = append(flags, "U")
		case 9:
			flags = append(flags, "P")
		case 10:
			flags = append(flags, "W")
		}
		if rapid.IntRange(0, 6).Draw(t, "down"+host) == 0 {
			flags = append(flags, "D")
		}
		if a := rapid.IntRange(0, 3).Draw(t, "avail"+host); a == 1 {
			flags = append(flags, "drain")
		} else if a == 2 {
			flags = append(flags, "pause")
		}
		nd := node(host, rapid.SampledFrom(genZones).Draw(t, "zone"+host), flags...)
		if nd.Member && nd.State == StateDown {
			nd.Reachability = ReachabilityUnreachable
		}
		if nd.Member && nd.Reachability == ReachabilityUnreachable && rapid.Bool().Draw(t, "grace"+host) {
			nd.UnreachableSince = t0.Add(-time.Minute)
		}
		if rapid.IntRange(0, 2).Draw(t, "mgrlabel"+host) == 0 {
			nd.Labels["mgr"] = "yes"
		}
		if rapid.IntRange(0, 3).Draw(t, "marker"+host) == 0 {
			nd.Labels["tier"] = "old"
			nd.Labels[ManagedLabelsKey] = "tier"
		}
		s.Nodes = append(s.Nodes, nd)
	}
	var reachable []int
	for i, nd := range s.Nodes {
		if nd.Member && nd.Reachability == ReachabilityReachable && nd.DesiredRole == RoleManager {
			reachable = append(reachable, i)
		}
	}
	if len(reachable) > 0 {
		s.Nodes[rapid.SampledFrom(reachable).Draw(t, "leader")].Leader = true
	} else {
		s.Nodes[0].DesiredRole, s.Nodes[0].Member, s.Nodes[0].Reachability = RoleManager, true, ReachabilityReachable
		s.Nodes[0].State, s.Nodes[0].Leader = StateReady, true
	}
	if rapid.IntRange(0, 4).Draw(t, "hasSelf") == 0 {
		s.Self = rapid.SampledFrom(s.Nodes).Draw(t, "self").ID
	}
	return s
}

func genTopology(t *rapid.T) *spec.SwarmTopology {
	count := rapid.IntRange(1, 9).Draw(t, "count")
	avail := []spec.Availability{"", spec.AvailabilityActive, spec.AvailabilityDrain, spec.AvailabilityPause}
	return topo(count, func(s *spec.Spec) {
		switch rapid.IntRange(0, 2).Draw(t, "spreadMode") {
		case 1:
			var parts []int
			for left := count; left > 0; {
				p := rapid.IntRange(1, left).Draw(t, "part")
				parts = append(parts, p)
				left -= p
			}
			slices.SortFunc(parts, func(a, b int) int { return b - a })
			s.Managers.Spread = spec.Spread{Mode: spec.SpreadShorthand, Counts: parts}
		case 2:
			zones := map[string]int{}
			for left := count; left > 0; {
				p := rapid.IntRange(1, left).Draw(t, "part")
				zones[rapid.SampledFrom(genZones[:4]).Draw(t, "explicitZone")] += p
				left -= p
			}
			s.Managers.Spread = spec.Spread{Mode: spec.SpreadExplicit, Zones: zones}
		}
		s.Managers.Availability = rapid.SampledFrom(avail).Draw(t, "managersAvailability")
		s.Workers.Availability = rapid.SampledFrom(avail).Draw(t, "workersAvailability")
		if rapid.IntRange(0, 3).Draw(t, "selector") == 0 {
			s.Managers.Selector = map[string]string{"mgr": "yes"}
		}
		if rapid.IntRange(0, 3).Draw(t, "zoneRules") == 0 {
			s.Zones = map[string][]string{"a": {"n0[0-3]"}, "b": {"n0[4-6]"}, "c": {"n0[5-9]"}}
		}
		if rapid.Bool().Draw(t, "labelRules") {
			s.Labels = []spec.LabelRule{{Hostnames: []string{"n0[02468]"}, Set: map[string]string{"mgr": "yes", "parity": "even"}}}
		}
		s.Policy.RemoveDownNodes = rapid.Bool().Draw(t, "removeDown")
	})
}

// genPlan draws a swarm and a topology and plans; the planner must never fail.
func genPlan(t *rapid.T) (Snapshot, *spec.SwarmTopology, *Plan) {
	s, tp := genSnapshot(t), genTopology(t)
	p, err := Compute(tp, s)
	if err != nil {
		t.Fatalf("Compute: %v\nswarm:%s\nspec: %+v", err, describe(s), tp.Spec)
	}
	return s, tp, p
}

// quorumOf counts raft members and reachable ones without using the planner's model code.
func quorumOf(nodes []Node) (members, reachable int) {
	for _, n := range nodes {
		if n.Member {
			members++
			if n.Reachability == ReachabilityReachable {
				reachable++
			}
		}
	}
	return members, reachable
}

func ft(nodes []Node) int {
	m, r := quorumOf(nodes)
	if m == 0 {
		return 0
	}
	return r - (m/2 + 1)
}

func TestPropertyNoPlanLosesQuorumOrDipsBelowTheFloor(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, _, p := genPlan(t)
		if p.Blocked != "" {
			if len(p.Steps) != 0 {
				t.Fatalf("blocked plan with steps")
			}
			return
		}
		nodes := refSettle(s.Nodes)
		floor := min(ft(s.Nodes), ft(nodes))
		final := nodes
		for _, st := range p.Steps {
			final = refApply(final, st)
		}
		floor = min(floor, ft(final))
		if floor < 0 {
			t.Fatalf("a plan that is not blocked starts or ends without quorum (floor %d)", floor)
		}
		for i, st := range p.Steps {
			var target *Node
			for j := range nodes {
				if nodes[j].ID == st.Node {
					target = &nodes[j]
				}
			}
			if target == nil {
				t.Fatalf("step %d acts on a node that is not there: %+v", i+1, st)
			}
			if st.Action == ActionPromote && target.State != StateReady {
				t.Fatalf("step %d promotes %s which is %s", i+1, target.Hostname, target.State)
			}
			if st.Action == ActionRemove && (target.Member || target.State != StateDown) {
				t.Fatalf("step %d removes %s which is a member or not down", i+1, target.Hostname)
			}
			if st.Action == ActionPromote && !target.Member {
				// Raft counts the newcomer at once; until it has joined, the members already
				// reachable must hold a majority of the grown swarm (a single manager aside).
				if m, r := quorumOf(nodes); m > 1 && r < (m+1)/2+1 {
					t.Fatalf("step %d promotes %s while %d of %d managers are reachable: no quorum until it joins\nplan: %s", i+1, target.Hostname, r, m, stepList(p))
				}
			}
			nodes = refApply(nodes, st)
			if got := ft(nodes); got < floor {
				t.Fatalf("after step %d (%s %s) fault tolerance is %d, floor %d\nplan: %s", i+1, st.Action, st.Hostname, got, floor, stepList(p))
			}
		}
	})
}

func TestPropertyApplyingThePlanThenPlanningAgainYieldsNothing(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, tp, p := genPlan(t)
		if p.Blocked != "" || anyStuck(s) {
			return // a stuck promotion holds steps back: TestPropertyAStuckPromotionHoldsEveryMembershipChange
		}
		again, err := Compute(tp, applyAll(s, p))
		if err != nil {
			t.Fatalf("Compute again: %v", err)
		}
		if !again.Idle() {
			t.Fatalf("plan: %s\nplanning again: blocked=%q steps=%s inFlight=%v\nswarm:%s\nspec: %+v", stepList(p), again.Blocked, stepList(again), again.InFlight, describe(s), tp.Spec)
		}
	})
}

func TestPropertyRoleChangesEqualTheLowerBound(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, tp, p := genPlan(t)
		if p.Blocked != "" {
			return
		}
		for _, n := range s.Nodes {
			if n.Member && n.Reachability != ReachabilityReachable && !n.UnreachableSince.IsZero() {
				return // inside its grace period an unreachable manager is waited for, not replaced
			}
		}
		if anyStuck(s) {
			return // held: TestPropertyAStuckPromotionHoldsEveryMembershipChange
		}
		bound, feasible := referenceLowerBound(tp, s, applyAll(s, p))
		if !feasible {
			return
		}
		if got := roleChanges(p); got != bound {
			t.Fatalf("plan makes %d role changes, the lower bound is %d\nplan: %s\nwarnings: %q\nswarm:%s\nspec: %+v", got, bound, stepList(p), p.Warnings, describe(s), tp.Spec)
		}
	})
}

// anyStuck reports whether a promotion in s cannot complete now, told without the planner's
// own PromotionStuck: the node wants to be a manager, is not a raft member, and is not ready.
func anyStuck(s Snapshot) bool {
	for _, n := range s.Nodes {
		if n.DesiredRole == RoleManager && !n.Member && n.State != StateReady {
			return true
		}
	}
	return false
}

// At no moment may two membership changes be able to complete, and a promotion whose node is
// not ready can complete the moment the node returns: while one exists, no plan promotes,
// demotes or removes anything, and the plan lists it in flight with what a human can do.
func TestPropertyAStuckPromotionHoldsEveryMembershipChange(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, _, p := genPlan(t)
		if !anyStuck(s) || p.Blocked != "" {
			return
		}
		for _, st := range p.Steps {
			if st.Action == ActionPromote || st.Action == ActionDemote || st.Action == ActionRemove {
				t.Fatalf("plan %s while a promotion is stuck\nswarm:%s", stepList(p), describe(s))
			}
		}
		for _, n := range s.Nodes {
			if n.DesiredRole != RoleManager || n.Member || n.State == StateReady {
				continue
			}
			found := false
			for _, f := range p.InFlight {
				found = found || f.Node == n.ID && f.Stuck && f.Advice != ""
			}
			if !found {
				t.Fatalf("the stuck promotion of %s is not in flight with advice: %+v", n.Hostname, p.InFlight)
			}
		}
		if p.Converged() {
			t.Fatalf("a plan with a stuck promotion says converged")
		}
	})
}

// referenceLowerBound is a dumb, exhaustive reference: over every set of eligible nodes that
// meets the spread exactly, the fewest role changes. labelled is the swarm once labels are set.
func referenceLowerBound(tp *spec.SwarmTopology, s, labelled Snapshot) (int, bool) {
	sp := &tp.Spec
	labels := map[string]map[string]string{}
	for _, n := range labelled.Nodes {
		labels[n.ID] = n.Labels
	}
	zoned := false
	for _, n := range s.Nodes {
		if n.State == StateReady && labels[n.ID]["az"] != "" {
			zoned = true
		}
	}
	var eligible []Node
	holders := map[string]bool{}
	failed := 0
	for _, n := range s.Nodes {
		unreachable := n.Member && n.Reachability != ReachabilityReachable
		pastGrace := unreachable && (n.UnreachableSince.IsZero() || s.Time.Sub(n.UnreachableSince) >= sp.Policy.ReplaceUnreachableAfter.Duration)
		demoting := n.Member && n.DesiredRole == RoleWorker
		if pastGrace && !demoting {
			failed++
			continue
		}
		stuck := n.DesiredRole == RoleManager && !n.Member && n.State != StateReady
		if n.DesiredRole == RoleManager && !demoting && !stuck {
			holders[n.ID] = true
		}
		if n.State != StateReady && (!n.Member || demoting) {
			continue
		}
		if !selectorMatches(sp.Managers.Selector, labels[n.ID]) || (zoned && labels[n.ID]["az"] == "") {
			continue
		}
		eligible = append(eligible, n)
	}
	best, found := -1, false
	for mask := 0; mask < 1<<len(eligible); mask++ {
		var set []Node
		for i := range eligible {
			if mask&(1<<i) != 0 {
				set = append(set, eligible[i])
			}
		}
		if len(set) != sp.Managers.Count || !meetsSpread(sp, set, eligible, labels, zoned) {
			continue
		}
		// The target must keep the quorum the plan is allowed to rely on.
		reach := 0
		for _, n := range set {
			if !n.Member || n.Reachability == ReachabilityReachable {
				reach++
			}
		}
		if FaultTolerance(len(set), reach) < min(ft(s.Nodes), ft(refSettle(s.Nodes)), FaultTolerance(sp.Managers.Count, sp.Managers.Count)) {
			continue
		}
		in := map[string]bool{}
		cost := 0
		for _, n := range set {
			in[n.ID] = true
			if !holders[n.ID] {
				cost++
			}
		}
		for id := range holders {
			if !in[id] {
				cost++
			}
		}
		if !found || cost < best {
			best, found = cost, true
		}
	}
	return best + failed, found
}

func meetsSpread(sp *spec.Spec, set, eligible []Node, labels map[string]map[string]string, zoned bool) bool {
	if !zoned {
		return true
	}
	per := map[string]int{}
	for _, n := range set {
		per[labels[n.ID]["az"]]++
	}
	switch sp.Managers.Spread.Mode {
	case spec.SpreadExplicit:
		for z, c := range per {
			if sp.Managers.Spread.Zones[z] != c {
				return false
			}
		}
		for z, c := range sp.Managers.Spread.Zones {
			if per[z] != c {
				return false
			}
		}
		return true
	default:
		want := sp.Managers.Spread.Counts
		if sp.Managers.Spread.Mode == spec.SpreadAuto {
			zones := map[string]bool{}
			for _, n := range eligible {
				zones[labels[n.ID]["az"]] = true
			}
			want = balanced(sp.Managers.Count, min(sp.Managers.Count, len(zones)))
		}
		var got []int
		for _, c := range per {
			got = append(got, c)
		}
		slices.SortFunc(got, func(a, b int) int { return b - a })
		return slices.Equal(got, want)
	}
}
