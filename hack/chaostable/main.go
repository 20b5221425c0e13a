// Command chaostable prints the fault campaign's figures (the README's table) from the JSON
// lines `make chaos RESULTS=file` appends, one file or several:
//
//	go run ./hack/chaostable results.jsonl
package main

import (
	"fmt"
	"os"

	"github.com/swarmtopo/swarmtopo/internal/chaos"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: chaostable RESULTS.jsonl...")
		os.Exit(2)
	}
	var all []chaos.Result
	for _, path := range os.Args[1:] {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		rs, err := chaos.ReadJSONL(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			os.Exit(1)
		}
		all = append(all, rs...)
	}
	fmt.Print(chaos.Table(all))
	failed := 0
	for _, r := range all {
		if !r.OK() {
			failed++
			fmt.Printf("\nfailed: %s (%s)\n", r.ID, r.Scenario)
			for _, f := range r.Failures {
				fmt.Printf("  - %s\n", f)
			}
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}
