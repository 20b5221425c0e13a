package spec

import (
	"time"
)

// APIVersion and Kind identify a topology file.
const (
	APIVersion = "swarmtopo.dev/v1alpha1"
	Kind       = "SwarmTopology"

	// DefaultZoneLabel is the node label that holds a node's zone when spec.zoneLabel is empty.
	DefaultZoneLabel = "az"
	// DefaultReplaceUnreachableAfter is the grace period before an unreachable manager is replaced.
	DefaultReplaceUnreachableAfter = 5 * time.Minute
	// MaxManagers is the largest manager count accepted; raft gets slower with every member.
	MaxManagers = 9
)

// SwarmTopology is the whole topology file.
type SwarmTopology struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`
}

// Metadata names the topology, as Kubernetes objects do.
type Metadata struct {
	Name        string            `json:"name"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Spec is the desired shape of the swarm's control plane.
type Spec struct {
	// ZoneLabel is the node label that holds the zone. Defaults to "az".
	ZoneLabel string   `json:"zoneLabel,omitempty"`
	Managers  Managers `json:"managers"`
	Workers   Workers  `json:"workers,omitempty"`
	// Zones sets ZoneLabel by hostname glob (path.Match syntax): zone -> globs.
	Zones  map[string][]string `json:"zones,omitempty"`
	Labels []LabelRule         `json:"labels,omitempty"`
	Policy Policy              `json:"policy,omitempty"`
}

// Managers describes the manager set.
type Managers struct {
	Count  int    `json:"count"`
	Spread Spread `json:"spread,omitempty"`
	// Availability of managers: drain makes them manager-only; empty leaves it alone.
	Availability Availability `json:"availability,omitempty"`
	// Selector restricts which nodes may be managers: all labels must match.
	Selector map[string]string `json:"selector,omitempty"`
}

// Workers describes the worker set.
type Workers struct {
	// Availability of workers; empty leaves it alone.
	Availability Availability `json:"availability,omitempty"`
}

// LabelRule sets labels on nodes whose hostname matches any glob.
type LabelRule struct {
	Hostnames []string          `json:"hostnames"`
	Set       map[string]string `json:"set"`
}

// Policy holds the safety switches.
type Policy struct {
	AllowEvenManagers  bool `json:"allowEvenManagers,omitempty"`
	AllowSingleManager bool `json:"allowSingleManager,omitempty"`
	// ReplaceUnreachableAfter is how long a manager may stay unreachable before it is replaced.
	ReplaceUnreachableAfter Duration `json:"replaceUnreachableAfter,omitempty"`
	RemoveDownNodes         bool     `json:"removeDownNodes,omitempty"`
	// Maintenance rules `swarmtopo maintenance` applies before taking a node down.
	Maintenance MaintenancePolicy `json:"maintenance,omitzero"`
	// MaxUnavailable is how many nodes may be draining at a time (their tasks moving),
	// managers and workers alike; DefaultMaxUnavailable when not set.
	MaxUnavailable int `json:"maxUnavailable,omitempty" jsonschema:"minimum=1"`
}

// DefaultMaxUnavailable is spec.policy.maxUnavailable when not set: one drain at a time, as
// `kubectl drain` run node after node.
const DefaultMaxUnavailable = 1

// Unavailable is spec.policy.maxUnavailable, DefaultMaxUnavailable when not set.
func (p Policy) Unavailable() int {
	if p.MaxUnavailable <= 0 {
		return DefaultMaxUnavailable
	}
	return p.MaxUnavailable
}

// MinMaintenanceFaultTolerance is spec.policy.maintenance.minFaultTolerance, 0 when not set.
func (p Policy) MinMaintenanceFaultTolerance() int {
	return p.Maintenance.MinFaultTolerance
}

// MaintenancePolicy says how much safety planned maintenance must keep.
type MaintenancePolicy struct {
	// MinFaultTolerance is the fault tolerance that must remain while a manager is down for
	// maintenance; 0 (the default) only keeps quorum.
	MinFaultTolerance int `json:"minFaultTolerance,omitempty" jsonschema:"minimum=0,maximum=4"`
}

// Availability is a node availability as swarm spells it.
type Availability string

// The availabilities swarm knows.
const (
	AvailabilityActive Availability = "active"
	AvailabilityPause  Availability = "pause"
	AvailabilityDrain  Availability = "drain"
)

// SpreadMode tells how Spread was written.
type SpreadMode int

// Spread modes.
const (
	// SpreadAuto balances managers over the zones that have eligible nodes.
	SpreadAuto SpreadMode = iota
	// SpreadShorthand is a multiset of per-zone counts ("2-2-1"); the planner picks the zones.
	SpreadShorthand
	// SpreadExplicit maps zone names to counts.
	SpreadExplicit
)

// Spread says how managers spread over zones: "auto", a shorthand such as "2-2-1", or a map.
type Spread struct {
	Mode SpreadMode
	// Counts holds the shorthand parts, largest first (SpreadShorthand only).
	Counts []int
	// Zones holds zone -> count (SpreadExplicit only).
	Zones map[string]int
}

// Duration is a time.Duration written as a Go duration string ("5m", "90s").
type Duration struct {
	time.Duration
}
