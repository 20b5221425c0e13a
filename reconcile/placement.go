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
	idx  int    // position in the planner's hostname order
	zone string // zone once label steps are applied
	// labelChange is the node's label step, nil without one; see label.
	labelChange *LabelChange
	class       class
	// cooling: it left the managers unreachable less than replaceUnreachableAfter ago
	// (Node.LeftUnreachableAt), so it is not promoted back yet.
	cooling bool
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
	keep     []bool // by planNode.idx: stays a manager
	promote  []*planNode
	demote   []*planNode
	reasons  map[string]string // node ID -> reason of its role change
	replaced map[string]string // promoted node ID -> hostname of the failed manager it replaces
}

// notes is how placement speaks: warn for what a reader should know, unmet for what the nodes
// there are cannot give (it warns too).
type notes struct {
	warn, unmet func(string, ...any)
}

// eligibility says, by planNode.idx, which nodes may hold a manager seat in the target, and
// why a seat holder may not.
type eligibility struct {
	ok  []bool
	why []string
}

// chooseTarget picks the manager set: the fewest role changes that meet the spread.
// It reads nodes and never changes them.
func chooseTarget(sp *spec.Spec, nodes []*planNode, self string, say notes) *target {
	zoned := usesZones(nodes)
	el := eligible(sp, nodes, zoned)
	byZone, holders, spare := candidates(sp, nodes, el, self)
	seats := seatsPerZone(sp, nodes, zoned, byZone, holders, self, say)
	t := &target{keep: make([]bool, len(nodes)), reasons: map[string]string{}, replaced: map[string]string{}}
	chosen := t.fill(seats, byZone, holders, spare)
	t.placeLeaving(nodes, el, sp.Managers.Count, chosen, say)
	t.nameReplacements()
	return t
}

// usesZones tells whether the swarm places managers by zone. Right after a leader change swarm
// shows every node "unknown" for a second or two: such nodes, and managers whatever their
// state, still say whether the swarm uses zones.
func usesZones(nodes []*planNode) bool {
	for _, n := range nodes {
		if n.zone != "" && (n.State == StateReady || n.State == StateUnknown || n.seatHolder()) {
			return true
		}
	}
	return false
}

// eligible decides who may hold a seat: ready (managers whatever their state), matching the
// selector, and with a zone when the swarm uses zones. Failed members never may.
func eligible(sp *spec.Spec, nodes []*planNode, zoned bool) eligibility {
	el := eligibility{ok: make([]bool, len(nodes)), why: make([]string, len(nodes))}
	for _, n := range nodes {
		switch n.class {
		case classFailed:
			continue
		case classPromoting, classWorker, classDemoting:
			if n.State != StateReady {
				el.why[n.idx] = fmt.Sprintf("it is %s", n.State)
				continue
			}
			if n.class == classWorker && n.cooling {
				el.why[n.idx] = fmt.Sprintf("it left the managers unreachable at %s and is not promoted back within spec.policy.replaceUnreachableAfter",
					n.LeftUnreachableAt.UTC().Format("15:04:05"))
				continue
			}
		}
		switch {
		case !n.matches(sp.Managers.Selector):
			el.why[n.idx] = "it does not match spec.managers.selector"
		case zoned && n.zone == "":
			el.why[n.idx] = fmt.Sprintf("it has no %s label while other nodes have one", sp.ZoneLabelOrDefault())
		default:
			el.ok[n.idx] = true
		}
	}
	return el
}

// candidates groups the eligible nodes by zone, and splits each zone into its seat holders
// and spare nodes, in the order they are kept and promoted (see splitCandidates).
func candidates(sp *spec.Spec, nodes []*planNode, el eligibility, self string) (byZone, holders, spare map[string][]*planNode) {
	byZone = map[string][]*planNode{}
	for _, n := range nodes {
		if el.ok[n.idx] {
			byZone[n.zone] = append(byZone[n.zone], n)
		}
	}
	holders, spare = map[string][]*planNode{}, map[string][]*planNode{}
	for z, ns := range byZone {
		holders[z], spare[z] = splitCandidates(ns, sp, self)
	}
	return byZone, holders, spare
}

// seatsPerZone decides how many managers each zone gets, or the whole swarm when it has no zones.
func seatsPerZone(sp *spec.Spec, nodes []*planNode, zoned bool, byZone, holders map[string][]*planNode, self string, say notes) map[string]int {
	capacity, keep := map[string]int{}, map[string]int{}
	for z, ns := range byZone {
		capacity[z], keep[z] = len(ns), len(holders[z])
	}
	count := sp.Managers.Count
	if !zoned {
		if sp.Managers.Spread.Mode != spec.SpreadAuto && len(nodes) > 0 {
			say.unmet("spec.managers.spread cannot be applied: no ready node carries the %s label", sp.ZoneLabelOrDefault())
		}
		return map[string]int{"": min(count, capacity[""])}
	}
	// Among plans with equally few role changes, keep the leader, then the operator's own node,
	// then reachable managers rather than ones waited for in their grace period: a target that
	// keeps the unreachable one over a reachable one may not be reachable without going below
	// the floor, and once part of the plan has run the next plan would choose differently.
	// Weights: see assignParts.
	dropCost := func(z string, seats int) int {
		c := 0
		for _, n := range holders[z][min(seats, len(holders[z])):] {
			if n.Leader {
				c += dropLeader
			}
			if n.ID == self {
				c += dropSelf
			}
			if n.class != classGrace {
				c += dropReachable
			}
		}
		return c
	}
	return distribute(sp, count, capacity, keep, dropCost, say.unmet)
}

