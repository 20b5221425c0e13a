package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Engine configurations: every node on one engine, or the leader (node1) on one and the other
// nodes on the other.
const (
	E2010      = "20.10"
	E261       = "26.1"
	EMixed2010 = "mixed/leader-20.10"
	EMixed261  = "mixed/leader-26.1"
)

// Engines lists the engine configurations in the order Plan and Table use.
var Engines = []string{E2010, E261, EMixed2010, EMixed261}

// Kind is a fault kind.
type Kind string

// Fault kinds.
const (
	// KindKill kills a node's dockerd with SIGKILL and starts it again after For.
	KindKill Kind = "kill"
	// KindRestart stops a node's dockerd with SIGTERM and starts it again after For.
	KindRestart Kind = "restart"
	// KindPause stops a node's dockerd with SIGSTOP for For, then SIGCONT.
	KindPause Kind = "pause"
	// KindPartition takes one node's link down for For.
	KindPartition Kind = "partition"
	// KindSplit cuts the lab into two islands for For: MinoritySize managers with some workers,
	// and the other managers with the other workers.
	KindSplit Kind = "split"
	// KindOperatorKill kills one operator instance with SIGKILL at Moment and starts it again
	// after For.
	KindOperatorKill Kind = "operator-kill"
	// KindHuman is a human edit through the docker CLI (Edit).
	KindHuman Kind = "human"
	// KindSocket takes the Docker socket of the acting operator instance away for For.
	KindSocket Kind = "socket"
	// KindNewFile replaces the target topology with NewTarget at At, while a plan runs.
	KindNewFile Kind = "new-file"
)

// Kinds lists every fault kind in the order Plan covers them and Table prints them.
var Kinds = []Kind{KindKill, KindRestart, KindPause, KindPartition, KindSplit, KindOperatorKill, KindHuman, KindSocket, KindNewFile}

// nodeFault reports whether the kind hits one node's engine or link, and so has a Target.
func (k Kind) nodeFault() bool {
	switch k {
	case KindKill, KindRestart, KindPause, KindPartition:
		return true
	}
	return false
}

// Target says which node a fault hits; the runner resolves it when the fault starts, since
// roles move during a run.
type Target string

// Targets.
const (
	TargetLeader   Target = "leader"
	TargetFollower Target = "follower" // a manager that does not lead
	TargetActing   Target = "acting"   // the node of the operator instance that acts
	TargetWorker   Target = "worker"
	TargetAny      Target = "any"
)

// Moments at which operator-kill strikes.
const (
	MomentAfterSend  = "after-send"   // right after the instance sent a step
	MomentMidSettle  = "mid-settle"   // while it waits for a step to settle
	MomentRandom     = "random"       // at At, whatever it is doing
	EditPromote      = "promote"      // human: promote a worker
	EditDemote       = "demote"       // human: demote a manager that does not lead
	EditAvailability = "availability" // human: change a node's availability
	EditLabel        = "label"        // human: add a label to a node
)

// Fault is one fault of a scenario. At counts from the moment the operators start.
type Fault struct {
	Kind   Kind          `json:"kind"`
	Target Target        `json:"target,omitempty"`
	At     time.Duration `json:"at"`
	For    time.Duration `json:"for,omitempty"`
	// Moment is operator-kill's: MomentAfterSend, MomentMidSettle or MomentRandom.
	Moment string `json:"moment,omitempty"`
	// Edit is human's: EditPromote, EditDemote, EditAvailability or EditLabel.
	Edit string `json:"edit,omitempty"`
	// MinoritySize is split's: how many managers the minority island holds, fewer than half of
	// the managers the scenario starts and ends with.
	MinoritySize int `json:"minoritySize,omitempty"`
	// NewTarget is new-file's: the topology that replaces the scenario's Target.
	NewTarget *Topology `json:"newTarget,omitempty"`
}

// String describes the fault in a few words: "kill leader at 3s for 14s".
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString(string(f.Kind))
	switch {
	case f.Target != "":
		b.WriteString(" " + string(f.Target))
	case f.Kind == KindSplit:
		fmt.Fprintf(&b, " minority=%d", f.MinoritySize)
	}
	if f.Moment != "" {
		b.WriteString(" " + f.Moment)
	}
	if f.Edit != "" {
		b.WriteString(" " + f.Edit)
	}
	if f.NewTarget != nil {
		b.WriteString(" to " + f.NewTarget.String())
	}
	fmt.Fprintf(&b, " at %s", f.At)
	if f.For > 0 {
		fmt.Fprintf(&b, " for %s", f.For)
	}
	return b.String()
}

