package spec

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var update = flag.Bool("update", false, "rewrite schema.json from the Go types")

func TestSchemaIsUpToDate(t *testing.T) {
	got, err := GenerateSchema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	onDisk, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, onDisk) {
		t.Errorf("spec/schema.json is stale; run `go generate ./spec/` (or go test ./spec/ -run TestSchemaIsUpToDate -update)")
	}
	if !bytes.Equal(SchemaJSON(), onDisk) {
		t.Errorf("SchemaJSON() differs from spec/schema.json; rebuild")
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatalf("compiling schema: %v", err)
	}
	return sch
}

// yamlInstance converts a YAML document the way the parser sees it, for the schema validator.
func yamlInstance(t *testing.T, data []byte) any {
	t.Helper()
	root, errs := parseDocument(data)
	if errs != nil {
		t.Fatal(errs)
	}
	d := newDecoder()
	v, ok := d.toJSON(root, "")
	if !ok {
		t.Fatal(d.errs)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func exampleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("examples: %v, %v", files, err)
	}
	return files
}

func TestExamplesMatchTheSchemaAndParse(t *testing.T) {
	sch := compileSchema(t)
	for _, f := range exampleFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if first, _, _ := strings.Cut(string(data), "\n"); first != "# yaml-language-server: $schema=../spec/schema.json" {
				t.Errorf("first line %q does not point editors at the schema", first)
			}
			if err := sch.Validate(yamlInstance(t, data)); err != nil {
				t.Errorf("schema rejects %s:\n%v", f, err)
			}
			if _, err := Load(f); err != nil {
				t.Errorf("Load: %v", err)
			}
		})
	}
}

func TestSchemaRejectsInvalidDocuments(t *testing.T) {
	sch := compileSchema(t)
	tests := []struct {
		name string
		doc  string
	}{
		{"a count of ten", withSpec("  managers: {count: 10}\n")},
		{"a count of zero", withSpec("  managers: {count: 0}\n")},
		{"a missing count", withSpec("  managers: {spread: auto}\n")},
		{"a malformed shorthand", withSpec("  managers: {count: 5, spread: 2-2-}\n")},
		{"a zero shorthand part", withSpec("  managers: {count: 3, spread: 0-3}\n")},
		{"an explicit spread with a string count", withSpec("  managers: {count: 3, spread: {a: '3'}}\n")},
		{"an explicit spread with a zero count", withSpec("  managers: {count: 3, spread: {a: 3, b: 0}}\n")},
		{"an unknown availability", withSpec("  managers: {count: 3, availability: drained}\n")},
		{"an unknown field", withSpec("  managers: {count: 3, cont: 3}\n")},
		{"a wrong kind", strings.Replace(withSpec(threeManagers), "SwarmTopology", "Topology", 1)},
		{"a wrong apiVersion", strings.Replace(withSpec(threeManagers), "v1alpha1", "v1", 1)},
		{"an empty name", strings.Replace(withSpec(threeManagers), "{name: t}", "{name: ''}", 1)},
		{"a label rule without labels", withSpec(threeManagers + "  labels: [{hostnames: [a], set: {}}]\n")},
		{"a label key with whitespace", withSpec(threeManagers + "  labels: [{hostnames: [a], set: {'a b': x}}]\n")},
		{"a zone without globs", withSpec(threeManagers + "  zones: {a: []}\n")},
		{"a grace period without a unit", withSpec(threeManagers + "  policy: {replaceUnreachableAfter: '300'}\n")},
		{"a negative grace period", withSpec(threeManagers + "  policy: {replaceUnreachableAfter: -5m}\n")},
	}
	for _, tt := range tests {
		t.Run("the schema rejects "+tt.name, func(t *testing.T) {
			if err := sch.Validate(yamlInstance(t, []byte(tt.doc))); err == nil {
				t.Error("schema accepted the document")
			}
			if _, err := Parse("t.yaml", []byte(tt.doc)); err == nil {
				t.Error("Parse accepted the document; the schema and the parser disagree")
			}
		})
	}
}

func TestLabExampleZones(t *testing.T) {
	top, err := Load("../examples/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"node1": "a", "node2": "b", "node3": "c", "node4": "a", "node5": "b", "node6": "c", "node7": "a"}
	for host, zone := range want {
		if got, ok, _ := top.Spec.ZoneFor(host); !ok || got != zone {
			t.Errorf("ZoneFor(%s) = %q, %v; want %q", host, got, ok, zone)
		}
	}
	m := top.Spec.Managers
	if m.Count != 5 || m.Spread.Mode != SpreadAuto || m.Availability != AvailabilityDrain ||
		top.Spec.Workers.Availability != AvailabilityActive || top.Spec.Policy.ReplaceUnreachableAfter.String() != "30s" {
		t.Errorf("lab spec = %+v", top.Spec)
	}
}
