// Package adopt describes a swarm as it is as a topology file, so that a user can start from the
// swarm they have: `swarmtopo export` writes it, and planning against the same swarm with it
// changes nothing.
//
// What it writes is only what the swarm shows unambiguously: the manager count, the spread as a
// map of the zones the managers are in, and availabilities where they are uniform. Whatever it
// had to guess, or left out because writing it would make the first plan change something, is a
// comment in the file. Zone rules by hostname are such a comment: swarmtopo records the labels it
// manages on each node, so a rule, even one that matches today's labels, makes the first plan
// write that record.
package adopt

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// ErrInFlight means a role change has not settled: the swarm is between two shapes.
var ErrInFlight = errors.New("adopt: role change in flight")

// Result is the exported topology and what was guessed or left out, one sentence each.
type Result struct {
	Topology *spec.SwarmTopology
	Notes    []string
}

// Describe returns the topology of the swarm in s. zoneLabel is the node label holding the zone.
func Describe(s reconcile.Snapshot, name, zoneLabel string) (Result, error) {
	if s.ClusterError != "" {
		return Result{}, fmt.Errorf("the swarm has no leader, so its nodes cannot be read: %s", s.ClusterError)
	}
	var managers, workers []*reconcile.Node
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if reconcile.RoleInFlight(n) {
			return Result{}, fmt.Errorf("%w: %s is becoming a %s; export once it has settled", ErrInFlight, n.Hostname, n.DesiredRole)
		}
		if n.Member {
			managers = append(managers, n)
		} else {
			workers = append(workers, n)
		}
	}
	if len(managers) == 0 {
		return Result{}, errors.New("the snapshot has no manager")
	}
	t := &spec.SwarmTopology{APIVersion: spec.APIVersion, Kind: spec.Kind}
	t.Metadata.Name = name
	sp := &t.Spec
	if zoneLabel != spec.DefaultZoneLabel {
		sp.ZoneLabel = zoneLabel
	}
	r := Result{Topology: t}
	note := func(format string, args ...any) { r.Notes = append(r.Notes, fmt.Sprintf(format, args...)) }

	// Written out so that the file says what it assumes rather than leaning on a default.
	sp.Policy.ReplaceUnreachableAfter = spec.Duration{Duration: spec.DefaultReplaceUnreachableAfter}
	sp.Managers.Count = len(managers)
	switch n := len(managers); {
	case n == 1:
		sp.Policy.AllowSingleManager = true
		note("the swarm has a single manager: allowSingleManager is set so the file describes it; raise count to 3 for fault tolerance 1")
	case n%2 == 0:
		sp.Policy.AllowEvenManagers = true
		note("the swarm has %d managers, an even number: allowEvenManagers is set; %d tolerate no more failures than %d", n, n, n-1)
	}
	for _, m := range managers {
		if m.Reachability != reconcile.ReachabilityReachable {
			note("manager %s is %s: it is counted, and the plan replaces it once past replaceUnreachableAfter", m.Hostname, m.Reachability)
		}
	}

	zones := map[string]int{}
	var unzoned []string
	for _, m := range managers {
		if z := m.Labels[zoneLabel]; z != "" {
			zones[z]++
		} else {
			unzoned = append(unzoned, m.Hostname)
		}
	}
	switch {
	case len(unzoned) == 0:
		sp.Managers.Spread = spec.Spread{Mode: spec.SpreadExplicit, Zones: zones}
	case len(zones) == 0:
		note("no manager has the %q label, so the spread is auto (one zone); label the nodes with their zones to spread them", zoneLabel)
	default:
		slices.Sort(unzoned)
		note("managers %s have no %q label, so the spread is left auto; label them, then write the spread as a map", strings.Join(unzoned, ", "), zoneLabel)
	}

	if a, ok := uniform(managers); ok {
		sp.Managers.Availability = a
	} else {
		note("the managers' availability differs from node to node (%s), so it is left alone", mix(managers))
	}
	if len(workers) > 0 {
		if a, ok := uniform(workers); ok {
			sp.Workers.Availability = a
		} else {
			note("the workers' availability differs from node to node (%s), so it is left alone", mix(workers))
		}
	}
	if rules := zoneRules(s.Nodes, zoneLabel); len(rules) > 0 {
		var parts []string
		for _, z := range slices.Sorted(maps.Keys(rules)) {
			parts = append(parts, fmt.Sprintf("%s: [%q]", z, rules[z]))
		}
		note("hostnames suggest zone rules; to have swarmtopo keep the zone labels, add under spec: zones: {%s}", strings.Join(parts, ", "))
	}
	return r, nil
}

func uniform(nodes []*reconcile.Node) (spec.Availability, bool) {
	a := nodes[0].Availability
	for _, n := range nodes[1:] {
		if n.Availability != a {
			return "", false
		}
	}
	return a, true
}

func mix(nodes []*reconcile.Node) string {
	count := map[spec.Availability]int{}
	for _, n := range nodes {
		count[n.Availability]++
	}
	var parts []string
	for _, a := range slices.Sorted(maps.Keys(count)) {
		parts = append(parts, fmt.Sprintf("%d %s", count[a], a))
	}
	return strings.Join(parts, ", ")
}

// zoneRules returns, per zone, a hostname glob "PREFIX*" when the hostnames make it obvious:
// every node of the zone shares the prefix, no node outside the zone has it, and the prefix is
// more than a character. Any zone without such a prefix means no rules at all: half a rule set
// would mislead.
func zoneRules(nodes []reconcile.Node, zoneLabel string) map[string]string {
	byZone := map[string][]string{}
	for _, n := range nodes {
		byZone[n.Labels[zoneLabel]] = append(byZone[n.Labels[zoneLabel]], n.Hostname)
	}
	if _, unzoned := byZone[""]; unzoned || len(byZone) < 2 {
		return nil
	}
	rules := map[string]string{}
	for z, hosts := range byZone {
		p := commonPrefix(hosts)
		if len(p) < 2 {
			return nil
		}
		for oz, others := range byZone {
			for _, h := range others {
				if oz != z && strings.HasPrefix(h, p) {
					return nil
				}
			}
		}
		rules[z] = p + "*"
	}
	return rules
}

func commonPrefix(ss []string) string {
	sort.Strings(ss)
	a, b := ss[0], ss[len(ss)-1]
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[:i]
}
