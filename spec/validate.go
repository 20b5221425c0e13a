package spec

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"unicode"
)

// ApplyDefaults fills in what the file may leave out: the zone label, the grace period for
// unreachable managers, and the auto spread. A zero replaceUnreachableAfter counts as unset.
func (t *SwarmTopology) ApplyDefaults() {
	s := &t.Spec
	if s.ZoneLabel == "" {
		s.ZoneLabel = DefaultZoneLabel
	}
	if s.Policy.ReplaceUnreachableAfter.Duration == 0 {
		s.Policy.ReplaceUnreachableAfter = Duration{DefaultReplaceUnreachableAfter}
	}
	if s.Managers.Spread.Mode == SpreadAuto {
		s.Managers.Spread = Spread{Mode: SpreadAuto}
	}
}

// ZoneLabelOrDefault is the node label that holds the zone, also for a Spec that never went
// through ApplyDefaults.
func (s *Spec) ZoneLabelOrDefault() string {
	if s.ZoneLabel == "" {
		return DefaultZoneLabel
	}
	return s.ZoneLabel
}

// Validate checks the whole topology and returns every problem as an ErrorList, or nil. It works
// on values built in code too; the errors then carry no file or line.
func (t *SwarmTopology) Validate() error {
	v := &validator{}
	v.topology(t)
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

type validator struct {
	errs ErrorList
}

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) topology(t *SwarmTopology) {
	switch t.APIVersion {
	case APIVersion:
	case "":
		v.add("apiVersion", "required; want %s", APIVersion)
	default:
		v.add("apiVersion", "%q is not supported; want %s", t.APIVersion, APIVersion)
	}
	switch t.Kind {
	case Kind:
	case "":
		v.add("kind", "required; want %s", Kind)
	default:
		v.add("kind", "%q is not supported; want %s", t.Kind, Kind)
	}
	if t.Metadata.Name == "" {
		v.add("metadata.name", "required; name the topology, such as prod")
	}
	v.spec(&t.Spec)
}

func (v *validator) spec(s *Spec) {
	zoneLabel := s.ZoneLabelOrDefault()
	if s.ZoneLabel != "" {
		v.labelKey("spec.zoneLabel", s.ZoneLabel)
	}
	v.managers(&s.Managers, &s.Policy)
	v.availability("spec.workers.availability", s.Workers.Availability)
	v.zones(s.Zones)
	for i, rule := range s.Labels {
		v.labelRule(indexField("spec.labels", i), rule, zoneLabel)
	}
	if m := s.Policy.MinMaintenanceFaultTolerance(); m < 0 || m > 4 {
		v.add("spec.policy.maintenance.minFaultTolerance", "%d is out of range; give 0 (keep quorum) to 4 (what nine managers tolerate)", m)
	}
	if m := s.Policy.MaxUnavailable; m < 0 {
		v.add("spec.policy.maxUnavailable", "%d is negative; give how many nodes may drain at a time, 1 or more (default 1)", m)
	}
	if d := s.Policy.ReplaceUnreachableAfter.Duration; d < 0 {
		v.add("spec.policy.replaceUnreachableAfter", "%s is negative; give how long a manager may stay unreachable, such as 5m", d)
	}
}

func (v *validator) managers(m *Managers, p *Policy) {
	const f = "spec.managers.count"
	countOK := false
	switch n := m.Count; {
	case n == 0:
		v.add(f, "required; set the number of managers, 1..%d", MaxManagers)
	case n < 0 || n > MaxManagers:
		v.add(f, "%d is out of range; set 1..%d managers", n, MaxManagers)
	case n == 1 && !p.AllowSingleManager:
		v.add(f, "1 manager has no fault tolerance; set spec.policy.allowSingleManager to run a single manager")
		countOK = true
	case n%2 == 0 && !p.AllowEvenManagers:
		v.add(f, "%d is even; set spec.policy.allowEvenManagers to run an even number of managers", n)
		countOK = true
	default:
		countOK = true
	}
	v.spread(m.Spread, m.Count, countOK)
	v.availability("spec.managers.availability", m.Availability)
	for _, k := range slices.Sorted(maps.Keys(m.Selector)) {
		v.labelKey(keyField("spec.managers.selector", k), k)
	}
}

