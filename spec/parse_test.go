package spec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// header takes lines 1-4, so the first spec line is line 5.
const header = "apiVersion: swarmtopo.dev/v1alpha1\nkind: SwarmTopology\nmetadata: {name: t}\nspec:\n"

func withSpec(body string) string { return header + body }

const threeManagers = "  managers:\n    count: 3\n"

func mustParse(t *testing.T, doc string) *SwarmTopology {
	t.Helper()
	top, err := Parse("t.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("Parse: unexpected error:\n%v", err)
	}
	return top
}

func TestParseAppliesDefaults(t *testing.T) {
	top := mustParse(t, withSpec(threeManagers))
	want := Spec{
		ZoneLabel: DefaultZoneLabel,
		Managers:  Managers{Count: 3, Spread: Spread{Mode: SpreadAuto}},
		Policy:    Policy{ReplaceUnreachableAfter: Duration{DefaultReplaceUnreachableAfter}},
	}
	if !reflect.DeepEqual(top.Spec, want) {
		t.Errorf("spec = %+v, want %+v", top.Spec, want)
	}
}

func TestParseReadsValues(t *testing.T) {
	tests := []struct {
		name string
		body string
		got  func(*Spec) any
		want any
	}{
		{"a zone label overrides the default", threeManagers + "  zoneLabel: topology.zone\n",
			func(s *Spec) any { return s.ZoneLabel }, "topology.zone"},
		{"a grace period overrides the default", threeManagers + "  policy: {replaceUnreachableAfter: 90s}\n",
			func(s *Spec) any { return s.Policy.ReplaceUnreachableAfter.Duration }, 90 * time.Second},
		{"a zero grace period means the default", threeManagers + "  policy: {replaceUnreachableAfter: 0s}\n",
			func(s *Spec) any { return s.Policy.ReplaceUnreachableAfter.Duration }, DefaultReplaceUnreachableAfter},
		{"a shorthand spread keeps its counts largest first", "  managers: {count: 5, spread: 1-2-2}\n",
			func(s *Spec) any { return s.Managers.Spread }, Spread{Mode: SpreadShorthand, Counts: []int{2, 2, 1}}},
		{"a one-zone shorthand is allowed", "  managers: {count: 3, spread: '3'}\n",
			func(s *Spec) any { return s.Managers.Spread }, Spread{Mode: SpreadShorthand, Counts: []int{3}}},
		{"an explicit spread maps zones to counts", "  managers:\n    count: 3\n    spread: {a: 2, b: 1}\n",
			func(s *Spec) any { return s.Managers.Spread }, Spread{Mode: SpreadExplicit, Zones: map[string]int{"a": 2, "b": 1}}},
		{"spread auto written out is auto", "  managers: {count: 3, spread: auto}\n",
			func(s *Spec) any { return s.Managers.Spread }, Spread{Mode: SpreadAuto}},
		{"an even count is allowed by the policy", "  managers: {count: 4}\n  policy: {allowEvenManagers: true}\n",
			func(s *Spec) any { return s.Managers.Count }, 4},
		{"a single manager is allowed by the policy", "  managers: {count: 1}\n  policy: {allowSingleManager: true}\n",
			func(s *Spec) any { return s.Managers.Count }, 1},
		{"yes stays a string as in YAML 1.2", "  managers: {count: 3, selector: {mgr: yes}}\n",
			func(s *Spec) any { return s.Managers.Selector }, map[string]string{"mgr": "yes"}},
		{"label rules keep file order", threeManagers + "  labels:\n    - {hostnames: [a], set: {x: '1'}}\n    - {hostnames: [b], set: {x: '2'}}\n",
			func(s *Spec) any { return []string{s.Labels[0].Set["x"], s.Labels[1].Set["x"]} }, []string{"1", "2"}},
		{"the same hostname may match globs in two zones", threeManagers + "  zones: {a: ['node*'], b: [node1]}\n",
			func(s *Spec) any { return len(s.Zones) }, 2},
		{"a label key may hold dots and slashes", threeManagers + "  labels: [{hostnames: ['*'], set: {example.com/tier: db}}]\n",
			func(s *Spec) any { return s.Labels[0].Set }, map[string]string{"example.com/tier": "db"}},
		{"an empty label value is allowed", threeManagers + "  labels: [{hostnames: ['*'], set: {edge: ''}}]\n",
			func(s *Spec) any { return s.Labels[0].Set }, map[string]string{"edge": ""}},
		{"a null section is left empty", threeManagers + "  workers:\n",
			func(s *Spec) any { return s.Workers }, Workers{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top := mustParse(t, withSpec(tt.body))
			if got := tt.got(&top.Spec); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseAcceptsJSON(t *testing.T) {
	top := mustParse(t, `{"apiVersion":"swarmtopo.dev/v1alpha1","kind":"SwarmTopology","metadata":{"name":"j"},"spec":{"managers":{"count":3,"spread":"2-1"}}}`)
	if top.Spec.Managers.Spread.String() != "2-1" {
		t.Errorf("spread = %v, want 2-1", top.Spec.Managers.Spread)
	}
}

// Each case names the full error line it expects, so the field path and the line are checked too.
func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"an empty file is rejected", "", "t.yaml: empty file"},
		{"a file of comments only is rejected", "# nothing\n\n", "t.yaml: empty file"},
		{"malformed YAML is rejected with the parser's line", header + "  managers:\n    count: 3: 4\n",
			"t.yaml:6: malformed YAML: mapping values are not allowed in this context"},
		{"a second YAML document is rejected", withSpec(threeManagers) + "---\nfoo: 1\n",
			"t.yaml:7: a second YAML document"},
		{"a document that is not a mapping is rejected", "- a\n- b\n", "t.yaml:1: want a mapping, got a list"},
		{"a wrong apiVersion is rejected", strings.Replace(withSpec(threeManagers), "swarmtopo.dev/v1alpha1", "v1", 1),
			`t.yaml:1: apiVersion: "v1" is not supported; want swarmtopo.dev/v1alpha1`},
		{"a missing apiVersion is rejected", strings.Replace(withSpec(threeManagers), "apiVersion: swarmtopo.dev/v1alpha1\n", "", 1),
			"t.yaml:1: apiVersion: required"},
		{"a wrong kind is rejected", strings.Replace(withSpec(threeManagers), "kind: SwarmTopology", "kind: Topology", 1),
			`t.yaml:2: kind: "Topology" is not supported; want SwarmTopology`},
		{"a missing metadata name is rejected", strings.Replace(withSpec(threeManagers), "{name: t}", "{}", 1),
			"t.yaml:3: metadata.name: required"},
		{"an unknown top-level field is rejected", withSpec(threeManagers) + "status: {}\n",
			"t.yaml:7: status: unknown field"},
		{"an unknown nested field is rejected with its full path", withSpec("  managers:\n    cont: 3\n"),
			`t.yaml:6: spec.managers.cont: unknown field; did you mean "count"?`},
		{"a field set twice is rejected", withSpec("  managers:\n    count: 3\n    count: 5\n"),
			"t.yaml:7: spec.managers.count: set twice; first set at line 6"},
		{"a missing count is rejected", withSpec("  managers: {}\n"), "t.yaml:5: spec.managers.count: required"},
		{"a missing spec is rejected where the document starts", strings.TrimSuffix(header, "spec:\n"),
			"t.yaml:1: spec.managers.count: required"},
		{"a negative count is rejected", withSpec("  managers: {count: -3}\n"),
			"t.yaml:5: spec.managers.count: -3 is out of range; set 1..9 managers"},
		{"a count above nine is rejected", withSpec("  managers:\n    count: 11\n"),
			"t.yaml:6: spec.managers.count: 11 is out of range; set 1..9 managers"},
		{"an even count without allowEvenManagers is rejected", withSpec("  managers:\n    count: 4\n"),
			"t.yaml:6: spec.managers.count: 4 is even; set spec.policy.allowEvenManagers to run an even number of managers"},
		{"a single manager without allowSingleManager is rejected", withSpec("  managers:\n    count: 1\n"),
			"t.yaml:6: spec.managers.count: 1 manager has no fault tolerance; set spec.policy.allowSingleManager"},
		{"a count that is not a number is rejected", withSpec("  managers:\n    count: five\n"),
			`t.yaml:6: spec.managers.count: want an integer, got string "five"`},
		{"a fractional count is rejected", withSpec("  managers:\n    count: 3.0\n"),
			"t.yaml:6: spec.managers.count: want an integer, got number 3.0"},
		{"a huge count is rejected", withSpec("  managers:\n    count: 99999999999999999999\n"),
			"t.yaml:6: spec.managers.count: want an integer"},
		{"a shorthand that does not add up to the count is rejected", withSpec("  managers:\n    count: 5\n    spread: 2-2\n"),
			`t.yaml:7: spec.managers.spread: "2-2" places 4 managers but spec.managers.count is 5`},
		{"a shorthand with a trailing dash is rejected", withSpec("  managers:\n    count: 5\n    spread: 2-2-\n"),
			`t.yaml:7: spec.managers.spread: "2-2-" is malformed: part 3 is empty`},
		{"a shorthand with letters is rejected", withSpec("  managers:\n    count: 3\n    spread: a-b\n"),
			`t.yaml:7: spec.managers.spread: "a-b" is malformed: part 1 "a" is not a number`},
		{"a shorthand with a zero part is rejected", withSpec("  managers:\n    count: 3\n    spread: 0-3\n"),
			`t.yaml:7: spec.managers.spread: "0-3" is malformed: part 1 is 0; each zone needs at least 1 manager`},
		{"a shorthand with more parts than managers is rejected", withSpec("  managers:\n    count: 3\n    spread: 1-1-1-1\n"),
			`t.yaml:7: spec.managers.spread: "1-1-1-1" names 4 zones but spec.managers.count is 3`},
		{"a shorthand with a two-digit part is rejected", withSpec("  managers:\n    count: 3\n    spread: '12'\n"),
			`t.yaml:7: spec.managers.spread: "12" is malformed: part 1 is 12; write each count as one digit 1..9`},
		{"an empty spread string is rejected", withSpec("  managers:\n    count: 3\n    spread: ''\n"),
			`t.yaml:7: spec.managers.spread: empty; want "auto"`},
		{"a spread that is a number is rejected", withSpec("  managers:\n    count: 3\n    spread: 3\n"),
			`t.yaml:7: spec.managers.spread: want "auto", a shorthand such as "2-2-1", or a map of zone to count, got 3`},
		{"an explicit spread with a zero count is rejected", withSpec("  managers:\n    count: 3\n    spread:\n      a: 3\n      b: 0\n"),
			"t.yaml:9: spec.managers.spread.b: 0 managers; each zone listed needs at least 1"},
		{"an explicit spread with a negative count is rejected", withSpec("  managers:\n    count: 3\n    spread: {a: 4, b: -1}\n"),
			"t.yaml:7: spec.managers.spread.b: -1 managers"},
		{"an explicit spread with an empty zone name is rejected", withSpec("  managers:\n    count: 3\n    spread: {'': 3}\n"),
			`t.yaml:7: spec.managers.spread[""]: empty zone name`},
		{"an explicit spread that does not add up is rejected", withSpec("  managers:\n    count: 5\n    spread: {a: 2, b: 2}\n"),
			"t.yaml:7: spec.managers.spread: the zones get 4 managers in all but spec.managers.count is 5"},
		{"an explicit spread with a string count is rejected", withSpec("  managers:\n    count: 3\n    spread: {a: '3'}\n"),
			`t.yaml:7: spec.managers.spread: zone "a": want a whole number of managers, got "3"`},
		{"an empty explicit spread is rejected", withSpec("  managers:\n    count: 3\n    spread: {}\n"),
			"t.yaml:7: spec.managers.spread: the zone map is empty"},
		{"a bad manager availability is rejected", withSpec("  managers:\n    count: 3\n    availability: drained\n"),
			`t.yaml:7: spec.managers.availability: "drained" is not an availability; want active, pause or drain`},
		{"a bad worker availability is rejected", withSpec(threeManagers + "  workers:\n    availability: Active\n"),
			`t.yaml:8: spec.workers.availability: "Active" is not an availability`},
		{"an availability that is not a string is rejected", withSpec(threeManagers + "  workers:\n    availability: [drain]\n"),
			"t.yaml:8: spec.workers.availability: want a string, got a list"},
		{"a selector with an empty key is rejected", withSpec("  managers:\n    count: 3\n    selector: {'': x}\n"),
			`t.yaml:7: spec.managers.selector[""]: empty label key`},
		{"a selector key with whitespace is rejected", withSpec("  managers:\n    count: 3\n    selector: {'a b': x}\n"),
			`t.yaml:7: spec.managers.selector["a b"]: label key "a b" contains whitespace`},
		{"a selector value that is not a string is rejected", withSpec("  managers:\n    count: 3\n    selector: {mgr: true}\n"),
			"t.yaml:7: spec.managers.selector.mgr: want a string, got boolean true; quote it"},
		{"an invalid zone glob is rejected", withSpec(threeManagers + "  zones:\n    a: [node1, 'node[']\n"),
			`t.yaml:8: spec.zones.a[1]: "node[" is not a valid glob`},
		{"an empty zone glob is rejected", withSpec(threeManagers + "  zones:\n    a: ['']\n"),
			"t.yaml:8: spec.zones.a[0]: empty hostname glob"},
		{"a zone without globs is rejected", withSpec(threeManagers + "  zones:\n    a: []\n"),
			"t.yaml:8: spec.zones.a: lists no hostname globs"},
		{"an empty zone name is rejected", withSpec(threeManagers + "  zones:\n    '': [x]\n"),
			`t.yaml:8: spec.zones[""]: empty zone name`},
		{"the same glob under two zones is rejected", withSpec(threeManagers + "  zones:\n    a: ['node*']\n    b: ['node*']\n"),
			`t.yaml:9: spec.zones.b[0]: "node*" is also listed under zone "a"`},
		{"the same glob twice in one zone is rejected", withSpec(threeManagers + "  zones:\n    a: [n1, n1]\n"),
			`t.yaml:8: spec.zones.a[1]: "n1" is listed twice`},
		{"zones that are not a mapping are rejected", withSpec(threeManagers + "  zones: [a]\n"),
			"t.yaml:7: spec.zones: want a mapping, got a list"},
		{"a label rule without hostnames is rejected", withSpec(threeManagers + "  labels:\n    - set: {tier: db}\n"),
			"t.yaml:8: spec.labels[0].hostnames: required; list at least one hostname glob"},
		{"a label rule with an empty hostname list is rejected", withSpec(threeManagers + "  labels:\n    - hostnames: []\n      set: {tier: db}\n"),
			"t.yaml:8: spec.labels[0].hostnames: required"},
		{"a label rule with an invalid glob is rejected", withSpec(threeManagers + "  labels:\n    - hostnames: ['db-[']\n      set: {tier: db}\n"),
			`t.yaml:8: spec.labels[0].hostnames[0]: "db-[" is not a valid glob`},
		{"a label rule without labels is rejected", withSpec(threeManagers + "  labels:\n    - hostnames: [db-1]\n"),
			"t.yaml:8: spec.labels[0].set: required; give at least one label to set"},
		{"a label rule with an empty set is rejected", withSpec(threeManagers + "  labels:\n    - hostnames: [db-1]\n      set: {}\n"),
			"t.yaml:9: spec.labels[0].set: required"},
		{"a label rule setting the default zone label is rejected", withSpec(threeManagers + "  labels:\n    - hostnames: [db-1]\n      set: {az: a}\n"),
			`t.yaml:9: spec.labels[0].set.az: "az" is the zone label (spec.zoneLabel); set zones under spec.zones instead`},
		{"a label rule setting a custom zone label is rejected", withSpec(threeManagers + "  zoneLabel: dc\n  labels:\n    - hostnames: [db-1]\n      set: {dc: a}\n"),
			`t.yaml:10: spec.labels[0].set.dc: "dc" is the zone label`},
		{"an empty label key is rejected", withSpec(threeManagers + "  labels:\n    - hostnames: [db-1]\n      set: {'': a}\n"),
			`t.yaml:9: spec.labels[0].set[""]: empty label key`},
		{"a label key with '=' is rejected", withSpec(threeManagers + "  labels:\n    - hostnames: [db-1]\n      set: {'a=b': a}\n"),
			`t.yaml:9: spec.labels[0].set.a=b: label key "a=b" contains '='`},
		{"a label value that is a number is rejected", withSpec(threeManagers + "  labels:\n    - hostnames: [db-1]\n      set: {rack: 12}\n"),
			"t.yaml:9: spec.labels[0].set.rack: want a string, got integer 12; quote it to make it a string"},
		{"a zone label with whitespace is rejected", withSpec(threeManagers + "  zoneLabel: 'my zone'\n"),
			`t.yaml:7: spec.zoneLabel: label key "my zone" contains whitespace`},
		{"a negative grace period is rejected", withSpec(threeManagers + "  policy:\n    replaceUnreachableAfter: -1m\n"),
			"t.yaml:8: spec.policy.replaceUnreachableAfter: -1m0s is negative"},
		{"a grace period that is not a duration is rejected", withSpec(threeManagers + "  policy:\n    replaceUnreachableAfter: 5 minutes\n"),
			`t.yaml:8: spec.policy.replaceUnreachableAfter: "5 minutes" is not a duration`},
		{"a grace period that is a bare number is rejected", withSpec(threeManagers + "  policy:\n    replaceUnreachableAfter: 300\n"),
			"t.yaml:8: spec.policy.replaceUnreachableAfter: want a duration such as"},
		{"a policy switch written as yes is rejected", withSpec(threeManagers + "  policy:\n    removeDownNodes: yes\n"),
			`t.yaml:8: spec.policy.removeDownNodes: want true or false, got string "yes"`},
		{"an alias is rejected", withSpec("  managers:\n    count: &n 3\n  workers: {availability: *n}\n"),
			"t.yaml:7: spec.workers.availability: YAML aliases are not supported"},
		{"a merge key is rejected", withSpec("  managers:\n    <<: {count: 3}\n"),
			"t.yaml:6: spec.managers: YAML merge keys (<<) are not supported"},
		{"a mapping key that is a list is rejected", withSpec(threeManagers + "  zones:\n    ? [a]\n    : [b]\n"),
			"t.yaml:8: spec.zones: want a plain key, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top, err := Parse("t.yaml", []byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse accepted the file: %+v", top)
			}
			if top != nil {
				t.Errorf("Parse returned a topology along with errors")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %T", err)
			}
			found := false
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.HasPrefix(line, tt.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("no error line starts with\n  %s\ngot:\n%v", tt.want, err)
			}
		})
	}
}

