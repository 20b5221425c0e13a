package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
	"sigs.k8s.io/yaml/kyaml"
)

// valuePassFailed starts the message of an error from the value pass. The node pass checks
// everything the value pass can refuse, so such an error means the two disagree: a bug, which the
// fuzz tests look for.
const valuePassFailed = "internal error, please report it: the checked document did not decode: "

// unmarshal decodes the JSON the node pass produced into t through sigs.k8s.io/yaml, strictly:
// a duplicate or an unknown field is an error there too.
func (d *decoder) unmarshal(doc any, t *SwarmTopology) ErrorList {
	data, err := yamlSafeJSON(doc)
	if err == nil {
		err = yaml.UnmarshalStrict(data, t)
	}
	if err == nil {
		return nil
	}
	field := ""
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field = typeErr.Field
	}
	return ErrorList{{Line: d.lineOf(field), Field: field, Msg: valuePassFailed + err.Error()}}
}

// yamlSafeJSON encodes v as JSON that a YAML 1.1 reader (yaml.v2, inside sigs.k8s.io/yaml) reads
// back unchanged.
func yamlSafeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding the document as JSON: %w", err)
	}
	return escapeForYAML(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// escapeForYAML rewrites, in JSON, the characters encoding/json leaves raw but YAML readers do not
// take raw: yaml.v2 and yaml.v3 refuse DEL, the C1 controls, U+FFFE and U+FFFF in a file
// ("control characters are not allowed"), and yaml.v2 reads U+0085 as a line break. U+FEFF is escaped too, as it reads as a byte
// order mark at the start of a line. As \u escapes, YAML and JSON read them alike.
func escapeForYAML(raw []byte) []byte {
	if !bytes.ContainsFunc(raw, needsEscape) {
		return raw
	}
	out := make([]byte, 0, len(raw)+32)
	for len(raw) > 0 {
		r, size := utf8.DecodeRune(raw)
		if needsEscape(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, raw[:size]...)
		}
		raw = raw[size:]
	}
	return out
}

func needsEscape(r rune) bool {
	return (r >= 0x7f && r <= 0x9f) || r == 0xfeff || r == 0xfffe || r == 0xffff
}

// Marshal writes a topology as KYAML through sigs.k8s.io/yaml's encoder: the JSON tags name the
// fields, and the custom types write themselves as they are read (spread as "auto", "2-2-1" or a
// map; durations as Go duration strings). KYAML, the YAML subset kubectl writes with -o kyaml,
// double-quotes every string, so that no YAML reader takes a string for something else. Plain
// block YAML from sigs.k8s.io/yaml's Marshal does not give that: yaml.v2 writes the string "<<"
// unquoted, which a YAML 1.2 reader, Parse among them, takes for a merge key. Parse reads
// Marshal's output back to an equal topology.
func Marshal(t *SwarmTopology) ([]byte, error) {
	data, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encoding topology: %w", err)
	}
	var out bytes.Buffer
	enc := &kyaml.Encoder{}
	// The JSON goes through yaml.v3, which refuses some characters raw; see escapeForYAML.
	if err := enc.FromYAML(bytes.NewReader(escapeForYAML(data)), &out); err != nil {
		return nil, fmt.Errorf("encoding topology: %w", err)
	}
	return out.Bytes(), nil
}