// fill keeps the best seat holders of each zone up to its seats, demotes the rest, and promotes
// spare nodes into the seats left. It returns how many seats eligible nodes take.
func (t *target) fill(seats map[string]int, byZone, holders, spare map[string][]*planNode) int {
	chosen := 0
	for _, z := range sortedKeys(byZone) {
		holders, spare := holders[z], spare[z]
		want := seats[z]
		reason := ""
		if len(holders) != want {
			reason = fmt.Sprintf("%s has %s, the spread wants %d", zoneName(z), managers(len(holders), "healthy"), want)
		}
		for i, n := range holders {
			if i < want {
				t.keep[n.idx] = true
				continue
			}
			t.demote = append(t.demote, n)
			t.reasons[n.ID] = reason
		}
		for i := 0; i < want-len(holders) && i < len(spare); i++ {
			n := spare[i]
			t.promote = append(t.promote, n)
			t.reasons[n.ID] = reason
		}
		chosen += min(want, len(holders)+len(spare))
	}
	return chosen
}

// placeLeaving decides about seat holders that may not stay and failed members. They are
// demoted, except that while no eligible node can take their seat they stay, reachable ones
// first (a promote in flight of a ready node settles into one), so the swarm does not shrink
// below its count (or lose its last manager) for the sake of a preference. A failed member
// kept that way only raises the quorum size, so it goes after all when that raises the fault
// tolerance.
func (t *target) placeLeaving(nodes []*planNode, el eligibility, count, chosen int, say notes) {
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
		if n.class == classFailed || (n.seatHolder() && !el.ok[n.idx]) {
			leaving = append(leaving, n)
		}
	}
	sort.SliceStable(leaving, func(i, j int) bool { return leaveRank(leaving[i]) < leaveRank(leaving[j]) })
	shortfall := count - chosen
	var stuck []*planNode // failed members kept for the count
	for _, n := range leaving {
		if shortfall > 0 {
			shortfall--
			t.keep[n.idx] = true
			if n.class == classFailed {
				stuck = append(stuck, n)
			} else {
				say.unmet("manager %s should not be a manager (%s) but no eligible node can replace it; it stays a manager", n.Hostname, el.why[n.idx])
			}
			continue
		}
		t.demote = append(t.demote, n)
		if n.class == classFailed {
			t.reasons[n.ID] = "it is unreachable past the grace period"
		} else {
			t.reasons[n.ID] = "it may not be a manager: " + el.why[n.idx]
		}
	}
	shortfall += t.releaseStuck(nodes, stuck, say)
	if shortfall > 0 {
		say.unmet("spec.managers.count wants %d managers but only %d nodes are eligible (ready, matching the selector, with a zone)", count, chosen)
	}
}

// releaseStuck demotes the fewest failed members kept for the count that give the best fault
// tolerance the target can have: a member that cannot vote counts toward the quorum size and
// toward nothing else (4 members of which 3 reachable tolerate no failure, 3 of 3 tolerate one).
// It returns how many it demoted.
func (t *target) releaseStuck(nodes, stuck []*planNode, say notes) int {
	members, reachable := len(t.promote), len(t.promote)
	for _, n := range nodes {
		if t.keep[n.idx] {
			members++
			if n.class != classGrace && n.class != classFailed {
				reachable++
			}
		}
	}
	// Down members first: they are the least likely to come back.
	sort.SliceStable(stuck, func(i, j int) bool { return stuck[i].State == StateDown && stuck[j].State != StateDown })
	best := FaultTolerance(members-len(stuck), reachable)
	k := 0
	for reachable > 0 && k < len(stuck) && FaultTolerance(members-k, reachable) < best {
		k++
	}
	for i, n := range stuck {
		if i >= k {
			say.unmet("manager %s is unreachable and no eligible node can replace it; it stays a manager", n.Hostname)
			continue
		}
		t.keep[n.idx] = false
		t.demote = append(t.demote, n)
		t.reasons[n.ID] = "it is unreachable past the grace period, and a member that cannot vote only raises the quorum size"
		say.unmet("manager %s is unreachable and no eligible node can replace it; it is demoted, which raises the fault tolerance from %d to %d, and spec.managers.count cannot be met",
			n.Hostname, FaultTolerance(members, reachable), best)
	}
	return k
}

// nameReplacements says which promote covers which failure, so the runbook reads well.
func (t *target) nameReplacements() {
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
	slices.SortStableFunc(holders, func(a, b *planNode) int { return rank(a) - rank(b) })
	// A node that already has the managers' availability needs one step less; a node whose
	// demotion is in flight is promoted again only when no other will do.
	want := sp.Managers.Availability
	spareRank := func(n *planNode) int {
		r := 0
		if want == "" || n.Availability != want {
			r += 2
		}
		if n.class == classDemoting {
			r++
		}
		return r
	}
	slices.SortStableFunc(spare, func(a, b *planNode) int { return spareRank(a) - spareRank(b) })
	return holders, spare
}

// Tie-break weights of seatsPerZone's dropCost, in the units of assignParts' costs. Each weight
// outweighs every sum of the ones below it (fewer than 1024 seat holders), and a role change
// outweighs them all, so a tie-break never buys a role change.
const (
	dropReachable = 1
	dropSelf      = 1 << 10
	dropLeader    = 2 << 10
	dropChange    = 1 << 13
)

// distribute decides how many managers each zone gets. dropCost breaks ties between equally
// cheap choices (see seatsPerZone); warn says what of the spread cannot be met.
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
	// dropCost only breaks ties (see dropChange), and one seat a zone cannot hold costs more
	// than any number of role changes.
	const change, infeasible = dropChange, 1 << 40
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