func (v *validator) spread(s Spread, count int, countOK bool) {
	const f = "spec.managers.spread"
	switch s.Mode {
	case SpreadAuto:
		return
	case SpreadShorthand:
		if len(s.Counts) == 0 {
			v.add(f, "the shorthand has no counts; %s", spreadWant)
			return
		}
		for i, c := range s.Counts {
			if c < 1 || c > MaxManagers {
				v.add(f, "part %d is %d; each part is a count of 1..%d", i+1, c, MaxManagers)
				return
			}
		}
		if !countOK {
			return
		}
		if len(s.Counts) > count {
			v.add(f, "%q names %d zones but spec.managers.count is %d; each zone in the shorthand needs at least 1 manager",
				s.String(), len(s.Counts), count)
			return
		}
		if total := s.Total(); total != count {
			v.add(f, "%q places %d managers but spec.managers.count is %d; the parts must add up to the count",
				s.String(), total, count)
		}
	case SpreadExplicit:
		if len(s.Zones) == 0 {
			v.add(f, "the zone map is empty; list zones with their counts, or use auto")
			return
		}
		bad := false
		for _, z := range slices.Sorted(maps.Keys(s.Zones)) {
			zf := keyField(f, z)
			if z == "" {
				v.add(zf, "empty zone name")
				bad = true
			}
			if n := s.Zones[z]; n < 1 {
				v.add(zf, "%d managers; each zone listed needs at least 1, leave out zones that get none", n)
				bad = true
			}
		}
		if !bad && countOK {
			if total := s.Total(); total != count {
				v.add(f, "the zones get %d managers in all but spec.managers.count is %d; the counts must add up to it",
					total, count)
			}
		}
	default:
		v.add(f, "unknown spread mode %d", s.Mode)
	}
}

func (v *validator) availability(field string, a Availability) {
	switch a {
	case "", AvailabilityActive, AvailabilityPause, AvailabilityDrain:
		return
	}
	v.add(field, "%q is not an availability; want active, pause or drain, or leave it out to leave nodes alone", string(a))
}

func (v *validator) zones(zones map[string][]string) {
	owner := make(map[string]string) // glob -> zone that listed it first
	for _, z := range slices.Sorted(maps.Keys(zones)) {
		zf := keyField("spec.zones", z)
		if z == "" {
			v.add(zf, "empty zone name")
		}
		if len(zones[z]) == 0 {
			v.add(zf, "lists no hostname globs; give at least one, such as \"node1\" or \"a-*\"")
		}
		for i, g := range zones[z] {
			gf := indexField(zf, i)
			if !v.glob(gf, g) {
				continue
			}
			if other, dup := owner[g]; dup {
				if other == z {
					v.add(gf, "%q is listed twice", g)
				} else {
					v.add(gf, "%q is also listed under zone %q; a glob belongs to one zone", g, other)
				}
				continue
			}
			owner[g] = z
		}
	}
}

func (v *validator) labelRule(field string, rule LabelRule, zoneLabel string) {
	if len(rule.Hostnames) == 0 {
		v.add(field+".hostnames", "required; list at least one hostname glob")
	}
	for i, g := range rule.Hostnames {
		v.glob(indexField(field+".hostnames", i), g)
	}
	if len(rule.Set) == 0 {
		v.add(field+".set", "required; give at least one label to set")
	}
	for _, k := range slices.Sorted(maps.Keys(rule.Set)) {
		kf := keyField(field+".set", k)
		if !v.labelKey(kf, k) {
			continue
		}
		if k == zoneLabel {
			v.add(kf, "%q is the zone label (spec.zoneLabel); set zones under spec.zones instead", k)
		}
	}
}

// glob reports whether g is a usable hostname glob, adding an error if not.
func (v *validator) glob(field, g string) bool {
	if g == "" {
		v.add(field, "empty hostname glob")
		return false
	}
	if _, err := path.Match(g, ""); err != nil {
		v.add(field, "%q is not a valid glob (path.Match syntax: *, ?, [a-z]): %v", g, err)
		return false
	}
	return true
}

// labelKey reports whether k can be a node label key. Docker accepts almost any string, so only
// keys that the CLI could not write back (empty, with whitespace or '=') are refused.
func (v *validator) labelKey(field, k string) bool {
	switch {
	case k == "":
		v.add(field, "empty label key")
	case strings.IndexFunc(k, unicode.IsSpace) >= 0:
		v.add(field, "label key %q contains whitespace", k)
	case strings.Contains(k, "="):
		v.add(field, "label key %q contains '='", k)
	default:
		return true
	}
	return false
}
