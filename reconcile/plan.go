package reconcile

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/swarmtopo/swarmtopo/spec"
)

// Compute returns the plan that takes the observed swarm to the desired topology.
// Steps are ordered so that applying them one at a time, each settled before the next,
// never loses quorum and never takes the fault tolerance below Plan.Floor.
// An error means the planner found its own plan unsafe: a bug, never a plan.
func Compute(t *spec.SwarmTopology, s Snapshot) (*Plan, error) {
	sp := &t.Spec
	p := &Plan{Time: s.Time, Steps: []Step{}, Warnings: []string{}}
	warn := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if !slices.Contains(p.Warnings, msg) {
			p.Warnings = append(p.Warnings, msg)
		}
	}
	zoneLabel := sp.ZoneLabelOrDefault()

	nodes := make([]*planNode, len(s.Nodes))
	for i := range s.Nodes {
		n := &s.Nodes[i]
		nodes[i] = &planNode{Node: n, class: classify(n, &s, sp.Policy.ReplaceUnreachableAfter)}
	}
	sort.SliceStable(nodes, func(i, j int) bool {
		if nodes[i].Hostname != nodes[j].Hostname {
			return nodes[i].Hostname < nodes[j].Hostname
		}
		return nodes[i].ID < nodes[j].ID
	})
	p.Before = summarize(s.Nodes, zoneLabel)

	if reason := blockedReason(&s, nodes); reason != "" {
		p.Blocked = reason
		p.After = p.Before
		p.Floor = p.Before.FaultTolerance
		p.LowestFaultTolerance = p.Before.FaultTolerance
		return p, nil
	}

	var labelSteps []Step
	for _, n := range nodes {
		lp := planLabels(sp, zoneLabel, n.Node, warn)
		n.labels = lp.after
		n.zone = lp.after[zoneLabel]
		if lp.change != nil {
			labelSteps = append(labelSteps, Step{Action: ActionLabel, Node: n.ID, Hostname: n.Hostname,
				Zone: n.zone, Labels: lp.change, Reason: labelReason(lp.change)})
		}
	}
	for _, n := range nodes {
		switch n.class {
		case classPromoting, classDemoting:
			f := inFlightOf(n.Node)
			p.InFlight = append(p.InFlight, f)
			if f.Stuck {
				warn("%s. To end it: %s", f.Reason, f.Advice)
			}
		case classGrace:
			warn("manager %s is unreachable since %s; it is replaced once %s have passed",
				n.Hostname, n.UnreachableSince.UTC().Format("15:04:05"), sp.Policy.ReplaceUnreachableAfter.Duration)
		}
	}

	tg := chooseTarget(sp, nodes, s.Self, warn)
	steps := labelSteps
	steps = append(steps, orderSteps(sp, nodes, tg, s.Self)...)
	p.Steps = holdForStuckPromotion(keepQuorum(steps, &s, sp, warn), &s, warn)

	if err := verify(p, &s, zoneLabel); err != nil {
		return nil, err
	}
	return p, nil
}

// blockedReason says why no change may be made at all, or "".
func blockedReason(s *Snapshot, nodes []*planNode) string {
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
	if settled := memberState(Settle(s.Nodes)); settled.ft() < 0 {
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
// manager until a later pass finds the demote safe.
func keepQuorum(steps []Step, s *Snapshot, sp *spec.Spec, warn func(string, ...any)) []Step {
	start := Settle(s.Nodes)
	count := sp.Managers.Count
	guide := min(memberState(s.Nodes).ft(), memberState(start).ft(), FaultTolerance(count, count))
	cur := newModel(start)
	kept := map[string]bool{}
	out := steps[:0:0]
	for _, st := range steps {
		if kept[st.Node] {
			continue // what follows a dropped demote: its availability or removal
		}
		if st.Action == ActionDemote {
			if err := cur.check(st, guide); errors.Is(err, ErrQuorumLost) || errors.Is(err, ErrBelowFloor) {
				r := cur.raft
				warn("manager %s stays for now: demoting it would leave %d of %d managers reachable (fault tolerance %d, must stay at least %d)",
					st.Hostname, r.reachable-1, r.members-1, FaultTolerance(r.members-1, r.reachable-1), guide)
				kept[st.Node] = true
				// It stays a manager for now, so it gets the managers' availability.
				if want := sp.Managers.Availability; want != "" && cur.node(st.Node).Availability != want {
					av := Step{Action: availabilityAction(want), Node: st.Node, Hostname: st.Hostname, Zone: st.Zone,
						Reason: fmt.Sprintf("spec.managers.availability is %s", want)}
					cur.apply(av)
					out = append(out, av)
				}
				continue
			}
		}
		cur.apply(st)
		out = append(out, st)
	}
	return out
}
