package spec

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/invopop/jsonschema"
)

//go:generate go run ./internal/schemagen -o schema.json

// SchemaID is the $id of the topology file's JSON Schema.
const SchemaID = "https://github.com/swarmtopo/swarmtopo/spec/schema.json"

// draft07 is declared instead of the library's 2020-12 because yaml-language-server and most
// editors validate draft-07 reliably; the schema uses no keyword newer than that.
const draft07 = "http://json-schema.org/draft-07/schema#"

// Patterns shared by the schema; the parser enforces the same rules in code.
const (
	spreadPattern   = `^(auto|[1-9](-[1-9])*)$`
	durationPattern = `^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`
	labelKeyPattern = `^[^\s=]+$`
)

//go:embed schema.json
var checkedInSchema []byte

// SchemaJSON returns the JSON Schema of the topology file, as checked in at spec/schema.json.
func SchemaJSON() []byte {
	return bytes.Clone(checkedInSchema)
}

// GenerateSchema builds the JSON Schema from the Go types. spec/schema.json is its output; a
// test keeps the two equal.
func GenerateSchema() ([]byte, error) {
	r := &jsonschema.Reflector{
		DoNotReference: true,
		LookupComment:  schemaDescription,
	}
	s := r.Reflect(&SwarmTopology{})
	s.Version = draft07
	s.ID = SchemaID
	s.Title = Kind
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encoding schema: %w", err)
	}
	return out.Bytes(), nil
}

// schemaDescriptions are the editor hover texts, keyed by type and field. They are written for
// people editing a topology file, so they are kept here rather than taken from Go comments.
var schemaDescriptions = map[string]string{
	"SwarmTopology":                  "The desired shape of a Docker Swarm's control plane.",
	"SwarmTopology.APIVersion":       "Always " + APIVersion + ".",
	"SwarmTopology.Kind":             "Always " + Kind + ".",
	"SwarmTopology.Metadata":         "Names the topology.",
	"SwarmTopology.Spec":             "The desired control plane.",
	"Metadata.Name":                  "Name of the topology, such as prod.",
	"Metadata.Annotations":           "Free-form notes; swarmtopo ignores them.",
	"Spec.ZoneLabel":                 "Node label that holds the zone. Default az.",
	"Spec.Managers":                  "The manager set.",
	"Spec.Workers":                   "The worker set.",
	"Spec.Zones":                     "Set the zone label by hostname glob (path.Match syntax): zone name to a list of globs. A glob string may appear under one zone only.",
	"Spec.Labels":                    "Extra node labels by hostname glob; later rules win.",
	"Spec.Policy":                    "Safety switches.",
	"Managers.Count":                 "Number of managers, 1..9. Odd unless policy.allowEvenManagers; 1 only with policy.allowSingleManager.",
	"Managers.Spread":                "How managers spread over zones: auto (as balanced as possible), a shorthand such as \"2-2-1\" (the planner picks which zone gets which count), or a map of zone to count. The counts must add up to count.",
	"Managers.Availability":          "Availability for managers: drain makes them manager-only. Leave it out to leave managers alone.",
	"Managers.Selector":              "Only nodes with all of these labels may be managers.",
	"Workers.Availability":           "Availability for workers. Leave it out to leave workers alone.",
	"LabelRule.Hostnames":            "Hostname globs (path.Match syntax); a node matching any of them gets the labels.",
	"LabelRule.Set":                  "Labels to set. The zone label is not allowed here; use spec.zones.",
	"Policy.AllowEvenManagers":       "Allow an even manager count, which adds no fault tolerance over the odd count below it.",
	"Policy.AllowSingleManager":      "Allow a single manager, which has no fault tolerance.",
	"Policy.ReplaceUnreachableAfter": "How long a manager may stay unreachable before it is replaced, as a Go duration such as 5m. Default 5m.",
	"Policy.RemoveDownNodes":         "Remove nodes that are down from the swarm (docker node rm). Default false.",
}

func schemaDescription(t reflect.Type, field string) string {
	key := t.Name()
	if field != "" {
		key += "." + field
	}
	return schemaDescriptions[key]
}

func uintPtr(n uint64) *uint64 { return &n }

func labelMapSchema(s *jsonschema.Schema) {
	s.PropertyNames = &jsonschema.Schema{Pattern: labelKeyPattern}
}

// JSONSchema describes the three ways to write a spread.
func (Spread) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Default: "auto",
		OneOf: []*jsonschema.Schema{
			{Type: "string", Pattern: spreadPattern},
			{
				Type:                 "object",
				MinProperties:        uintPtr(1),
				PropertyNames:        &jsonschema.Schema{MinLength: uintPtr(1)},
				AdditionalProperties: &jsonschema.Schema{Type: "integer", Minimum: "1", Maximum: json.Number(fmt.Sprint(MaxManagers))},
			},
		},
	}
}

// JSONSchema describes a Go duration string.
func (Duration) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Pattern: durationPattern, Default: "5m"}
}

// JSONSchemaExtend lists the availabilities swarm knows.
func (Availability) JSONSchemaExtend(s *jsonschema.Schema) {
	s.Enum = []any{AvailabilityActive, AvailabilityPause, AvailabilityDrain}
}

// JSONSchemaExtend pins apiVersion and kind.
func (SwarmTopology) JSONSchemaExtend(s *jsonschema.Schema) {
	setProp(s, "apiVersion", func(p *jsonschema.Schema) { p.Const = APIVersion })
	setProp(s, "kind", func(p *jsonschema.Schema) { p.Const = Kind })
}

// JSONSchemaExtend requires a non-empty name.
func (Metadata) JSONSchemaExtend(s *jsonschema.Schema) {
	setProp(s, "name", func(p *jsonschema.Schema) { p.MinLength = uintPtr(1) })
}

// JSONSchemaExtend constrains the zone label, zones and label rules.
func (Spec) JSONSchemaExtend(s *jsonschema.Schema) {
	setProp(s, "zoneLabel", func(p *jsonschema.Schema) {
		p.Pattern = labelKeyPattern
		p.Default = DefaultZoneLabel
	})
	setProp(s, "zones", func(p *jsonschema.Schema) {
		p.PropertyNames = &jsonschema.Schema{MinLength: uintPtr(1)}
		p.AdditionalProperties.MinItems = uintPtr(1)
		p.AdditionalProperties.Items.MinLength = uintPtr(1)
	})
}

// JSONSchemaExtend bounds the manager count and the selector's keys.
func (Managers) JSONSchemaExtend(s *jsonschema.Schema) {
	setProp(s, "count", func(p *jsonschema.Schema) {
		p.Minimum = "1"
		p.Maximum = json.Number(fmt.Sprint(MaxManagers))
	})
	setProp(s, "selector", labelMapSchema)
}

// JSONSchemaExtend requires at least one glob and one label.
func (LabelRule) JSONSchemaExtend(s *jsonschema.Schema) {
	setProp(s, "hostnames", func(p *jsonschema.Schema) {
		p.MinItems = uintPtr(1)
		p.Items.MinLength = uintPtr(1)
	})
	setProp(s, "set", func(p *jsonschema.Schema) {
		labelMapSchema(p)
		p.MinProperties = uintPtr(1)
	})
}

func setProp(s *jsonschema.Schema, name string, fn func(*jsonschema.Schema)) {
	p, ok := s.Properties.Get(name)
	if !ok {
		// A renamed field would silently drop a constraint; fail the schema test instead.
		panic("spec: schema has no property " + name)
	}
	fn(p)
}