// Scenario is one randomized run: the lab, where it starts, the target, and the faults.
type Scenario struct {
	Seed   int64  `json:"seed"`
	Index  int    `json:"index"`
	Engine string `json:"engine"`
	// Primary is the fault kind the scenario was made to cover; Faults holds it first in kind.
	Primary Kind `json:"primary"`
	// Nodes is the lab size, 5..9.
	Nodes int `json:"nodes"`
	// Zones are given to the nodes round robin: node i is in Zones[(i-1)%len(Zones)].
	Zones []string `json:"zones"`
	// StartManagers is how many nodes start as managers: node1..nodeM, node1 leading.
	StartManagers int `json:"startManagers"`
	// StartDrained says whether the starting managers are drained.
	StartDrained bool     `json:"startDrained,omitempty"`
	Target       Topology `json:"target"`
	// Faults are sorted by At.
	Faults []Fault `json:"faults"`
	// HealBy is when every fault is over: the latest At+For.
	HealBy time.Duration `json:"healBy"`
}

// ID names the scenario: "s42-i17". Plan with the same seed and engine list, from that index,
// gives it again.
func (s Scenario) ID() string { return fmt.Sprintf("s%d-i%d", s.Seed, s.Index) }

// Start is the state the lab starts in.
func (s Scenario) Start() StartState {
	return StartState{Nodes: s.Nodes, Zones: s.Zones, Managers: s.StartManagers, Drained: s.StartDrained}
}

// Kinds lists the scenario's fault kinds once each, in Kinds order.
func (s Scenario) Kinds() []Kind {
	var out []Kind
	for _, k := range Kinds {
		if slices.ContainsFunc(s.Faults, func(f Fault) bool { return f.Kind == k }) {
			out = append(out, k)
		}
	}
	return out
}

// String describes the scenario on one line.
func (s Scenario) String() string {
	faults := make([]string, len(s.Faults))
	for i, f := range s.Faults {
		faults[i] = f.String()
	}
	drained := ""
	if s.StartDrained {
		drained = " drained"
	}
	return fmt.Sprintf("%s engine=%s nodes=%d zones=%s start=%dm%s target=%s faults=[%s] healBy=%s",
		s.ID(), s.Engine, s.Nodes, strings.Join(s.Zones, ","), s.StartManagers, drained, s.Target,
		strings.Join(faults, "; "), s.HealBy)
}

// Plan returns scenarios first..first+n-1. Engines go round robin, and the primary fault kind
// of scenario i is Kinds[(i/len(engines)) % len(Kinds)], so that every kind meets every engine
// within len(engines)*len(Kinds) scenarios. No engines means Engines.
func Plan(seed int64, n, first int, engines []string) []Scenario {
	if len(engines) == 0 {
		engines = Engines
	}
	out := make([]Scenario, 0, max(n, 0))
	for i := first; i < first+n; i++ {
		out = append(out, Generate(seed, i, engines[i%len(engines)], Kinds[(i/len(engines))%len(Kinds)]))
	}
	return out
}

