package reconcile

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/spec"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// node builds a node from a compact description: hostname, zone ("" for none) and flags:
// M reachable manager, U unreachable manager, L leader, D down, P promote in flight,
// W demote in flight, drain/pause for availability.
func node(host, zone string, flags ...string) Node {
	n := Node{ID: "id-" + host, Version: 10, Hostname: host, DesiredRole: RoleWorker,
		Availability: spec.AvailabilityActive, State: StateReady, Labels: map[string]string{}}
	if zone != "" {
		n.Labels["az"] = zone
	}
	for _, f := range flags {
		switch f {
		case "M":
			n.DesiredRole, n.Member, n.Reachability = RoleManager, true, ReachabilityReachable
		case "U":
			n.DesiredRole, n.Member, n.Reachability = RoleManager, true, ReachabilityUnreachable
		case "L":
			n.Leader = true
		case "D":
			n.State = StateDown
		case "P":
			n.DesiredRole = RoleManager
		case "W":
			n.DesiredRole, n.Member, n.Reachability = RoleWorker, true, ReachabilityReachable
		case "drain":
			n.Availability = spec.AvailabilityDrain
		case "pause":
			n.Availability = spec.AvailabilityPause
		default:
			panic("unknown flag " + f)
		}
	}
	return n
}

func snap(nodes ...Node) Snapshot { return Snapshot{Nodes: nodes, Time: t0} }

// topo builds a topology with count managers and auto spread; mutate adjusts the rest.
func topo(count int, mutate ...func(*spec.Spec)) *spec.SwarmTopology {
	t := &spec.SwarmTopology{APIVersion: spec.APIVersion, Kind: spec.Kind, Metadata: spec.Metadata{Name: "test"},
		Spec: spec.Spec{ZoneLabel: "az", Managers: spec.Managers{Count: count},
			Policy: spec.Policy{ReplaceUnreachableAfter: spec.Duration{Duration: 5 * time.Minute},
				AllowEvenManagers: true, AllowSingleManager: true}}}
	for _, m := range mutate {
		m(&t.Spec)
	}
	return t
}

func mustPlan(t *testing.T, tp *spec.SwarmTopology, s Snapshot) *Plan {
	t.Helper()
	p, err := Compute(tp, s)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	return p
}

// applyAll plays the whole plan on the reference model (oracle_test.go), in-flight changes
// first.
func applyAll(s Snapshot, p *Plan) Snapshot {
	nodes := refSettle(s.Nodes)
	for _, st := range p.Steps {
		nodes = refApply(nodes, st)
	}
	s.Nodes = nodes
	return s
}

// managersByZone describes the manager set as "a:node1,node4 b:node2".
func managersByZone(s Snapshot) string {
	z := map[string][]string{}
	for _, n := range s.Nodes {
		if n.Member {
			z[n.Labels["az"]] = append(z[n.Labels["az"]], n.Hostname)
		}
	}
	var parts []string
	for _, k := range sortedKeys(z) {
		sort.Strings(z[k])
		parts = append(parts, k+":"+strings.Join(z[k], ","))
	}
	return strings.Join(parts, " ")
}

// stepList describes the steps as "promote node2, drain node2, ...".
func stepList(p *Plan) string {
	var s []string
	for _, st := range p.Steps {
		s = append(s, fmt.Sprintf("%s %s", st.Action, st.Hostname))
	}
	return strings.Join(s, ", ")
}

func roleChanges(p *Plan) int {
	n := 0
	for _, st := range p.Steps {
		if st.Action.IsRoleChange() {
			n++
		}
	}
	return n
}

// describe prints a snapshot compactly for failure messages.
func describe(s Snapshot) string {
	var b strings.Builder
	for _, n := range s.Nodes {
		fmt.Fprintf(&b, "\n  %s zone=%q desired=%s member=%v reach=%s leader=%v state=%s avail=%s since=%v labels=%v",
			n.Hostname, n.Labels["az"], n.DesiredRole, n.Member, n.Reachability, n.Leader, n.State, n.Availability, !n.UnreachableSince.IsZero(), n.Labels)
	}
	if s.Self != "" {
		fmt.Fprintf(&b, "\n  self=%s", s.Self)
	}
	return b.String()
}