func TestParseReportsEveryErrorAtOnce(t *testing.T) {
	doc := withSpec("  managers:\n    count: 4\n    availability: drained\n  workers: {availability: off}\n  bogus: 1\n")
	_, err := Parse("t.yaml", []byte(doc))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, want ErrorList", err)
	}
	want := []string{
		"t.yaml:6: spec.managers.count: 4 is even; set spec.policy.allowEvenManagers to run an even number of managers",
		`t.yaml:7: spec.managers.availability: "drained" is not an availability; want active, pause or drain, or leave it out to leave nodes alone`,
		`t.yaml:8: spec.workers.availability: "off" is not an availability; want active, pause or drain, or leave it out to leave nodes alone`,
		"t.yaml:9: spec.bogus: unknown field",
	}
	if got := strings.Split(list.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "spec.managers.count" || fe.Line != 6 || fe.File != "t.yaml" {
		t.Errorf("errors.As(*FieldError) = %+v, want the count error on line 6", fe)
	}
}

func TestParseDoesNotRepeatDecodeErrorsAsMissingFields(t *testing.T) {
	_, err := Parse("t.yaml", []byte(withSpec("  managers:\n    count: three\n")))
	list, ok := err.(ErrorList)
	if !ok || len(list) != 1 {
		t.Fatalf("want exactly one error, got:\n%v", err)
	}
}

