package reconcile

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/swarmtopo/swarmtopo/spec"
)

// class is where a node stands in the manager set when the snapshot was taken.
type class int

const (
	classWorker    class = iota // a worker, and meant to be one
	classManager                // a reachable raft member meant to stay a manager
	classGrace                  // an unreachable member still inside its grace period
	classFailed                 // an unreachable member past its grace period
	classPromoting              // asked to become a manager, not a raft member yet
	classDemoting               // asked to become a worker, still a raft member
)

// planNode is one node as the planner reasons about it.
type planNode struct {
	*Node
	zone   string            // zone once label steps are applied
	labels map[string]string // labels once label steps are applied
	class  class
	// eligible means the node may hold a manager seat in the target.
	eligible bool
	// why says why a seat holder is not eligible.
	why string
}

// seatHolder reports whether the node counts toward the current manager set.
// A promote of a node that is down is no seat: it cannot progress, and swarm refuses to take
// it back ("can't find manager in raft memberlist") until the node returns and joins.
func (n *planNode) seatHolder() bool {
	return n.class == classManager || n.class == classGrace || (n.class == classPromoting && n.State == StateReady)
}

// classify places a node in the manager set. now and grace decide the unreachable ones.
func classify(n *Node, snap *Snapshot, grace spec.Duration) class {
	switch {
	case n.Member && n.DesiredRole != RoleManager:
		return classDemoting
	case n.Member && n.Reachability == ReachabilityReachable:
		return classManager
	case n.Member && snap.InMaintenance(n.ID) != nil:
		// Down on purpose, under a valid lock: it holds its seat until the lock ends.
		return classGrace
	case n.Member:
		// A snapshot from a file cannot tell how long a member has been unreachable:
		// it is past its grace, so the plan shows what the loop will eventually do.
		if !n.UnreachableSince.IsZero() && snap.Time.Sub(n.UnreachableSince) < grace.Duration {
			return classGrace
		}
		return classFailed
	case n.DesiredRole == RoleManager:
		return classPromoting
	default:
		return classWorker
	}
}

// target is the chosen manager set and the reasons behind each change.
type target struct {
	seats    map[string]int // zone -> managers wanted there
	keep     map[string]bool
	promote  []*planNode
	demote   []*planNode
	reasons  map[string]string // node ID -> reason of its role change
	replaced map[string]string // promoted node ID -> hostname of the failed manager it replaces
}

