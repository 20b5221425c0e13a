package reconcile

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/swarmtopo/swarmtopo/spec"
)

// Compute returns the plan that takes the observed swarm to the desired topology.
// Steps are ordered so that applying them one at a time, each settled before the next,
// never loses quorum and never takes the fault tolerance below Plan.Floor.
// An error means the planner found its own plan unsafe: a bug, never a plan.
func Compute(t *spec.SwarmTopology, s Snapshot) (*Plan, error) {
	sp := &t.Spec
	p := &Plan{Time: s.Time, Steps: []Step{}, Warnings: []string{}}
	if s.Maintenance.Valid(s.Time) {
		p.Maintenance = s.Maintenance
	}
	if s.MaintenanceError != "" {
		p.Warnings = append(p.Warnings, "the maintenance lock cannot be read, so no node counts as in maintenance: "+s.MaintenanceError)
	}
	warn := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if !slices.Contains(p.Warnings, msg) {
			p.Warnings = append(p.Warnings, msg)
		}
	}
	unmet := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if !slices.Contains(p.Warnings, msg) {
			p.Warnings = append(p.Warnings, msg)
		}
		if !slices.Contains(p.Unmet, msg) {
			p.Unmet = append(p.Unmet, msg)
		}
	}
	zoneLabel := sp.ZoneLabelOrDefault()

	nodes := planNodes(&s, sp)
	p.Before = summarize(s.Nodes, zoneLabel, nil)
	// The replays start from the swarm once what is in flight has settled.
	start := settled(s.Nodes)
	index := indexOf(start)

	if reason := blockedReason(&s, start, nodes); reason != "" {
		p.Blocked = reason
		p.After = p.Before
		p.Floor = p.Before.FaultTolerance
		p.LowestFaultTolerance = p.Before.FaultTolerance
		return p, nil
	}

	labelReasons, labelled := planLabels(sp, nodes, warn)
	p.InFlight = inFlight(sp, &s, nodes, warn)

	tg := chooseTarget(sp, nodes, s.Self, notes{warn: warn, unmet: unmet})
	ordered := orderSteps(sp, nodes, tg, s.Self)
	steps := make([]Step, 0, labelled+len(ordered))
	for _, n := range nodes {
		if n.labelChange != nil {
			steps = append(steps, Step{Action: ActionLabel, Node: n.ID, Hostname: n.Hostname,
				Zone: n.zone, Labels: n.labelChange, Reason: labelReasons[n.idx]})
		}
	}
	steps = append(steps, ordered...)
	steps = holdForMaintenance(steps, &s, warn)
	kept, final := keepQuorum(steps, &s, start, index, sp, warn)
	p.Steps = holdForStuckPromotion(kept, &s, warn)
	if len(p.Steps) != len(kept) {
		// Steps were held back: the model must end where the plan does.
		final = newModelOf(start, index, false)
		for _, st := range p.Steps {
			final.apply(st)
		}
	}

	if err := verify(p, &s, start, index, final, zoneLabel); err != nil {
		return nil, err
	}
	return p, nil
}

