// Command schemagen writes the topology file's JSON Schema, generated from the spec package's
// Go types. Run it through `go generate ./spec/`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/swarmtopo/swarmtopo/spec"
)

func main() {
	out := flag.String("o", "schema.json", "file to write")
	flag.Parse()
	data, err := spec.GenerateSchema()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, fmt.Errorf("writing schema: %w", err))
		os.Exit(1)
	}
}
