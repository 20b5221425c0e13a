package spec

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Decoding is two passes over one document.
//
// The node pass (this file) walks the yaml.v3 node tree and the Go types side by side, reading
// field names from the same JSON tags that sigs.k8s.io/yaml and the schema use. It reports every
// problem at once, each with its full field path and line: unknown fields (with a "did you mean"),
// fields set twice, aliases, merge keys, and values of the wrong type. It turns the document into
// plain JSON, leaving out (as null) whatever did not fit, so that the rest can still be validated.
//
// The value pass (unmarshal.go) then decodes that JSON into the types through sigs.k8s.io/yaml,
// strictly, as Kubernetes tooling decodes its objects.
//
// The YAML is read by yaml.v3 rather than by sigs.k8s.io/yaml's own YAMLToJSON because the latter
// reads YAML 1.1 through yaml.v2: there `mgr: yes` quietly becomes "true" and `removeDownNodes: on`
// becomes true. Here scalars keep their YAML 1.2 meaning: yes is the string "yes", and a boolean
// field refuses it.

// YAML tags as go.yaml.in/yaml/v3 reports them.
const (
	tagStr       = "!!str"
	tagInt       = "!!int"
	tagFloat     = "!!float"
	tagBool      = "!!bool"
	tagNull      = "!!null"
	tagMap       = "!!map"
	tagSeq       = "!!seq"
	tagMerge     = "!!merge"
	tagTimestamp = "!!timestamp"
)

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

type decoder struct {
	errs ErrorList
	// lines maps each field path seen to the line of its key (or of its item, in a list).
	lines map[string]int
}

func newDecoder() *decoder {
	return &decoder{lines: make(map[string]int)}
}

func (d *decoder) fail(n *yaml.Node, field, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{Line: n.Line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) seen(field string, line int) {
	if _, ok := d.lines[field]; !ok {
		d.lines[field] = line
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == tagNull
}

// describe names what a node holds, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case tagStr:
		return fmt.Sprintf("string %q", n.Value)
	case tagInt:
		return "integer " + n.Value
	case tagFloat:
		return "number " + n.Value
	case tagBool:
		return "boolean " + n.Value
	case tagNull:
		return "null"
	}
	return fmt.Sprintf("%s %q", n.ShortTag(), n.Value)
}

// check returns the JSON value of n for a Go value of type t, reporting every mismatch. A value
// that does not fit comes back as nil (JSON null), which leaves the Go value zero, as a null does.
func (d *decoder) check(n *yaml.Node, t reflect.Type, field string) any {
	d.seen(field, n.Line)
	if n.Kind == yaml.AliasNode {
		d.fail(n, field, "YAML aliases are not supported; write the value out")
		return nil
	}
	if isNull(n) {
		return nil
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return d.checkUnmarshaler(n, t, field)
	}
	switch t.Kind() {
	case reflect.Struct:
		return d.checkStruct(n, t, field)
	case reflect.Map:
		return d.checkMap(n, t, field)
	case reflect.Slice:
		return d.checkSlice(n, t, field)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != tagStr && n.ShortTag() != tagTimestamp) {
			d.fail(n, field, "want a string, got %s%s", describe(n), quoteHint(n))
			return nil
		}
		return n.Value
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != tagInt {
			d.fail(n, field, "want an integer, got %s", describe(n))
			return nil
		}
		if err := n.Decode(&i); err != nil || reflect.Zero(t).OverflowInt(i) {
			d.fail(n, field, "%s is out of range", n.Value)
			return nil
		}
		return i
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != tagBool || n.Decode(&b) != nil {
			d.fail(n, field, "want true or false, got %s", describe(n))
			return nil
		}
		return b
	}
	// Only reachable if a field of an unsupported kind is added to types.go.
	d.fail(n, field, "cannot decode into Go type %s", t)
	return nil
}

func quoteHint(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return "; quote it to make it a string"
	}
	return ""
}

// checkUnmarshaler tries the type's own UnmarshalJSON on the value here, so that its complaint
// gets this field's path and line and does not stop the rest of the document from being checked.
func (d *decoder) checkUnmarshaler(n *yaml.Node, t reflect.Type, field string) any {
	val, ok := d.toJSON(n, field)
	if !ok {
		return nil
	}
	data, err := json.Marshal(val)
	if err != nil {
		d.fail(n, field, "cannot represent the value in JSON: %v", err)
		return nil
	}
	if err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(data); err != nil {
		d.fail(n, field, "%v", err)
		return nil
	}
	return val
}

