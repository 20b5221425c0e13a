package spec

import (
	"reflect"
	"testing"
)

func TestZoneFor(t *testing.T) {
	s := &Spec{Zones: map[string][]string{
		"a": {"node1", "node4", "node7"},
		"b": {"node2", "node5", "db-*"},
		"c": {"node3", "node6", "db-?"},
	}}
	tests := []struct {
		name      string
		hostname  string
		zone      string
		matched   bool
		ambiguous []string
	}{
		{"an exact hostname gets its zone", "node4", "a", true, nil},
		{"a glob gets its zone", "db-primary", "b", true, nil},
		{"a hostname no glob matches has no zone", "node8", "", false, nil},
		{"globs are case-sensitive", "NODE1", "", false, nil},
		{"a hostname matched in two zones is ambiguous", "db-1", "", false, []string{"b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			zone, matched, ambiguous := s.ZoneFor(tt.hostname)
			if zone != tt.zone || matched != tt.matched || !reflect.DeepEqual(ambiguous, tt.ambiguous) {
				t.Errorf("ZoneFor(%q) = %q, %v, %q; want %q, %v, %q",
					tt.hostname, zone, matched, ambiguous, tt.zone, tt.matched, tt.ambiguous)
			}
		})
	}
	t.Run("a spec without zones matches nothing", func(t *testing.T) {
		if zone, matched, amb := (&Spec{}).ZoneFor("node1"); zone != "" || matched || amb != nil {
			t.Errorf("ZoneFor = %q, %v, %q", zone, matched, amb)
		}
	})
	t.Run("a malformed glob in an unvalidated spec matches nothing", func(t *testing.T) {
		bad := &Spec{Zones: map[string][]string{"a": {"node["}}}
		if _, matched, _ := bad.ZoneFor("node["); matched {
			t.Error("malformed glob matched")
		}
	})
}

func TestLabelsFor(t *testing.T) {
	s := &Spec{Labels: []LabelRule{
		{Hostnames: []string{"db-*"}, Set: map[string]string{"tier": "db", "disk": "hdd"}},
		{Hostnames: []string{"db-fast-*", "cache"}, Set: map[string]string{"disk": "ssd"}},
		{Hostnames: []string{"*"}, Set: map[string]string{"managed": "swarmtopo"}},
	}}
	tests := []struct {
		name     string
		hostname string
		want     map[string]string
	}{
		{"one rule sets its labels", "web-1", map[string]string{"managed": "swarmtopo"}},
		{"rules merge", "db-1", map[string]string{"tier": "db", "disk": "hdd", "managed": "swarmtopo"}},
		{"a later rule wins", "db-fast-1", map[string]string{"tier": "db", "disk": "ssd", "managed": "swarmtopo"}},
		{"any glob of a rule matches", "cache", map[string]string{"disk": "ssd", "managed": "swarmtopo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.LabelsFor(tt.hostname); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("LabelsFor(%q) = %v, want %v", tt.hostname, got, tt.want)
			}
		})
	}
	t.Run("no matching rule gives nil", func(t *testing.T) {
		only := &Spec{Labels: s.Labels[:1]}
		if got := only.LabelsFor("web-1"); got != nil {
			t.Errorf("LabelsFor = %#v, want nil", got)
		}
	})
	t.Run("the result is a copy", func(t *testing.T) {
		s.LabelsFor("db-1")["tier"] = "changed"
		if s.Labels[0].Set["tier"] != "db" {
			t.Error("LabelsFor returned the rule's own map")
		}
	})
}
