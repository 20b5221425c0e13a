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
				path := filepath.Join("testdata", ex.name+"."+f.String()+".golden")
				if *update {
					if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("reading golden file (run go test ./render -update to create it): %v", err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("%s differs from the output; review the change and run go test ./render -update\n--- got\n%s\n--- want\n%s", path, got.Bytes(), want)
				}
			})
		}
	}
}