// mappingPairs checks that n is a mapping with scalar keys, none repeated, and calls fn for each
// pair with the key text.
func (d *decoder) mappingPairs(n *yaml.Node, field string, fn func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "want a mapping, got %s", describe(n))
		return
	}
	first := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind == yaml.AliasNode:
			d.fail(k, field, "YAML aliases are not supported; write the key out")
			continue
		case k.Kind != yaml.ScalarNode:
			d.fail(k, field, "want a plain key, got %s", describe(k))
			continue
		case k.ShortTag() == tagMerge:
			d.fail(k, field, "YAML merge keys (<<) are not supported; write the fields out")
			continue
		}
		key := k.Value
		if k.ShortTag() == tagNull {
			key = ""
		}
		if line, dup := first[key]; dup {
			d.fail(k, keyField(field, key), "set twice; first set at line %d", line)
			continue
		}
		first[key] = k.Line
		fn(key, k, v)
	}
}

// jsonFields maps the JSON names of a struct's fields to their index.
func jsonFields(t reflect.Type) (map[string]int, []string) {
	idx := make(map[string]int, t.NumField())
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		idx[name] = i
		names = append(names, name)
	}
	return idx, names
}

func (d *decoder) checkStruct(n *yaml.Node, t reflect.Type, field string) any {
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "want a mapping, got %s", describe(n))
		return nil
	}
	idx, names := jsonFields(t)
	obj := make(map[string]any, len(n.Content)/2)
	d.mappingPairs(n, field, func(key string, k, val *yaml.Node) {
		f := keyField(field, key)
		i, ok := idx[key]
		if !ok {
			msg := "unknown field"
			if s := suggest(key, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			d.fail(k, f, "%s", msg)
			return
		}
		d.seen(f, k.Line)
		obj[key] = d.check(val, t.Field(i).Type, f)
	})
	return obj
}

func (d *decoder) checkMap(n *yaml.Node, t reflect.Type, field string) any {
	if t.Key().Kind() != reflect.String {
		d.fail(n, field, "cannot decode into Go type %s", t)
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "want a mapping, got %s", describe(n))
		return nil
	}
	obj := make(map[string]any, len(n.Content)/2)
	d.mappingPairs(n, field, func(key string, k, val *yaml.Node) {
		f := keyField(field, key)
		d.seen(f, k.Line)
		obj[key] = d.check(val, t.Elem(), f)
	})
	return obj
}

func (d *decoder) checkSlice(n *yaml.Node, t reflect.Type, field string) any {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, field, "want a list, got %s", describe(n))
		return nil
	}
	arr := make([]any, len(n.Content))
	for i, item := range n.Content {
		arr[i] = d.check(item, t.Elem(), indexField(field, i))
	}
	return arr
}

// toJSON turns a node into the value encoding/json would produce for the same document. It is
// used for the types that unmarshal themselves from JSON, and by the schema tests.
func (d *decoder) toJSON(n *yaml.Node, field string) (any, bool) {
	d.seen(field, n.Line)
	switch n.Kind {
	case yaml.AliasNode:
		d.fail(n, field, "YAML aliases are not supported; write the value out")
		return nil, false
	case yaml.MappingNode:
		obj := make(map[string]any, len(n.Content)/2)
		ok := true
		before := len(d.errs)
		d.mappingPairs(n, field, func(key string, k, val *yaml.Node) {
			f := keyField(field, key)
			d.seen(f, k.Line)
			x, good := d.toJSON(val, f)
			ok = ok && good
			obj[key] = x
		})
		return obj, ok && len(d.errs) == before
	case yaml.SequenceNode:
		arr := make([]any, len(n.Content))
		ok := true
		for i, item := range n.Content {
			x, good := d.toJSON(item, indexField(field, i))
			ok = ok && good
			arr[i] = x
		}
		return arr, ok
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case tagStr, tagTimestamp:
			return n.Value, true
		case tagNull:
			return nil, true
		case tagBool, tagInt, tagFloat:
			var x any
			if err := n.Decode(&x); err != nil {
				d.fail(n, field, "cannot read %s: %v", describe(n), err)
				return nil, false
			}
			if f, isFloat := x.(float64); isFloat && (math.IsInf(f, 0) || math.IsNaN(f)) {
				d.fail(n, field, "%s cannot be represented in JSON", n.Value)
				return nil, false
			}
			return x, true
		}
	}
	d.fail(n, field, "unsupported YAML value %s", describe(n))
	return nil, false
}

// suggest returns the known name closest to an unknown one, if it is close enough to be a typo.
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return k
		}
		if dist := editDistance(strings.ToLower(name), strings.ToLower(k)); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt // not a typo, and keeps fuzzed input cheap
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = slices.Min([]int{prev[j] + 1, cur[j-1] + 1, prev[j-1] + cost})
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
