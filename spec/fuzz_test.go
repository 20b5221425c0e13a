package spec

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../examples/*.yaml")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	for _, doc := range []string{
		"",
		"- a\n",
		withSpec(threeManagers),
		withSpec("  managers: {count: 5, spread: 2-2-1, selector: {mgr: 'yes'}}\n  zones: {a: ['n*'], b: [m1]}\n"),
		withSpec("  managers: {count: 3, spread: {a: 2, b: 1}}\n  labels: [{hostnames: ['*'], set: {x: y}}]\n"),
		withSpec("  managers:\n    count: &n 3\n    <<: {x: 1}\n  policy: {replaceUnreachableAfter: 90s}\n"),
		withSpec("  managers: {count: 4}\n---\n"),
		`{"apiVersion":"swarmtopo.dev/v1alpha1","kind":"SwarmTopology","metadata":{"name":"j"},"spec":{"managers":{"count":3}}}`,
	} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		top, err := Parse("f.yaml", data)
		if err != nil {
			if top != nil {
				t.Fatal("Parse returned a topology along with an error")
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %T %q is not a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e == nil || e.Msg == "" || e.File != "f.yaml" {
					t.Fatalf("bad error entry %#v in %q", e, err)
				}
			}
			return
		}
		if err := top.Validate(); err != nil {
			t.Fatalf("Parse accepted a topology that Validate rejects: %v", err)
		}
		first, err := json.Marshal(top)
		if err != nil {
			t.Fatalf("marshalling a parsed topology: %v", err)
		}
		again, err := Parse("re.json", first)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", first, err)
		}
		second, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if string(first) != string(second) {
			t.Fatalf("round trip changed the topology:\n%s\n%s", first, second)
		}
	})
}
