// Package spec defines the SwarmTopology file, parses it strictly and validates it.
//
// Parse and Load read one YAML (or JSON) document, refuse unknown fields, apply the defaults and
// validate the result, returning every problem at once as an ErrorList whose entries carry the
// field path and the line ("topology.yaml:7: spec.managers.count: 4 is even; ..."). Validate checks
// values built in code the same way. ZoneFor and LabelsFor answer, without any IO, what the file
// asks of one hostname; they are what the planner uses.
//
// The Go types carry JSON tags only, and those one set of names serves YAML, JSON and the schema:
// a file is decoded through sigs.k8s.io/yaml, strictly, after a yaml.v3 node pass has checked it
// field by field for the messages and line numbers (decode.go tells why there are two passes).
// Marshal writes a topology back as KYAML through sigs.k8s.io/yaml, and Parse reads it back equal.
//
// The file's JSON Schema is generated from these types (go generate ./spec/) and checked in as
// schema.json, so editors with yaml-language-server can use it; a test keeps the two in step.
package spec