func TestFieldErrorFormatsWhatIsKnown(t *testing.T) {
	tests := []struct {
		name string
		err  FieldError
		want string
	}{
		{"file, line and field are all shown", FieldError{File: "a.yaml", Line: 3, Field: "kind", Msg: "bad"}, "a.yaml:3: kind: bad"},
		{"a file without a line is shown alone", FieldError{File: "a.yaml", Msg: "empty file"}, "a.yaml: empty file"},
		{"a line without a file is spelled out", FieldError{Line: 3, Field: "kind", Msg: "bad"}, "line 3: kind: bad"},
		{"a bare field error has only the field", FieldError{Field: "kind", Msg: "bad"}, "kind: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateWorksOnValuesBuiltInCode(t *testing.T) {
	top := &SwarmTopology{APIVersion: APIVersion, Kind: Kind, Metadata: Metadata{Name: "x"},
		Spec: Spec{Managers: Managers{Count: 3, Spread: Spread{Mode: SpreadShorthand, Counts: []int{2}}}}}
	err := top.Validate()
	want := `spec.managers.spread: "2" places 2 managers but spec.managers.count is 3; the parts must add up to the count`
	if err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %s", err, want)
	}
	top.Spec.Managers.Spread = Spread{}
	if err := top.Validate(); err != nil {
		t.Errorf("Validate() on a valid value = %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(withSpec(threeManagers)), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(withSpec("  managers: {count: 2}\n")), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("a valid file loads", func(t *testing.T) {
		top, err := Load(good)
		if err != nil || top.Spec.Managers.Count != 3 {
			t.Errorf("Load = %+v, %v", top, err)
		}
	})
	t.Run("errors name the path given", func(t *testing.T) {
		_, err := Load(bad)
		if err == nil || !strings.HasPrefix(err.Error(), bad+":5: spec.managers.count: 2 is even") {
			t.Errorf("Load error = %v", err)
		}
	})
	t.Run("a missing file is a read error, not an invalid topology", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "nope.yaml"))
		if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
			t.Errorf("Load error = %v", err)
		}
	})
}

func TestFieldPrefixes(t *testing.T) {
	tests := []struct {
		name, path string
		want       []string
	}{
		{"a dotted path yields each parent", "spec.managers.count", []string{"spec.managers.count", "spec.managers", "spec", ""}},
		{"an index is a segment", "spec.labels[1].set", []string{"spec.labels[1].set", "spec.labels[1]", "spec.labels", "spec", ""}},
		{"a quoted key keeps its dots", `spec.labels[0].set["a.b"]`, []string{`spec.labels[0].set["a.b"]`, "spec.labels[0].set", "spec.labels[0]", "spec.labels", "spec", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldPrefixes(tt.path); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fieldPrefixes(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}