// Generate makes scenario index of seed, whose first fault is of kind primary. It draws from a
// random source of its own seeded by seed and index, so the scenario does not depend on any
// other; engine is only recorded, it changes nothing else.
func Generate(seed int64, index int, engine string, primary Kind) Scenario {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(index)^0x9e3779b97f4a7c15))
	s := Scenario{Seed: seed, Index: index, Engine: engine, Primary: primary}
	g := &gen{r: r}

	s.Nodes = 5 + r.IntN(5)
	s.Zones = []string{"a", "b", "c"}[:g.pick(15, 25, 60)+1]
	needsSplit := primary == KindSplit
	s.StartManagers = g.managerCount(s.Nodes, needsSplit)
	s.StartDrained = r.IntN(10) < 3
	start := s.Start()

	// Most scenarios start away from their target so that the operator has work to do while the
	// faults strike; a few start converged, to see that faults alone cause no churn.
	wantWork := r.IntN(100) < 88
	for try := 0; ; try++ {
		s.Target = g.topology(start, needsSplit)
		if try == 20 || !wantWork || hasWork(start, s.Target) {
			break
		}
	}

	s.Faults = []Fault{g.fault(primary, &s)}
	extras := g.pick(50, 35, 15)
	for range extras {
		k := Kinds[r.IntN(len(Kinds))]
		if k == KindSplit || k == KindNewFile {
			// One island layout and one file change per scenario keep a failure readable.
			if slices.ContainsFunc(s.Faults, func(f Fault) bool { return f.Kind == k }) || (k == KindSplit && !splittable(&s)) {
				continue
			}
		}
		s.Faults = append(s.Faults, g.fault(k, &s))
	}
	slices.SortStableFunc(s.Faults, func(a, b Fault) int { return int(a.At - b.At) })
	for _, f := range s.Faults {
		s.HealBy = max(s.HealBy, f.At+f.For)
	}
	return s
}

// gen draws the parts of a scenario.
type gen struct{ r *rand.Rand }