// chooseTarget picks the manager set: the fewest role changes that meet the spread.
func chooseTarget(sp *spec.Spec, nodes []*planNode, self string, warn func(string, ...any)) *target {
	zoneLabel := sp.ZoneLabelOrDefault()
	// Right after a leader change swarm shows every node "unknown" for a second or two: such
	// nodes, and managers whatever their state, still say whether the swarm uses zones.
	zoned := false
	for _, n := range nodes {
		if n.zone != "" && (n.State == StateReady || n.State == StateUnknown || n.seatHolder()) {
			zoned = true
			break
		}
	}
	// Eligibility: ready, matching the selector, and with a zone when the swarm uses zones.
	for _, n := range nodes {
		switch n.class {
		case classFailed:
			continue
		case classPromoting, classWorker, classDemoting:
			if n.State != StateReady {
				n.why = fmt.Sprintf("it is %s", n.State)
				continue
			}
		}
		switch {
		case !selectorMatches(sp.Managers.Selector, n.labels):
			n.why = "it does not match spec.managers.selector"
		case zoned && n.zone == "":
			n.why = fmt.Sprintf("it has no %s label while other nodes have one", zoneLabel)
		default:
			n.eligible = true
		}
	}

	capacity, keep := map[string]int{}, map[string]int{}
	for _, n := range nodes {
		if n.eligible {
			capacity[n.zone]++
			if n.seatHolder() {
				keep[n.zone]++
			}
		}
	}
	byZone := map[string][]*planNode{}
	for _, n := range nodes {
		if n.eligible {
			byZone[n.zone] = append(byZone[n.zone], n)
		}
	}
	holders, spare := map[string][]*planNode{}, map[string][]*planNode{}
	for z, ns := range byZone {
		holders[z], spare[z] = splitCandidates(ns, sp, self)
	}
	// Among plans with equally few role changes, keep the leader, then the operator's own node.
	dropCost := func(z string, seats int) int {
		c := 0
		for _, n := range holders[z][min(seats, len(holders[z])):] {
			if n.Leader {
				c += 2
			}
			if n.ID == self {
				c++
			}
		}
		return c
	}
	count := sp.Managers.Count
	var seats map[string]int
	if zoned {
		seats = distribute(sp, count, capacity, keep, dropCost, warn)
	} else {
		if sp.Managers.Spread.Mode != spec.SpreadAuto && len(nodes) > 0 {
			warn("spec.managers.spread cannot be applied: no ready node carries the %s label", zoneLabel)
		}
		seats = map[string]int{"": min(count, capacity[""])}
	}

	t := &target{seats: seats, keep: map[string]bool{}, reasons: map[string]string{}, replaced: map[string]string{}}
	chosen := 0
	for _, z := range sortedKeys(byZone) {
		holders, spare := holders[z], spare[z]
		want := seats[z]
		for i, n := range holders {
			if i < want {
				t.keep[n.ID] = true
				continue
			}
			t.demote = append(t.demote, n)
			t.reasons[n.ID] = fmt.Sprintf("%s has %s, the spread wants %d", zoneName(z), managers(len(holders), "healthy"), want)
		}
		for i := 0; i < want-len(holders) && i < len(spare); i++ {
			n := spare[i]
			t.promote = append(t.promote, n)
			t.reasons[n.ID] = fmt.Sprintf("%s has %s, the spread wants %d", zoneName(z), managers(len(holders), "healthy"), want)
		}
		chosen += min(want, len(holders)+len(spare))
	}

	// Seat holders that may not stay, and failed members, are demoted, except that while no
	// eligible node can take their seat they stay, reachable ones first, so the swarm does not
	// shrink below its count (or lose its last manager) for the sake of a preference.
	// Order: reachable ones (a promote in flight of a ready node settles into one), then
	// unreachable ones.
	leaveRank := func(n *planNode) int {
		switch n.class {
		case classFailed:
			return 2
		case classGrace:
			return 1
		default:
			return 0
		}
	}
	var leaving []*planNode
	for _, n := range nodes {
		if n.class == classFailed || (n.seatHolder() && !n.eligible) {
			leaving = append(leaving, n)
		}
	}
	sort.SliceStable(leaving, func(i, j int) bool { return leaveRank(leaving[i]) < leaveRank(leaving[j]) })
	shortfall := count - chosen
	for _, n := range leaving {
		if shortfall > 0 {
			shortfall--
			t.keep[n.ID] = true
			if n.class == classFailed {
				warn("manager %s is unreachable and no eligible node can replace it; it stays a manager", n.Hostname)
			} else {
				warn("manager %s should not be a manager (%s) but no eligible node can replace it; it stays a manager", n.Hostname, n.why)
			}
			continue
		}
		t.demote = append(t.demote, n)
		if n.class == classFailed {
			t.reasons[n.ID] = "it is unreachable past the grace period"
		} else {
			t.reasons[n.ID] = "it may not be a manager: " + n.why
		}
	}
	if shortfall > 0 {
		warn("spec.managers.count wants %d managers but only %d nodes are eligible (ready, matching the selector, with a zone)", count, count-shortfall)
	}
	// Name the replacements so the runbook says which promote covers which failure.
	var gone []*planNode
	for _, n := range t.demote {
		if n.class == classFailed {
			gone = append(gone, n)
		}
	}
	for _, p := range t.promote {
		for i, f := range gone {
			if f != nil && f.zone == p.zone {
				t.replaced[p.ID] = f.Hostname
				t.reasons[p.ID] = fmt.Sprintf("replaces unreachable manager %s in %s", f.Hostname, zoneName(p.zone))
				gone[i] = nil
				break
			}
		}
	}
	return t
}

// splitCandidates orders a zone's eligible nodes: current seat holders by how much we want
// to keep them (the leader and the operator's own node are demoted last), then workers by
// how cheap they are to promote.
func splitCandidates(ns []*planNode, sp *spec.Spec, self string) (holders, spare []*planNode) {
	for _, n := range ns {
		if n.seatHolder() {
			holders = append(holders, n)
		} else {
			spare = append(spare, n)
		}
	}
	rank := func(n *planNode) int {
		switch {
		case n.class == classManager && n.Leader:
			return 0
		case n.class == classManager && n.ID == self:
			return 1
		case n.class == classManager:
			return 2
		case n.class == classPromoting:
			return 3
		default:
			return 4
		}
	}
	// A node whose demotion is in flight is promoted again only when no other will do.
	sort.SliceStable(spare, func(i, j int) bool { return spare[i].class != classDemoting && spare[j].class == classDemoting })
	sort.SliceStable(holders, func(i, j int) bool { return rank(holders[i]) < rank(holders[j]) })
	want := sp.Managers.Availability
	sort.SliceStable(spare, func(i, j int) bool {
		// A node that already has the managers' availability needs one step less.
		return want != "" && spare[i].Availability == want && spare[j].Availability != want
	})
	return holders, spare
}

