package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// parseErrors parses doc and returns its errors, failing the test if there are none.
func parseErrors(t *testing.T, name, doc string) ErrorList {
	t.Helper()
	top, err := Parse(name, []byte(doc))
	var list ErrorList
	if !errors.As(err, &list) || top != nil {
		t.Fatalf("Parse = %+v, %v; want an ErrorList and no topology", top, err)
	}
	return list
}

// wantOnly checks that list holds exactly one error, at line, for field, with msg.
func wantOnly(t *testing.T, list ErrorList, line int, field, msg string) {
	t.Helper()
	if len(list) != 1 {
		t.Fatalf("want one error, got %d:\n%v", len(list), list)
	}
	if e := list[0]; e.Line != line || e.Field != field || e.Msg != msg {
		t.Errorf("error = line %d, field %q, msg %q; want line %d, field %q, msg %q",
			e.Line, e.Field, e.Msg, line, field, msg)
	}
}

func TestParseRefusesADuplicateFieldNamingItAndItsLine(t *testing.T) {
	tests := []struct {
		name, doc, field string
		line, first      int
	}{
		{"a top-level field", withSpec(threeManagers) + "kind: SwarmTopology\n", "kind", 7, 2},
		{"a nested field", withSpec("  managers:\n    count: 3\n    spread: auto\n    count: 3\n"), "spec.managers.count", 8, 6},
		{"a key of a map", withSpec("  managers:\n    count: 3\n    selector:\n      mgr: 'yes'\n      mgr: 'no'\n"), "spec.managers.selector.mgr", 9, 8},
		{"a zone of an explicit spread", withSpec("  managers:\n    count: 3\n    spread: {a: 2,\n      a: 1}\n"), "spec.managers.spread.a", 8, 7},
		{"a field of a list item", withSpec(threeManagers + "  labels:\n    - hostnames: [a]\n      set: {x: y}\n      hostnames: [b]\n"), "spec.labels[0].hostnames", 10, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := parseErrors(t, "t.yaml", tt.doc)
			wantOnly(t, list, tt.line, tt.field, "set twice; first set at line "+strconv.Itoa(tt.first))
		})
	}
}

func TestParseRefusesAnUnknownFieldNamingItAndItsLine(t *testing.T) {
	tests := []struct {
		name, doc, field, msg string
		line                  int
	}{
		{"a top-level field", withSpec(threeManagers) + "status: {}\n", "status", "unknown field", 7},
		{"a nested field with a typo", withSpec("  managers:\n    count: 3\n    avialability: drain\n"),
			"spec.managers.avialability", `unknown field; did you mean "availability"?`, 7},
		{"a field in a list item", withSpec(threeManagers + "  labels:\n    - hostnames: [a]\n      set: {x: y}\n      sets: {x: z}\n"),
			"spec.labels[0].sets", `unknown field; did you mean "set"?`, 10},
		// encoding/json matches field names regardless of case; the file does not.
		{"a field in the wrong case", withSpec("  managers:\n    count: 3\n    Count: 5\n"),
			"spec.managers.Count", `unknown field; did you mean "count"?`, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOnly(t, parseErrors(t, "t.yaml", tt.doc), tt.line, tt.field, tt.msg)
		})
	}
}

func TestParseJSONFileDecodesAsItsYAMLTwin(t *testing.T) {
	fromYAML, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := Load("testdata/full.json")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromYAML, fromJSON) {
		t.Errorf("the YAML and the JSON file decode differently:\nyaml: %+v\njson: %+v", fromYAML, fromJSON)
	}
	// The twins say something: every section is set, and YAML 1.2 scalars kept their meaning.
	s := fromJSON.Spec
	if s.Managers.Selector["mgr"] != "yes" || s.Managers.Selector["on"] != "off" ||
		s.Managers.Spread.String() != "eu-1a=2,eu-1b=2,eu-1c=1" || s.Workers.Availability != AvailabilityPause ||
		s.Policy.ReplaceUnreachableAfter.String() != "1h30m0s" || !s.Policy.RemoveDownNodes ||
		len(s.Zones) != 3 || len(s.Labels) != 2 || s.Labels[0].Set["rack"] != "12" ||
		fromJSON.Metadata.Annotations["example.com/ticket"] != "OPS-12" {
		t.Errorf("decoded spec = %+v", s)
	}
}

