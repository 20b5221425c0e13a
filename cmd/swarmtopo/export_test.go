package main

import (
	"os"
	"strings"
	"testing"
)

// healthyFixture is the real node inspect fixture with its unreachable manager back.
func healthyFixture(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(data), `"Reachability": "unreachable"`, `"Reachability": "reachable"`)
	return writeFile(t, "nodes.json", s)
}

func TestExportThenPlanExitsZero(t *testing.T) {
	state := healthyFixture(t)
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			exp := cli(t, "", "export", "--state", state, "-o", format)
			if exp.code != 0 {
				t.Fatalf("export: %s", exp)
			}
			if format == "yaml" && !strings.Contains(exp.stdout, "# Note: the managers' availability differs") {
				t.Errorf("yaml export has no note on what it left alone:\n%s", exp.stdout)
			}
			file := writeFile(t, "topology."+format, exp.stdout)
			if v := cli(t, "", "validate", "-f", file); v.code != 0 {
				t.Fatalf("validate of the export: %s", v)
			}
			if p := cli(t, "", "plan", "-f", file, "--state", state); p.code != 0 {
				t.Errorf("plan with the exported file: %s\nexported:\n%s", p, exp.stdout)
			}
		})
	}
}

func TestExportErrors(t *testing.T) {
	if r := cli(t, "", "export", "--state", writeFile(t, "bad.json", "[{]")); r.code != 1 || !strings.Contains(r.stderr, "bad.json") {
		t.Errorf("export of a bad snapshot: %s", r)
	}
	if r := cli(t, "", "export", "-o", "toml"); r.code != 1 || !strings.Contains(r.stderr, "toml") {
		t.Errorf("export -o toml: %s", r)
	}
}
