package reconcile

import (
	"encoding/binary"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/swarmtopo/swarmtopo/spec"
)

// ManagedLabelsKey is the node label where swarmtopo records which labels it set, so that a
// label the file no longer asks for is removed while labels set by others are left alone.
const ManagedLabelsKey = "dev.swarmtopo.managed-labels"

// labeler works out the label change of each node. A plan is made on every pass, and a label
// rule usually gives thousands of nodes the same change, so the scratch space is reused from
// node to node and equal changes are one LabelChange (and one reason) shared by their steps.
type labeler struct {
	sp        *spec.Spec
	zoneLabel string
	zoneNames []string // spec.zones, sorted

	// Scratch, reset for every node.
	desired                    map[string]string
	prev, add, remove, managed []string
	marker, key                []byte

	shared map[string]sharedChange
}

type sharedChange struct {
	change *LabelChange
	reason string
}

func newLabeler(sp *spec.Spec, zoneLabel string) *labeler {
	return &labeler{sp: sp, zoneLabel: zoneLabel, zoneNames: sortedKeys(sp.Zones),
		desired: map[string]string{}, shared: map[string]sharedChange{}}
}

// plan returns the label change for n, nil when its labels are already what the file wants,
// and the reason of the step. The change may be shared with other nodes: it is read-only.
func (l *labeler) plan(n *Node, warn func(string, ...any)) (*LabelChange, string) {
	clear(l.desired)
	keepZone := l.desireZone(n, warn)
	for _, rule := range l.sp.Labels {
		if anyMatch(rule.Hostnames, n.Hostname) {
			maps.Copy(l.desired, rule.Set)
		}
	}

	l.prev = appendManagedKeys(l.prev[:0], n.Labels)
	l.add, l.remove, l.managed = l.add[:0], l.remove[:0], l.managed[:0]
	for k, v := range l.desired {
		if cur, ok := n.Labels[k]; !ok || cur != v {
			l.add = append(l.add, k)
		}
		l.managed = append(l.managed, k)
	}
	for _, k := range l.prev {
		if _, want := l.desired[k]; want || (keepZone && k == l.zoneLabel) {
			continue
		}
		if _, present := n.Labels[k]; present {
			l.remove = append(l.remove, k)
		}
	}
	if keepZone && slices.Contains(l.prev, l.zoneLabel) {
		l.managed = append(l.managed, l.zoneLabel)
	}
	slices.Sort(l.managed)
	l.marker = l.marker[:0]
	for i, k := range l.managed {
		if i > 0 {
			l.marker = append(l.marker, ',')
		}
		l.marker = append(l.marker, k...)
	}
	setMarker := false
	if cur, ok := n.Labels[ManagedLabelsKey]; len(l.marker) == 0 && ok {
		l.remove = append(l.remove, ManagedLabelsKey)
	} else if len(l.marker) > 0 && cur != string(l.marker) {
		setMarker = true
		l.add = append(l.add, ManagedLabelsKey)
	}
	if len(l.add) == 0 && len(l.remove) == 0 {
		return nil, ""
	}
	slices.Sort(l.add)
	slices.Sort(l.remove)
	value := func(k string) []byte {
		if k == ManagedLabelsKey && setMarker {
			return l.marker
		}
		return []byte(l.desired[k])
	}

	// The key spells the change unambiguously: every string with its length in front.
	l.key = binary.AppendUvarint(l.key[:0], uint64(len(l.add)))
	for _, k := range l.add {
		l.key = appendString(l.key, k)
		v := value(k)
		l.key = binary.AppendUvarint(l.key, uint64(len(v)))
		l.key = append(l.key, v...)
	}
	for _, k := range l.remove {
		l.key = appendString(l.key, k)
	}
	if c, ok := l.shared[string(l.key)]; ok {
		return c.change, c.reason
	}
	lc := &LabelChange{}
	if len(l.add) > 0 {
		lc.Add = make(map[string]string, len(l.add))
		for _, k := range l.add {
			lc.Add[k] = string(value(k))
		}
	}
	if len(l.remove) > 0 {
		lc.Remove = slices.Clone(l.remove)
	}
	c := sharedChange{change: lc, reason: labelReason(lc)}
	l.shared[string(l.key)] = c
	return c.change, c.reason
}

// desireZone puts the zone spec.zones gives the node in desired. It reports whether the node's
// zone label is to be left as it is because two zones claim the node.
func (l *labeler) desireZone(n *Node, warn func(string, ...any)) bool {
	if len(l.zoneNames) == 0 {
		return false
	}
	found, zone := 0, ""
	for _, z := range l.zoneNames {
		if anyMatch(l.sp.Zones[z], n.Hostname) {
			if found++; found == 1 {
				zone = z
			}
		}
	}
	switch {
	case found == 1:
		l.desired[l.zoneLabel] = zone
	case found > 1:
		// Two zones claim the node: guessing would move managers on a typo, so leave it.
		var ambiguous []string
		for _, z := range l.zoneNames {
			if anyMatch(l.sp.Zones[z], n.Hostname) {
				ambiguous = append(ambiguous, z)
			}
		}
		warn("node %s matches the hostname rules of zones %s; its %s label is left as it is",
			n.Hostname, strings.Join(ambiguous, ", "), l.zoneLabel)
		return true
	}
	return false
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// anyMatch is spec's hostname glob match: malformed globs match nothing (Validate rejects them).
func anyMatch(globs []string, hostname string) bool {
	for _, g := range globs {
		if ok, err := path.Match(g, hostname); err == nil && ok {
			return true
		}
	}
	return false
}

// appendManagedKeys appends the keys swarmtopo recorded as its own.
func appendManagedKeys(keys []string, labels map[string]string) []string {
	v := labels[ManagedLabelsKey]
	if v == "" {
		return keys
	}
	for k := range strings.SplitSeq(v, ",") {
		if k = strings.TrimSpace(k); k != "" && k != ManagedLabelsKey {
			keys = append(keys, k)
		}
	}
	return keys
}

// label is the node's label k once its label step, if any, is applied.
func (n *planNode) label(k string) string {
	if c := n.labelChange; c != nil {
		if v, ok := c.Add[k]; ok {
			return v
		}
		if slices.Contains(c.Remove, k) {
			return ""
		}
	}
	return n.Labels[k]
}

// matches reports whether the node, once labelled, carries every key/value of sel.
func (n *planNode) matches(sel map[string]string) bool {
	for k, v := range sel {
		if n.label(k) != v {
			return false
		}
	}
	return true
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
