package spec

import (
	"maps"
	"path"
	"slices"
)

// ZoneFor finds the zone that spec.zones gives a hostname. matched is true only when exactly one
// zone has a glob matching the hostname; when several do, zone is empty and ambiguous lists them,
// sorted, so the planner can refuse to guess. Globs use path.Match syntax and are case-sensitive.
func (s *Spec) ZoneFor(hostname string) (zone string, matched bool, ambiguous []string) {
	var found []string
	for _, z := range slices.Sorted(maps.Keys(s.Zones)) {
		if anyMatch(s.Zones[z], hostname) {
			found = append(found, z)
		}
	}
	switch len(found) {
	case 0:
		return "", false, nil
	case 1:
		return found[0], true, nil
	}
	return "", false, found
}

// LabelsFor merges the labels of every rule in spec.labels whose globs match the hostname, in
// file order, so a later rule overrides an earlier one. It is nil when no rule matches. The zone
// label is not included; see ZoneFor.
func (s *Spec) LabelsFor(hostname string) map[string]string {
	var out map[string]string
	for _, rule := range s.Labels {
		if !anyMatch(rule.Hostnames, hostname) {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(rule.Set))
		}
		maps.Copy(out, rule.Set)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// anyMatch ignores malformed globs: Validate rejects them, and a value built in code that skipped
// validation should match nothing rather than panic.
func anyMatch(globs []string, hostname string) bool {
	for _, g := range globs {
		if ok, err := path.Match(g, hostname); err == nil && ok {
			return true
		}
	}
	return false
}