// distribute decides how many managers each zone gets.
// dropCost breaks ties between equally cheap choices (see chooseTarget).
func distribute(sp *spec.Spec, count int, capacity, keep map[string]int, dropCost func(string, int) int, warn func(string, ...any)) map[string]int {
	zones := sortedKeys(capacity)
	seats := map[string]int{}
	short := 0
	switch sp.Managers.Spread.Mode {
	case spec.SpreadExplicit:
		for _, z := range sortedKeys(sp.Managers.Spread.Zones) {
			want := sp.Managers.Spread.Zones[z]
			seats[z] = min(want, capacity[z])
			if want > capacity[z] {
				warn("spec.managers.spread.%s wants %d managers but only %d eligible nodes are in zone %s", z, want, capacity[z], z)
				short += want - capacity[z]
			}
		}
	default:
		parts := slices.Clone(sp.Managers.Spread.Counts)
		slices.SortFunc(parts, func(a, b int) int { return b - a })
		if sp.Managers.Spread.Mode == spec.SpreadAuto {
			parts = balanced(count, min(count, len(zones)))
		} else if len(parts) > len(zones) {
			warn("spec.managers.spread %s needs %d zones but only %d have eligible nodes (%s)",
				spreadString(parts), len(parts), len(zones), strings.Join(zones, ", "))
		}
		var assigned map[string]int
		assigned, short = assignParts(parts, zones, capacity, keep, dropCost)
		for z, c := range assigned {
			seats[z] = min(c, capacity[z])
			if c > capacity[z] && sp.Managers.Spread.Mode == spec.SpreadShorthand {
				warn("spec.managers.spread %s: zone %s gets %d managers but has only %d eligible nodes", spreadString(parts), z, c, capacity[z])
			}
		}
	}
	// Seats no zone of the spread can hold go where there is room, so the count, which is
	// what keeps quorum, wins over the spread. Prefer zones whose current managers can stay.
	for ; short > 0; short-- {
		best := ""
		for _, z := range zones {
			if seats[z] >= capacity[z] {
				continue
			}
			if best == "" || betterOverflow(z, best, seats, keep) {
				best = z
			}
		}
		if best == "" {
			break
		}
		seats[best]++
	}
	return seats
}

func betterOverflow(a, b string, seats, keep map[string]int) bool {
	sa, sb := keep[a] > seats[a], keep[b] > seats[b]
	if sa != sb {
		return sa
	}
	if seats[a] != seats[b] {
		return seats[a] < seats[b]
	}
	return a < b
}

// assignParts gives each part of a spread to a distinct zone so that the fewest role changes
// are needed: a dynamic program over zones and the set of parts used. It returns zone -> part
// (parts that no real zone could take are counted in short).
func assignParts(parts []int, zones []string, capacity, keep map[string]int, dropCost func(string, int) int) (map[string]int, int) {
	// Costs are in quarters of a role change so that dropCost (at most 3) only breaks ties;
	// one seat a zone cannot hold costs more than any number of role changes.
	const change, infeasible = 4, 4000
	k := len(parts)
	full := 1<<k - 1
	nz := len(zones)
	// Zones beyond the real ones hold nothing: a part given to them is a seat short.
	total := max(nz, k)
	cost := func(zi, part int) int {
		if zi >= nz {
			return infeasible * part
		}
		z := zones[zi]
		c := min(part, capacity[z])
		d := c - keep[z]
		if d < 0 {
			d = -d
		}
		return d*change + dropCost(z, c) + infeasible*(part-c)
	}
	idle := func(zi int) int {
		if zi >= nz {
			return 0
		}
		return keep[zones[zi]]*change + dropCost(zones[zi], 0)
	}
	dp := make([][]int, total+1)
	choice := make([][]int8, total+1)
	for i := range dp {
		dp[i] = make([]int, full+1)
		choice[i] = make([]int8, full+1)
		for m := range dp[i] {
			dp[i][m] = math.MaxInt
		}
	}
	dp[0][0] = 0
	for i := 0; i < total; i++ {
		for m := 0; m <= full; m++ {
			if dp[i][m] == math.MaxInt {
				continue
			}
			if c := dp[i][m] + idle(i); c < dp[i+1][m] {
				dp[i+1][m], choice[i+1][m] = c, -1
			}
			for j := 0; j < k; j++ {
				if m&(1<<j) != 0 || (j > 0 && parts[j] == parts[j-1] && m&(1<<(j-1)) == 0) {
					continue // equal parts are interchangeable: take them in order
				}
				nm := m | 1<<j
				if c := dp[i][m] + cost(i, parts[j]); c < dp[i+1][nm] {
					dp[i+1][nm], choice[i+1][nm] = c, int8(j)
				}
			}
		}
	}
	out := map[string]int{}
	short := 0
	m := full
	for i := total; i > 0; i-- {
		j := choice[i][m]
		if j < 0 {
			continue
		}
		if i-1 < nz {
			out[zones[i-1]] = parts[j]
			short += max(0, parts[j]-capacity[zones[i-1]])
		} else {
			short += parts[j]
		}
		m &^= 1 << j
	}
	return out, short
}

// balanced splits count into k parts as evenly as possible, largest first: 5,3 -> 2-2-1.
func balanced(count, k int) []int {
	if k == 0 {
		return nil
	}
	parts := make([]int, k)
	for i := range parts {
		parts[i] = count / k
		if i < count%k {
			parts[i]++
		}
	}
	return parts
}

func spreadString(parts []int) string {
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, "-")
}

// managers says "1 healthy manager", "2 healthy managers".
func managers(n int, adjective string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s manager", adjective)
	}
	return fmt.Sprintf("%d %s managers", n, adjective)
}

func zoneName(z string) string {
	if z == "" {
		return "the swarm"
	}
	return "zone " + z
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
