package render

import (
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// IDs of the real lab swarm, so the examples look like what an operator sees.
const (
	id1 = "5j8oben3vcjddow95475r5xzu"
	id2 = "vjdkl0bmwirftfnnic3tfm89e"
	id3 = "8fuz4kpuu76g57dklc8z3razy"
	id4 = "oy07p3y62zs33plgeg2rf9sah"
	id5 = "362yz8xwrxh4io9ohutnpscci"
)

var observedAt = time.Date(2026, 11, 27, 12, 43, 0, 0, time.UTC)

// examples are hand-built plans, one per situation the outputs must read well in. Each is
// printed in every format and compared with testdata/<name>.<format>.golden.
var examples = []struct {
	name string
	plan reconcile.Plan
}{
	{"converged", reconcile.Plan{
		Before:               reconcile.Summary{Managers: 5, Reachable: 5, FaultTolerance: 2, Zones: map[string]int{"c": 1, "a": 2, "b": 2}},
		After:                reconcile.Summary{Managers: 5, Reachable: 5, FaultTolerance: 2, Zones: map[string]int{"c": 1, "a": 2, "b": 2}},
		LowestFaultTolerance: 2,
		Floor:                2,
		Time:                 observedAt,
	}},
	{"scale-3-to-5", reconcile.Plan{
		Steps: []reconcile.Step{
			{Action: reconcile.ActionLabel, Node: id5, Hostname: "node5", Zone: "b",
				Labels: &reconcile.LabelChange{Add: map[string]string{"az": "b"}},
				Reason: "spec.zones puts node5 in zone b", FaultTolerance: 1},
			{Action: reconcile.ActionLabel, Node: id4, Hostname: "node4", Zone: "a",
				Labels: &reconcile.LabelChange{Add: map[string]string{"mgr": "yes", "tier": "control"}, Remove: []string{"legacy"}},
				Reason: "spec.labels[0] matches node4", FaultTolerance: 1},
			{Action: reconcile.ActionDrain, Node: id4, Hostname: "node4", Zone: "a",
				Reason: "managers are manager-only (managers.availability: drain)", FaultTolerance: 1},
			{Action: reconcile.ActionPromote, Node: id4, Hostname: "node4", Zone: "a",
				Reason: "zone a wants 2 managers and has 1", FaultTolerance: 1},
			{Action: reconcile.ActionDrain, Node: id5, Hostname: "node5", Zone: "b",
				Reason: "managers are manager-only (managers.availability: drain)", FaultTolerance: 1},
			{Action: reconcile.ActionPromote, Node: id5, Hostname: "node5", Zone: "b",
				Reason: "zone b wants 2 managers and has 1", FaultTolerance: 2},
		},
		Before:               reconcile.Summary{Managers: 3, Reachable: 3, FaultTolerance: 1, Zones: map[string]int{"a": 1, "b": 1, "c": 1}},
		After:                reconcile.Summary{Managers: 5, Reachable: 5, FaultTolerance: 2, Zones: map[string]int{"a": 2, "b": 2, "c": 1}},
		LowestFaultTolerance: 1,
		Floor:                1,
		Time:                 observedAt,
	}},
	{"replace-unreachable", reconcile.Plan{
		InFlight: []reconcile.InFlight{{Node: id3, Hostname: "node3", To: reconcile.RoleManager}},
		Steps: []reconcile.Step{
			{Action: reconcile.ActionPromote, Node: id5, Hostname: "node5", Zone: "b",
				Reason: "replaces node2, unreachable, in zone b", FaultTolerance: 1},
			{Action: reconcile.ActionDemote, Node: id2, Hostname: "node2", Zone: "b",
				Reason: "unreachable and replaced by node5", FaultTolerance: 1},
			{Action: reconcile.ActionDemote, Node: id4, Hostname: "node4", Zone: "a",
				Reason: "zone a has 2 managers and wants 1; node1 leads, so node4 goes", FaultTolerance: 1},
			{Action: reconcile.ActionActivate, Node: id4, Hostname: "node4", Zone: "a",
				Reason: "workers are active (workers.availability: active)", FaultTolerance: 1},
		},
		Warnings: []string{
			"node2 (vjdkl0bmwirf) is unreachable; a snapshot cannot tell since when, so it is treated as past its 5m0s grace period",
			"zone c has one eligible node (node3): if it fails, zone c has no manager until another node is labelled az=c",
		},
		Before:               reconcile.Summary{Managers: 3, Reachable: 2, FaultTolerance: 0, Zones: map[string]int{"a": 2, "b": 1}},
		After:                reconcile.Summary{Managers: 3, Reachable: 3, FaultTolerance: 1, Zones: map[string]int{"a": 1, "b": 1, "c": 1}},
		LowestFaultTolerance: 0,
		Floor:                0,
		Time:                 observedAt,
	}},
	{"unmet", reconcile.Plan{
		Warnings: []string{
			"node node6 was asked to become a manager but is down: swarm cannot take that back while it is away; " +
				"it joins the managers when it returns, and is demoted then if the file does not want it",
			"spec.managers.count wants 5 managers but only 3 nodes are eligible (ready, matching the selector, with a zone)",
		},
		Unmet: []string{
			"spec.managers.count wants 5 managers but only 3 nodes are eligible (ready, matching the selector, with a zone)",
		},
		Before:               reconcile.Summary{Managers: 3, Reachable: 3, FaultTolerance: 1, Zones: map[string]int{"a": 1, "b": 1, "c": 1}},
		After:                reconcile.Summary{Managers: 3, Reachable: 3, FaultTolerance: 1, Zones: map[string]int{"a": 1, "b": 1, "c": 1}},
		LowestFaultTolerance: 1,
		Floor:                1,
		Time:                 observedAt,
	}},
	{"blocked-quorum-lost", reconcile.Plan{
		Blocked: "quorum lost: 1 of 3 managers is reachable (node1) and raft needs 2, so no change can be made.\n" +
			"Bring node2 (vjdkl0bmwirf) or node3 (8fuz4kpuu76g) back: restart dockerd or the machine.\n" +
			"Last resort, a human decision: `docker swarm init --force-new-cluster` on node1 rebuilds the control plane from node1 alone.",
		Before:               reconcile.Summary{Managers: 3, Reachable: 1, FaultTolerance: -1, Zones: map[string]int{"a": 1, "b": 1, "c": 1}},
		After:                reconcile.Summary{Managers: 3, Reachable: 1, FaultTolerance: -1, Zones: map[string]int{"a": 1, "b": 1, "c": 1}},
		LowestFaultTolerance: -1,
		Floor:                -1,
		Time:                 observedAt,
	}},
	{"blocked-no-leader", reconcile.Plan{
		// The nodes could not be listed at all: no summaries, only the daemon's word.
		Blocked: "the swarm has no leader, so its nodes cannot be read: rpc error: code = Unknown desc = The swarm does not have a leader. " +
			"It's possible that too few managers are online. Make sure more than half of the managers are online.",
	}},
	{"hostile-names", reconcile.Plan{
		// A snapshot file is input from anyone who opens a pull request; names must not escape.
		Steps: []reconcile.Step{
			{Action: reconcile.ActionLabel, Node: "`id|x", Hostname: "evil|*host*_[link](http://x)@admin",
				Zone: "z|1", Labels: &reconcile.LabelChange{Add: map[string]string{"k`": "v|w"}},
				Reason: "reason with <b>html</b> & $math$ ~strike~", FaultTolerance: 1},
			{Action: reconcile.ActionPromote, Node: id5, Hostname: "\x1b[31mred\x1b[0m\nsecond-line",
				Zone: "z|1", Reason: "line\nbreak", FaultTolerance: 1},
			{Action: reconcile.ActionDrain, Node: id3, Reason: "a node that never reported its hostname", FaultTolerance: 1},
		},
		Warnings:             []string{"first line\n# not a heading"},
		Before:               reconcile.Summary{Managers: 3, Reachable: 3, FaultTolerance: 1, Zones: map[string]int{"z|1": 2, "": 1}},
		After:                reconcile.Summary{Managers: 3, Reachable: 3, FaultTolerance: 1, Zones: map[string]int{"z|1": 3}},
		LowestFaultTolerance: 1,
		Floor:                1,
	}},
}
