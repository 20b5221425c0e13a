package reconcile

import (
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/swarmtopo/swarmtopo/spec"
)

// ManagedLabelsKey is the node label where swarmtopo records which labels it set, so that a
// label the file no longer asks for is removed while labels set by others are left alone.
const ManagedLabelsKey = "dev.swarmtopo.managed-labels"

// labelPlan is the label change for one node and the labels it will carry afterwards.
type labelPlan struct {
	change *LabelChange // nil when nothing changes
	after  map[string]string
}

// planLabels works out the labels a node should carry. zoneLabel is the spec's zone label.
func planLabels(sp *spec.Spec, zoneLabel string, n *Node, warn func(string, ...any)) labelPlan {
	desired := map[string]string{}
	keepManaged := map[string]bool{}
	if len(sp.Zones) > 0 {
		zone, matched, ambiguous := sp.ZoneFor(n.Hostname)
		switch {
		case len(ambiguous) > 0:
			// Two zones claim the node: guessing would move managers on a typo, so leave it.
			warn("node %s matches the hostname rules of zones %s; its %s label is left as it is",
				n.Hostname, strings.Join(ambiguous, ", "), zoneLabel)
			keepManaged[zoneLabel] = true
		case matched:
			desired[zoneLabel] = zone
		}
	}
	maps.Copy(desired, sp.LabelsFor(n.Hostname))

	prev := managedKeys(n.Labels)
	add := map[string]string{}
	for k, v := range desired {
		if cur, ok := n.Labels[k]; !ok || cur != v {
			add[k] = v
		}
	}
	var remove []string
	for _, k := range prev {
		if _, want := desired[k]; want || keepManaged[k] {
			continue
		}
		if _, present := n.Labels[k]; present {
			remove = append(remove, k)
		}
	}
	managed := slices.Collect(maps.Keys(desired))
	for k := range keepManaged {
		if slices.Contains(prev, k) {
			managed = append(managed, k)
		}
	}
	sort.Strings(managed)
	marker := strings.Join(managed, ",")
	if cur, ok := n.Labels[ManagedLabelsKey]; marker == "" && ok {
		remove = append(remove, ManagedLabelsKey)
	} else if marker != "" && cur != marker {
		add[ManagedLabelsKey] = marker
	}
	after := maps.Clone(n.Labels)
	if after == nil {
		after = map[string]string{}
	}
	if len(add) == 0 && len(remove) == 0 {
		return labelPlan{after: after}
	}
	sort.Strings(remove)
	for _, k := range remove {
		delete(after, k)
	}
	maps.Copy(after, add)
	lc := &LabelChange{Remove: remove}
	if len(add) > 0 {
		lc.Add = add
	}
	return labelPlan{change: lc, after: after}
}

// managedKeys reads the keys swarmtopo recorded as its own.
func managedKeys(labels map[string]string) []string {
	v := labels[ManagedLabelsKey]
	if v == "" {
		return nil
	}
	var keys []string
	for k := range strings.SplitSeq(v, ",") {
		if k = strings.TrimSpace(k); k != "" && k != ManagedLabelsKey {
			keys = append(keys, k)
		}
	}
	return keys
}

// selectorMatches reports whether labels carry every key/value of sel.
func selectorMatches(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}