// planNodes classifies the snapshot's nodes and puts them in hostname order, which is the
// order of the plan's label and availability steps.
func planNodes(s *Snapshot, sp *spec.Spec) []*planNode {
	nodes := make([]*planNode, len(s.Nodes))
	pns := make([]planNode, len(s.Nodes))
	for i := range s.Nodes {
		n := &s.Nodes[i]
		pns[i] = planNode{Node: n, class: classify(n, s, sp.Policy.ReplaceUnreachableAfter),
			cooling: !n.LeftUnreachableAt.IsZero() && s.Time.Sub(n.LeftUnreachableAt) < sp.Policy.ReplaceUnreachableAfter.Duration}
		nodes[i] = &pns[i]
	}
	slices.SortStableFunc(nodes, func(a, b *planNode) int {
		if c := strings.Compare(a.Hostname, b.Hostname); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for i, n := range nodes {
		n.idx = i
	}
	return nodes
}

// planLabels gives each node its label change and its zone once labelled. It returns the
// reasons of the label steps, by planNode.idx, and how many nodes have one.
func planLabels(sp *spec.Spec, nodes []*planNode, warn func(string, ...any)) (reasons []string, labelled int) {
	zoneLabel := sp.ZoneLabelOrDefault()
	reasons = make([]string, len(nodes))
	lb := newLabeler(sp, zoneLabel)
	for _, n := range nodes {
		n.labelChange, reasons[n.idx] = lb.plan(n.Node, warn)
		n.zone = n.label(zoneLabel)
		if n.labelChange != nil {
			labelled++
		}
	}
	return reasons, labelled
}

// inFlight lists the role changes swarm has not finished, and warns of those that are stuck and
// of managers waited for inside their grace period or their maintenance lock.
func inFlight(sp *spec.Spec, s *Snapshot, nodes []*planNode, warn func(string, ...any)) []InFlight {
	var out []InFlight
	for _, n := range nodes {
		switch n.class {
		case classPromoting, classDemoting:
			f := inFlightOf(n.Node, s.Time)
			out = append(out, f)
			if f.Stuck {
				warn("%s. To end it: %s", f.Reason, f.Advice)
			}
		case classGrace:
			if l := s.InMaintenance(n.ID); l != nil {
				warn("manager %s is in maintenance (held by %s until %s%s): it is not replaced while the lock holds",
					n.Hostname, l.Holder, l.Expiry.UTC().Format(time.RFC3339), reasonSuffix(l.Reason))
				continue
			}
			warn("manager %s is unreachable since %s; it is replaced once %s have passed",
				n.Hostname, n.UnreachableSince.UTC().Format("15:04:05"), sp.Policy.ReplaceUnreachableAfter.Duration)
		}
	}
	return out
}

// blockedReason says why no change may be made at all, or "".
// start is Settle(s.Nodes).
func blockedReason(s *Snapshot, start []Node, nodes []*planNode) string {
	const advice = QuorumLostAdvice
	if s.ClusterError != "" {
		return "the swarm has lost quorum: " + s.ClusterError + ". " + advice
	}
	r := memberState(s.Nodes)
	if r.members == 0 {
		return "the snapshot shows no manager: it was not taken through a swarm manager"
	}
	if r.ft() < 0 {
		var down []string
		for _, n := range nodes {
			if n.Member && n.Reachability != ReachabilityReachable {
				down = append(down, n.Hostname)
			}
		}
		return fmt.Sprintf("the swarm has lost quorum: %d of %d managers are reachable and %d are needed (unreachable: %s). No role change is possible. %s",
			r.reachable, r.members, Quorum(r.members), strings.Join(down, ", "), advice)
	}
	if settled := memberState(start); settled.ft() < 0 {
		// Swarm retries such a demotion every 5 s and refuses it while it would lose quorum;
		// no other role change may start before it finishes.
		var demoting []string
		for _, n := range nodes {
			if n.class == classDemoting {
				demoting = append(demoting, n.Hostname)
			}
		}
		return fmt.Sprintf("the demotion of %s, already asked for, cannot finish: it would leave %d of %d managers reachable. "+
			"Bring the unreachable managers back, or cancel it with `docker node promote`", strings.Join(demoting, ", "), settled.reachable, settled.members)
	}
	for _, n := range nodes {
		if n.Member && n.Leader {
			return ""
		}
	}
	return "the swarm has no leader right now (an election may be in progress); nothing is changed until one is elected"
}

func labelReason(lc *LabelChange) string {
	var parts []string
	for _, k := range sortedKeys(lc.Add) {
		if k != ManagedLabelsKey {
			parts = append(parts, k+"="+lc.Add[k])
		}
	}
	for _, k := range lc.Remove {
		if k != ManagedLabelsKey {
			parts = append(parts, "-"+k)
		}
	}
	if len(parts) == 0 {
		return "record which labels swarmtopo manages"
	}
	return "the topology file sets " + strings.Join(parts, ", ")
}

// keepQuorum drops demotes that would take the fault tolerance below what the swarm has now
// or what the file asks for: a target can count unreachable managers still inside their grace
// period, and the count is not worth a step closer to losing quorum. The dropped node stays a
// manager until a later pass finds the demote safe. It also drops promotes that would leave the
// quorum depending on the newcomer beside an unreachable manager still waited for (model.check).
// start is Settle(s.Nodes) and index indexOf(start). It filters steps in place, and returns
// them with the model once they are all played.
func keepQuorum(steps []Step, s *Snapshot, start []Node, index map[string]int, sp *spec.Spec, warn func(string, ...any)) ([]Step, *model) {
	count := sp.Managers.Count
	guide := min(memberState(s.Nodes).ft(), memberState(start).ft(), FaultTolerance(count, count))
	cur := newModelOf(start, index, false)
	kept := map[string]bool{}
	// stay gives the node of a dropped role change the availability of the role it keeps.
	stay := func(out []Step, st Step, want spec.Availability, role string) []Step {
		if want == "" || cur.node(st.Node).Availability == want {
			return out
		}
		av := Step{Action: availabilityAction(want), Node: st.Node, Hostname: st.Hostname, Zone: st.Zone,
			Reason: fmt.Sprintf("spec.%s.availability is %s", role, want)}
		cur.apply(av)
		return append(out, av)
	}
	// Each step gives at most one (a dropped demote gives its availability step instead), so
	// out never overtakes the step being read.
	out := steps[:0]
	for _, st := range steps {
		if kept[st.Node] {
			continue // what follows a dropped demote or promote: its availability or removal
		}
		if st.Action == ActionPromote {
			if err := cur.check(st, guide); errors.Is(err, ErrQuorumLost) {
				r := cur.raft
				warn("the promotion of %s waits: with %d of %d managers reachable, the quorum would depend on it until it joins raft; it goes once the unreachable managers are back or replaced",
					st.Hostname, r.reachable, r.members)
				kept[st.Node] = true
				// It stays a worker for now, so it gets the workers' availability.
				out = stay(out, st, sp.Workers.Availability, "workers")
				continue
			}
		}
		if st.Action == ActionDemote {
			if err := cur.check(st, guide); errors.Is(err, ErrQuorumLost) || errors.Is(err, ErrBelowFloor) {
				r := cur.raft
				warn("manager %s stays for now: demoting it would leave %d of %d managers reachable (fault tolerance %d, must stay at least %d)",
					st.Hostname, r.reachable-1, r.members-1, FaultTolerance(r.members-1, r.reachable-1), guide)
				kept[st.Node] = true
				// It stays a manager for now, so it gets the managers' availability.
				out = stay(out, st, sp.Managers.Availability, "managers")
				continue
			}
		}
		cur.apply(st)
		out = append(out, st)
	}
	return out, cur
}

// settled is Settle(nodes), or nodes themselves when settling changes nothing: no role change
// in flight, and a member leads while no other node claims to. The planner never writes it.
func settled(nodes []Node) []Node {
	leads := false
	for i := range nodes {
		n := &nodes[i]
		if RoleInFlight(n) || (n.Leader && (!n.Member || leads)) {
			return Settle(nodes)
		}
		leads = leads || n.Leader
	}
	if !leads {
		return Settle(nodes)
	}
	return nodes
}
