package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Load reads and parses a topology file. Problems with the content come back as an ErrorList.
func Load(path string) (*SwarmTopology, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading topology: %w", err)
	}
	return Parse(path, data)
}

// Parse reads a topology from YAML (or JSON, which is YAML too), decodes it through
// sigs.k8s.io/yaml (decode.go tells how), applies the defaults and validates it. filename is only
// used in error messages. Every problem is reported at once, as an ErrorList whose entries name
// the field path and, where the YAML tells it, the line.
func Parse(filename string, data []byte) (*SwarmTopology, error) {
	root, errs := parseDocument(data)
	if errs != nil {
		return nil, errs.inFile(filename)
	}
	d := newDecoder()
	doc := d.check(root, reflect.TypeFor[SwarmTopology](), "")
	t := &SwarmTopology{}
	errs = slices.Concat(d.errs, d.unmarshal(doc, t))
	t.ApplyDefaults()
	if err := t.Validate(); err != nil {
		failed := make(map[string]bool, len(d.errs))
		for _, e := range d.errs {
			failed[e.Field] = true
		}
		for _, e := range err.(ErrorList) {
			// A field that failed to decode was left zero; complaining that it is missing as well
			// would only be noise.
			if !failedToDecode(e.Field, failed) {
				e.Line = d.lineOf(e.Field)
				errs = append(errs, e)
			}
		}
	}
	if len(errs) > 0 {
		errs.sortByLine()
		return nil, errs.inFile(filename)
	}
	return t, nil
}

// failedToDecode reports whether field, or a field that holds it, had a decode error.
func failedToDecode(field string, failed map[string]bool) bool {
	for _, p := range fieldPrefixes(field) {
		if failed[p] {
			return true
		}
	}
	return false
}

// lineOf finds the line of a field, or of the nearest enclosing field that the file has: a missing
// field is reported where its parent is.
func (d *decoder) lineOf(field string) int {
	for _, p := range fieldPrefixes(field) {
		if line, ok := d.lines[p]; ok {
			return line
		}
	}
	return 0
}

func (l ErrorList) inFile(filename string) ErrorList {
	for _, e := range l {
		e.File = filename
	}
	return l
}

// yamlLine pulls the line out of the parser's messages ("yaml: line 7: did not find ...").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

func syntaxError(err error) ErrorList {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else if len(msg) > len("yaml: ") && msg[:len("yaml: ")] == "yaml: " {
		msg = msg[len("yaml: "):]
	}
	return ErrorList{{Line: line, Msg: "malformed YAML: " + msg}}
}

// parseDocument parses exactly one YAML document and returns its root node.
func parseDocument(data []byte) (*yaml.Node, ErrorList) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, emptyFile()
		}
		return nil, syntaxError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(err)
	default:
		return nil, ErrorList{{Line: next.Line, Msg: "a second YAML document; a topology file holds exactly one"}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, emptyFile()
	}
	return doc.Content[0], nil
}

func emptyFile() ErrorList {
	return ErrorList{{Msg: "empty file; want a " + Kind + " with apiVersion, kind, metadata and spec"}}
}
