package reconcile

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/swarmtopo/swarmtopo/spec"
)

// planCase is one file of testdata/plans: a topology and a snapshot, with the sentence that
// says what the plan must show. Its plan is testdata/plans/<file>.golden.
type planCase struct {
	Name     string             `json:"name"`
	Topology spec.SwarmTopology `json:"topology"`
	Snapshot Snapshot           `json:"snapshot"`
}

func caseFile(name string) string {
	slug := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(slug) > 72 {
		slug = strings.TrimRight(slug[:72], "-")
	}
	return filepath.Join("testdata", "plans", slug+".json")
}

var update = flag.Bool("update", false, "rewrite testdata/plans/*.golden from the planner's current plans")

// TestPlanCases plans every case of testdata/plans and compares the plan, and the managers
// once it is applied, with the case's golden file. Refresh with go test ./reconcile -run
// TestPlanCases -update and review the diff. Whatever the golden says, a plan that is not
// blocked must leave no step once applied (a stuck promotion may still be waited for), and a
// blocked one has no steps.
func TestPlanCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "plans", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in testdata/plans: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var c planCase
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		t.Run(c.Name, func(t *testing.T) {
			if caseFile(c.Name) != file {
				t.Fatalf("%s holds case %q, which belongs in %s", file, c.Name, caseFile(c.Name))
			}
			p := mustPlan(t, &c.Topology, c.Snapshot)
			got, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			if p.Blocked != "" {
				if len(p.Steps) != 0 {
					t.Errorf("a blocked plan has steps: %s", stepList(p))
				}
			} else {
				after := applyAll(c.Snapshot, p)
				got = append(got, "managers once applied: "+managersByZone(after)+"\n"...)
				again := mustPlan(t, &c.Topology, after)
				if len(again.Steps) != 0 {
					t.Errorf("planning again after applying the plan gives steps %q", stepList(again))
				}
			}
			golden := strings.TrimSuffix(file, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (go test ./reconcile -run TestPlanCases -update makes it): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs; review the change and run go test ./reconcile -run TestPlanCases -update\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}
