package chaos

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/swarmtopo/swarmtopo/spec"
)

// ReplaceUnreachableAfter is the grace period every generated topology gives an unreachable
// manager: short, so that faults longer than it make the operator replace managers within a
// scenario's minute.
const ReplaceUnreachableAfter = 10 * time.Second

// Topology is a generated target topology, the part of a topology file the scenarios vary.
type Topology struct {
	Count int `json:"count"`
	// Spread is "auto", a shorthand such as "2-2-1", or "" to leave it out (auto too).
	Spread string `json:"spread,omitempty"`
	// SpreadMap, when set, is the spread as zone -> count and wins over Spread.
	SpreadMap map[string]int `json:"spreadMap,omitempty"`
	// Drain asks for drained managers; otherwise they are made active.
	Drain bool `json:"drain,omitempty"`
	// WorkerAvailability is spec.workers.availability; "" leaves workers alone.
	WorkerAvailability string `json:"workerAvailability,omitempty"`
	// Labels adds a label rule for node1..node3.
	Labels bool `json:"labels,omitempty"`
}

// LabelKey and LabelValue are what the label rule of a Topology with Labels sets.
const (
	LabelKey   = "chaos.swarmtopo.dev/group"
	LabelValue = "first"
)

// spread is the spread as the file writes it.
func (t Topology) spread() string {
	if t.SpreadMap != nil {
		parts := make([]string, 0, len(t.SpreadMap))
		for _, z := range slices.Sorted(maps.Keys(t.SpreadMap)) {
			parts = append(parts, fmt.Sprintf("%s=%d", z, t.SpreadMap[z]))
		}
		return strings.Join(parts, ",")
	}
	if t.Spread == "" {
		return "auto"
	}
	return t.Spread
}

// String describes the topology compactly: "5m spread=2-2-1 drain workers=active labels".
func (t Topology) String() string {
	s := fmt.Sprintf("%dm spread=%s", t.Count, t.spread())
	if t.Spread == "" && t.SpreadMap == nil {
		s = fmt.Sprintf("%dm", t.Count)
	}
	if t.Drain {
		s += " drain"
	}
	if t.WorkerAvailability != "" {
		s += " workers=" + t.WorkerAvailability
	}
	if t.Labels {
		s += " labels"
	}
	return s
}

// YAML writes a whole topology file named name. The zones come from the nodes' az label, which
// the lab sets, so the file has no spec.zones. The policy allows an even or a single manager
// when Count is one, and replaces unreachable managers after ReplaceUnreachableAfter.
func (t Topology) YAML(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\nmetadata:\n  name: %q\nspec:\n  managers:\n    count: %d\n",
		spec.APIVersion, spec.Kind, name, t.Count)
	switch {
	case t.SpreadMap != nil:
		b.WriteString("    spread:\n")
		for _, z := range slices.Sorted(maps.Keys(t.SpreadMap)) {
			fmt.Fprintf(&b, "      %q: %d\n", z, t.SpreadMap[z])
		}
	case t.Spread != "":
		// Quoted: a one-part shorthand such as "3" would otherwise be a number.
		fmt.Fprintf(&b, "    spread: %q\n", t.Spread)
	}
	if t.Drain {
		b.WriteString("    availability: drain\n")
	} else {
		b.WriteString("    availability: active\n")
	}
	if t.WorkerAvailability != "" {
		fmt.Fprintf(&b, "  workers:\n    availability: %s\n", t.WorkerAvailability)
	}
	if t.Labels {
		fmt.Fprintf(&b, "  labels:\n    - hostnames: [\"node[1-3]\"]\n      set: {%q: %q}\n", LabelKey, LabelValue)
	}
	b.WriteString("  policy:\n")
	if t.Count%2 == 0 {
		b.WriteString("    allowEvenManagers: true\n")
	}
	if t.Count == 1 {
		b.WriteString("    allowSingleManager: true\n")
	}
	fmt.Fprintf(&b, "    replaceUnreachableAfter: %s\n", ReplaceUnreachableAfter)
	return b.String()
}

// Parse parses YAML(name) with the project's parser, as the operator will.
func (t Topology) Parse(name string) (*spec.SwarmTopology, error) {
	return spec.Parse(name+".yaml", []byte(t.YAML(name)))
}