// pick returns i with probability weights[i]/sum(weights).
func (g *gen) pick(weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := g.r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func (g *gen) seconds(lo, hi int) time.Duration {
	return time.Duration(lo+g.r.IntN(hi-lo+1)) * time.Second
}

// managerCount draws a manager count for a lab of nodes: mostly 3 or 5, at least 3 when the
// managers are to be split into a minority and a majority.
func (g *gen) managerCount(nodes int, atLeast3 bool) int {
	for {
		n := []int{1, 2, 3, 4, 5, 6, 7, 8, 9}[g.pick(8, 5, 35, 6, 25, 4, 10, 2, 5)]
		if n <= nodes && (!atLeast3 || n >= 3) {
			return n
		}
	}
}

// topology draws a target the lab can meet.
func (g *gen) topology(start StartState, atLeast3 bool) Topology {
	r := g.r
	t := Topology{Count: g.managerCount(start.Nodes, atLeast3)}
	caps := zoneSizes(start)
	switch g.pick(62, 8, 15, 15) {
	case 0:
		t.Spread = "auto"
	case 1:
		// Left out: the parser's default, auto.
	case 2:
		t.Spread = shorthand(r, t.Count, caps, start.Zones)
	case 3:
		t.SpreadMap = spreadMap(r, t.Count, caps, start.Zones)
		if t.SpreadMap == nil {
			t.Spread = "auto"
		}
	}
	t.Drain = r.IntN(10) < 4
	t.WorkerAvailability = []string{"", "active", "pause", "drain"}[g.pick(50, 30, 10, 10)]
	t.Labels = r.IntN(4) == 0
	return t
}

// zoneSizes counts the lab's nodes per zone.
func zoneSizes(s StartState) map[string]int {
	caps := map[string]int{}
	for i := 1; i <= s.Nodes; i++ {
		caps[s.zoneOf(i)]++
	}
	return caps
}

// shorthand splits count into parts that the zones can hold, largest part in the largest zone,
// as the planner places them; "auto" when the zones cannot.
func shorthand(r *rand.Rand, count int, caps map[string]int, zones []string) string {
	sizes := make([]int, 0, len(zones))
	for _, z := range zones {
		sizes = append(sizes, caps[z])
	}
	slices.Sort(sizes)
	slices.Reverse(sizes)
	for range 10 {
		k := 1 + r.IntN(min(len(zones), count))
		parts := randomParts(r, count, sizes[:k])
		if parts == nil {
			continue
		}
		slices.Sort(parts)
		slices.Reverse(parts)
		ok := true
		for i, p := range parts {
			ok = ok && p <= sizes[i]
		}
		if ok {
			strs := make([]string, len(parts))
			for i, p := range parts {
				strs[i] = fmt.Sprint(p)
			}
			return strings.Join(strs, "-")
		}
	}
	return "auto"
}

// spreadMap gives count managers to a random set of zones within their sizes; nil when the
// draws did not find one.
func spreadMap(r *rand.Rand, count int, caps map[string]int, zones []string) map[string]int {
	for range 10 {
		k := 1 + r.IntN(min(len(zones), count))
		chosen := slices.Clone(zones)
		r.Shuffle(len(chosen), func(i, j int) { chosen[i], chosen[j] = chosen[j], chosen[i] })
		chosen = chosen[:k]
		sizes := make([]int, k)
		for i, z := range chosen {
			sizes[i] = caps[z]
		}
		parts := randomParts(r, count, sizes)
		if parts == nil {
			continue
		}
		m := make(map[string]int, k)
		for i, z := range chosen {
			m[z] = parts[i]
		}
		return m
	}
	return nil
}

// randomParts splits count into len(limits) parts of at least 1, part i at most limits[i]; nil
// when they cannot hold count.
func randomParts(r *rand.Rand, count int, limits []int) []int {
	total := 0
	for _, l := range limits {
		total += l
	}
	if len(limits) > count || total < count {
		return nil
	}
	parts := make([]int, len(limits))
	for i := range parts {
		parts[i] = 1
	}
	for left := count - len(limits); left > 0; left-- {
		var open []int
		for i := range parts {
			if parts[i] < limits[i] {
				open = append(open, i)
			}
		}
		parts[open[r.IntN(len(open))]]++
	}
	return parts
}

// splittable reports whether the managers at start and in the target can be cut into a
// minority and a majority.
func splittable(s *Scenario) bool { return min(s.StartManagers, s.Target.Count) >= 3 }

// fault draws one fault of kind k for the scenario as drawn so far.
func (g *gen) fault(k Kind, s *Scenario) Fault {
	r := g.r
	f := Fault{Kind: k, At: g.seconds(0, 12)}
	if r.IntN(4) == 0 {
		f.At = g.seconds(13, 20)
	}
	managers := min(s.StartManagers, s.Target.Count)
	workers := s.Nodes - max(s.StartManagers, s.Target.Count)
	switch k {
	case KindKill, KindRestart, KindPause, KindPartition:
		targets := []Target{TargetLeader, TargetActing, TargetAny}
		if managers >= 2 {
			targets = append(targets, TargetFollower, TargetFollower)
		}
		if workers >= 1 {
			targets = append(targets, TargetWorker)
		}
		f.Target = targets[r.IntN(len(targets))]
		f.For = g.duration(k == KindPause)
	case KindSplit:
		f.MinoritySize = 1 + r.IntN((managers-1)/2)
		f.For = g.duration(false)
	case KindOperatorKill:
		f.Moment = []string{MomentAfterSend, MomentMidSettle, MomentRandom}[r.IntN(3)]
		f.For = g.duration(false)
	case KindHuman:
		edits := []string{EditAvailability, EditLabel}
		if workers >= 1 {
			edits = append(edits, EditPromote)
		}
		if managers >= 3 {
			// A demote by hand of one of two managers leaves one: the swarm allows it, but it
			// tests the human more than the operator.
			edits = append(edits, EditDemote)
		}
		f.Edit = edits[r.IntN(len(edits))]
		switch f.Edit {
		case EditPromote:
			f.Target = TargetWorker
		case EditDemote:
			f.Target = TargetFollower
		default:
			f.Target = TargetAny
		}
	case KindSocket:
		f.For = g.duration(false)
	case KindNewFile:
		// Mid-plan: the first steps have been sent, the last not yet.
		f.At = g.seconds(2, 15)
		for try := 0; ; try++ {
			nt := g.topology(s.Start(), s.Primary == KindSplit)
			if try == 20 || nt.String() != s.Target.String() {
				f.NewTarget = &nt
				break
			}
		}
	}
	// Keep the scenario short: everything is over within about 45 s of the start, but for a
	// long pause.
	if f.At+f.For > 45*time.Second {
		f.At = max(0, 45*time.Second-f.For)
	}
	return f
}

// duration draws how long a fault lasts. It skips 9..12 s so that a fault is plainly shorter or
// longer than the grace period before a manager is replaced (ReplaceUnreachableAfter, 10 s), and
// RoleBound does not depend on a second either way.
func (g *gen) duration(pause bool) time.Duration {
	switch g.pick(50, 40, 10) {
	case 0:
		return g.seconds(5, 8)
	case 1:
		return g.seconds(13, 25)
	}
	if pause {
		return g.seconds(26, 60)
	}
	return g.seconds(26, 40)
}
