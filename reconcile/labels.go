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
// rule usually gives thousands of nodes the same change, so what the rules want is worked out
// once per set of matching rules, the scratch space is reused from node to node, and equal
// changes are one LabelChange (and one reason) shared by their steps.
type labeler struct {
	sp        *spec.Spec
	zoneLabel string
	zoneNames []string // spec.zones, sorted

	wants  map[string]*want // by which zone and rules match
	shared map[string]sharedChange

	// Scratch, reset for every node.
	desired      map[string]string
	prev, remove []string
	sig, key     []byte
}

// want is what a set of matching rules asks of a node's labels.
type want struct {
	keys, values []string // sorted by key
	marker       string   // the managed-labels value: the keys, joined by commas
}

type sharedChange struct {
	change *LabelChange
	reason string
}

func newLabeler(sp *spec.Spec, zoneLabel string) *labeler {
	return &labeler{sp: sp, zoneLabel: zoneLabel, zoneNames: sortedKeys(sp.Zones),
		wants: map[string]*want{}, shared: map[string]sharedChange{}, desired: map[string]string{}}
}

// plan returns the label change for n, nil when its labels are already what the file wants,
// and the reason of the step. The change may be shared with other nodes: it is read-only.
func (l *labeler) plan(n *Node, warn func(string, ...any)) (*LabelChange, string) {
	zone, keepZone := l.zoneOf(n, warn)
	l.sig = binary.AppendUvarint(l.sig[:0], uint64(zone+1))
	for i, rule := range l.sp.Labels {
		if anyMatch(rule.Hostnames, n.Hostname) {
			l.sig = binary.AppendUvarint(l.sig, uint64(i))
		}
	}
	w, ok := l.wants[string(l.sig)]
	if !ok {
		w = l.want(zone, l.sig)
		l.wants[string(l.sig)] = w
	}

	cur, hasMarker := n.Labels[ManagedLabelsKey]
	l.prev = appendManagedKeys(l.prev[:0], cur)
	l.remove = l.remove[:0]
	for _, k := range l.prev {
		if _, wanted := slices.BinarySearch(w.keys, k); wanted || (keepZone && k == l.zoneLabel) {
			continue
		}
		if _, present := n.Labels[k]; present {
			l.remove = append(l.remove, k)
		}
	}
	marker := w.marker
	if keepZone && slices.Contains(l.prev, l.zoneLabel) {
		// Two zones claim the node and swarmtopo set its zone before: it keeps managing it.
		marker = strings.Join(slices.Sorted(slices.Values(append(slices.Clone(w.keys), l.zoneLabel))), ",")
	}
	setMarker := false
	if marker == "" && hasMarker {
		l.remove = append(l.remove, ManagedLabelsKey)
	} else if marker != "" && cur != marker {
		setMarker = true
	}

	// The key spells the change unambiguously: the rules' want, which of its keys change, the
	// marker if it changes, and the keys removed, every string with its length in front.
	l.key = appendString(l.key[:0], string(l.sig))
	adds := 0
	for i, k := range w.keys {
		if cur, ok := n.Labels[k]; !ok || cur != w.values[i] {
			l.key = binary.AppendUvarint(l.key, uint64(i+1))
			adds++
		}
	}
	l.key = append(l.key, 0)
	if setMarker {
		l.key = appendString(append(l.key, 1), marker)
		adds++
	}
	if adds == 0 && len(l.remove) == 0 {
		return nil, ""
	}
	slices.Sort(l.remove)
	for _, k := range l.remove {
		l.key = appendString(l.key, k)
	}
	if c, ok := l.shared[string(l.key)]; ok {
		return c.change, c.reason
	}
	lc := &LabelChange{}
	if adds > 0 {
		lc.Add = make(map[string]string, adds)
		for i, k := range w.keys {
			if cur, ok := n.Labels[k]; !ok || cur != w.values[i] {
				lc.Add[k] = w.values[i]
			}
		}
		if setMarker {
			lc.Add[ManagedLabelsKey] = marker
		}
	}
	if len(l.remove) > 0 {
		lc.Remove = slices.Clone(l.remove)
	}
	c := sharedChange{change: lc, reason: labelReason(lc)}
	l.shared[string(l.key)] = c
	return c.change, c.reason
}

// want works out what spec.zones (zone, an index into zoneNames, or -1) and the rules listed in
// sig ask for: rules in file order, a later one winning.
func (l *labeler) want(zone int, sig []byte) *want {
	clear(l.desired)
	if zone >= 0 {
		l.desired[l.zoneLabel] = l.zoneNames[zone]
	}
	_, n := binary.Uvarint(sig)
	for rest := sig[n:]; len(rest) > 0; rest = rest[n:] {
		var i uint64
		i, n = binary.Uvarint(rest)
		maps.Copy(l.desired, l.sp.Labels[i].Set)
	}
	w := &want{keys: slices.Sorted(maps.Keys(l.desired))}
	for _, k := range w.keys {
		w.values = append(w.values, l.desired[k])
	}
	w.marker = strings.Join(w.keys, ",")
	return w
}

// zoneOf returns the index in zoneNames of the zone spec.zones gives the node, -1 for none. It
// reports whether the node's zone label is to be left as it is because two zones claim it.
func (l *labeler) zoneOf(n *Node, warn func(string, ...any)) (int, bool) {
	found, zone := 0, -1
	for i, z := range l.zoneNames {
		if anyMatch(l.sp.Zones[z], n.Hostname) {
			if found++; found == 1 {
				zone = i
			}
		}
	}
	if found <= 1 {
		return zone, false
	}
	// Two zones claim the node: guessing would move managers on a typo, so leave it.
	var ambiguous []string
	for _, z := range l.zoneNames {
		if anyMatch(l.sp.Zones[z], n.Hostname) {
			ambiguous = append(ambiguous, z)
		}
	}
	warn("node %s matches the hostname rules of zones %s; its %s label is left as it is",
		n.Hostname, strings.Join(ambiguous, ", "), l.zoneLabel)
	return -1, true
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

// appendManagedKeys appends the keys swarmtopo recorded as its own in v, the value of the
// ManagedLabelsKey label.
func appendManagedKeys(keys []string, v string) []string {
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
