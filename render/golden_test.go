package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestOutputsMatchGoldenFiles(t *testing.T) {
	for _, ex := range examples {
		for _, f := range Formats() {
			t.Run(ex.name+"/"+f.String(), func(t *testing.T) {
				var got bytes.Buffer
				if err := Write(&got, f, &ex.plan); err != nil {
					t.Fatal(err)
				}
				assertGolden(t, filepath.Join("testdata", ex.name+"."+f.String()+".golden"), got.Bytes())
			})
		}
	}
}

// assertGolden compares got with the golden file at path, rewriting it first under -update.
func assertGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./render -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output; review the change and run go test ./render -update\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