func TestParseJSONErrorsCarryTheirLine(t *testing.T) {
	doc := "{\n  \"apiVersion\": \"swarmtopo.dev/v1alpha1\",\n  \"kind\": \"SwarmTopology\",\n  \"metadata\": {\"name\": \"j\"},\n" +
		"  \"spec\": {\n    \"managers\": {\n      \"count\": 3,\n      \"cont\": 3,\n      \"count\": 5\n    }\n  }\n}\n"
	list := parseErrors(t, "t.json", doc)
	want := []string{
		`t.json:8: spec.managers.cont: unknown field; did you mean "count"?`,
		"t.json:9: spec.managers.count: set twice; first set at line 7",
	}
	if got := strings.Split(list.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The value pass refuses what the node pass refuses, so that the strictness does not rest on one
// of them alone.
func TestValuePassIsStrict(t *testing.T) {
	tests := []struct {
		name  string
		doc   map[string]any
		field string
		says  string
	}{
		{"an unknown field", map[string]any{"spec": map[string]any{"managers": map[string]any{"count": 3, "cont": 3}}}, "", `unknown field "cont"`},
		{"a string for a number", map[string]any{"spec": map[string]any{"managers": map[string]any{"count": "three"}}}, "spec.managers.count", "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDecoder()
			list := d.unmarshal(tt.doc, &SwarmTopology{})
			if len(list) != 1 || list[0].Field != tt.field || !strings.HasPrefix(list[0].Msg, valuePassFailed) ||
				!strings.Contains(list[0].Msg, tt.says) {
				t.Errorf("unmarshal = %v; want one error for field %q saying %q", list, tt.field, tt.says)
			}
		})
	}
}

// Strings that YAML 1.1 (read by sigs.k8s.io/yaml) and YAML 1.2 (read by the node pass) see
// differently, or that need quoting or escaping, must come through both passes and back unchanged.
var awkwardStrings = map[string]string{
	"yes": "yes", "on": "on", "n": "n", "octal": "0o17", "octal11": "017", "underscored": "1_000", "sexagesimal": "1:20",
	"date": "2001-12-14", "tilde": "~", "null": "null", "float": "1e3", "merge": "<<", "inf": ".inf",
	"nel": "a\u0085b", "bom": "\ufeffx", "del": "a\x7fb", "c1": "a\u0090b", "nonchar": "a\ufffeb", "ls": "a\u2028b",
	"accent": "é", "emoji": "😀", "newline": "line\nbreak", "tab": "a\tb", "lead": " x", "trail": "x ",
	"comment": "#x", "dash": "- x", "colon": "x: y", "quote": `"`, "apostrophe": "'", "empty": "", "<<": "merge key", "html": "<a&b>",
	"long": strings.Repeat("word ", 40),
}

func awkwardDoc() string {
	var b strings.Builder
	b.WriteString(withSpec(threeManagers + "  labels:\n    - hostnames: ['*']\n      set:\n"))
	for k, v := range awkwardStrings {
		b.WriteString("        " + yamlQuote(k) + ": " + yamlQuote(v) + "\n")
	}
	return b.String()
}

// yamlQuote writes s as a YAML double-quoted scalar, escaping everything outside printable ASCII.
func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func TestParseKeepsAwkwardStrings(t *testing.T) {
	top := mustParse(t, awkwardDoc())
	if got := top.Spec.Labels[0].Set; !reflect.DeepEqual(got, awkwardStrings) {
		for k, want := range awkwardStrings {
			if got[k] != want {
				t.Errorf("label %s = %q, want %q", k, got[k], want)
			}
		}
	}
}

func roundTripSources(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "testdata/full.yaml", "testdata/full.json")
	src := map[string][]byte{"awkward strings": []byte(awkwardDoc())}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src[f] = data
	}
	src["shorthand spread"] = []byte(withSpec("  managers: {count: 5, spread: 1-2-2}\n  policy: {replaceUnreachableAfter: 90s}\n"))
	return src
}

func TestMarshalRoundTrips(t *testing.T) {
	sch := compileSchema(t)
	for name, data := range roundTripSources(t) {
		t.Run(name, func(t *testing.T) {
			first := mustParse(t, string(data))
			out, err := Marshal(first)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse("marshalled.yaml", out)
			if err != nil {
				t.Fatalf("parsing the marshalled topology:\n%s\n%v", out, err)
			}
			if !reflect.DeepEqual(first, again) {
				t.Errorf("round trip changed the topology:\nbefore: %+v\nafter:  %+v\nYAML:\n%s", first, again, out)
			}
			if err := sch.Validate(yamlInstance(t, out)); err != nil {
				t.Errorf("the schema refuses the marshalled topology:\n%s\n%v", out, err)
			}
			if out2, err := Marshal(again); err != nil || !bytes.Equal(out, out2) {
				t.Errorf("marshalling again gives other output (%v):\n%s\n%s", err, out, out2)
			}
		})
	}
}

