package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
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
// back unchanged. encoding/json leaves DEL, the C1 controls, U+FEFF, U+FFFE and U+FFFF raw; yaml.v2
// refuses some of them in a file ("control characters are not allowed") and reads U+0085 as a
// line break, so those are written as \u escapes, which YAML and JSON read alike.
func yamlSafeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding the document as JSON: %w", err)
	}
	raw := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if !bytes.ContainsFunc(raw, needsEscape) {
		return raw, nil
	}
	var out strings.Builder
	for len(raw) > 0 {
		r, size := utf8.DecodeRune(raw)
		if needsEscape(r) {
			fmt.Fprintf(&out, `\u%04x`, r)
		} else {
			out.Write(raw[:size])
		}
		raw = raw[size:]
	}
	return []byte(out.String()), nil
}

func needsEscape(r rune) bool {
	return (r >= 0x7f && r <= 0x9f) || r == 0xfeff || r == 0xfffe || r == 0xffff
}

// Marshal writes a topology as YAML, through sigs.k8s.io/yaml: the same JSON tags name the
// fields, and the custom types write themselves as they are read (spread as auto, "2-2-1" or a
// map; durations as Go duration strings). Parse reads the output back to an equal topology.
func Marshal(t *SwarmTopology) ([]byte, error) {
	out, err := yaml.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encoding topology: %w", err)
	}
	return out, nil
}