func TestMarshalWritesCustomTypesAsTheyAreRead(t *testing.T) {
	top := mustParse(t, withSpec("  managers: {count: 5, spread: 1-2-2}\n  policy: {replaceUnreachableAfter: 90m}\n"))
	out, err := Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\n      spread: \"2-2-1\",\n", "\n      replaceUnreachableAfter: \"1h30m0s\",\n",
		"\n    zoneLabel: \"az\",\n", "\n  apiVersion: \"swarmtopo.dev/v1alpha1\",\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("marshalled YAML lacks %q:\n%s", strings.TrimSpace(want), out)
		}
	}
	top.Spec.Managers.Spread = Spread{Mode: SpreadExplicit, Zones: map[string]int{"b": 2, "a": 3}}
	if out, err = Marshal(top); err != nil || !strings.Contains(string(out), "      spread: {\n        a: 3,\n        b: 2,\n      },\n") {
		t.Errorf("explicit spread marshalled as (%v):\n%s", err, out)
	}
}

func FuzzMarshalRoundTrip(f *testing.F) {
	f.Add([]byte(awkwardDoc()))
	for _, doc := range []string{
		withSpec(threeManagers),
		withSpec("  managers: {count: 5, spread: 2-2-1, selector: {mgr: yes, on: \"\\u0085\"}}\n  zones: {a: ['n*'], b: [m1]}\n"),
		withSpec("  managers: {count: 3, spread: {a: 2, b: 1}}\n  labels: [{hostnames: ['*'], set: {x: \"\\uFEFF\"}}]\n"),
		withSpec("  managers: {count: 3, selector: {}}\n  zones: {}\n  labels: []\n  policy: {replaceUnreachableAfter: 1.5h}\n"),
	} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		top, err := Parse("f.yaml", data)
		if err != nil {
			for _, e := range err.(ErrorList) {
				if strings.HasPrefix(e.Msg, valuePassFailed) {
					t.Fatalf("the node pass let through what the value pass refuses: %v", e)
				}
			}
			return
		}
		first, err := Marshal(top)
		if err != nil {
			t.Fatalf("marshalling a parsed topology: %v", err)
		}
		again, err := Parse("re.yaml", first)
		if err != nil {
			t.Fatalf("re-parsing\n%s\n%v", first, err)
		}
		second, err := Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("round trip changed the topology:\n%s\n%s", first, second)
		}
	})
}

// One set of JSON tags names the fields for the node pass, for sigs.k8s.io/yaml and for the
// schema: every struct reached from SwarmTopology has exactly the schema's properties, and no
// field carries a yaml tag that could make the file and the schema disagree.
func TestOneSetOfTagsServesYAMLJSONAndTheSchema(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal(SchemaJSON(), &schema); err != nil {
		t.Fatal(err)
	}
	var walk func(typ reflect.Type, sch map[string]any, path string)
	walk = func(typ reflect.Type, sch map[string]any, path string) {
		if reflect.PointerTo(typ).Implements(unmarshalerType) {
			return // spread and durations describe themselves
		}
		switch typ.Kind() {
		case reflect.Slice:
			walk(typ.Elem(), sch["items"].(map[string]any), path+"[]")
		case reflect.Map:
			if sub, ok := sch["additionalProperties"].(map[string]any); ok {
				walk(typ.Elem(), sub, path+"{}")
			}
		case reflect.Struct:
			props, _ := sch["properties"].(map[string]any)
			_, names := jsonFields(typ)
			if len(names) != len(props) {
				t.Errorf("%s: the node pass knows %v, the schema %d properties", path, names, len(props))
			}
			idx, _ := jsonFields(typ)
			for _, name := range names {
				f := typ.Field(idx[name])
				if tag, ok := f.Tag.Lookup("yaml"); ok {
					t.Errorf("%s.%s has a yaml tag %q; the json tag alone names it", path, name, tag)
				}
				sub, ok := props[name].(map[string]any)
				if !ok {
					t.Errorf("%s: the schema has no property %s", path, name)
					continue
				}
				walk(f.Type, sub, joinField(path, name))
			}
		}
	}
	walk(reflect.TypeFor[SwarmTopology](), schema, "")
}
