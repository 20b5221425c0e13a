package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// planJSON is the shape issue 2 promises for `plan -o json`.
type planJSON struct {
	Steps    []map[string]any `json:"steps"`
	InFlight []map[string]any `json:"inFlight"`
	Warnings []string         `json:"warnings"`
	Blocked  *string          `json:"blocked"`
	Unmet    []string         `json:"unmet"`
	Before   map[string]any   `json:"before"`
	After    map[string]any   `json:"after"`
}

// wantCode is the exit code the plan's own content calls for.
func (p planJSON) wantCode() int {
	switch {
	case p.Blocked != nil && *p.Blocked != "":
		return codeBlocked
	case len(p.Steps) > 0 || len(p.InFlight) > 0:
		return codePending
	case len(p.Unmet) > 0:
		return codeUnmet
	}
	return codeConverged
}

// decodePlan checks that stdout is exactly one JSON object with the promised keys.
func decodePlan(t *testing.T, stdout string) planJSON {
	t.Helper()
	var keys map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&keys); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%s", stdout)
	}
	for _, k := range []string{"steps", "warnings", "blocked", "before", "after"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("plan JSON has no %q key:\n%s", k, stdout)
		}
	}
	var p planJSON
	if err := json.Unmarshal([]byte(stdout), &p); err != nil {
		t.Fatalf("plan JSON has the wrong types: %v\n%s", err, stdout)
	}
	if p.Blocked == nil {
		t.Errorf("blocked is null, want a string")
	}
	for _, side := range []map[string]any{p.Before, p.After} {
		for _, k := range []string{"managers", "reachable", "faultTolerance", "zones"} {
			if _, ok := side[k]; !ok {
				t.Errorf("before/after summary has no %q key:\n%s", k, stdout)
			}
		}
	}
	actions := map[string]bool{"promote": true, "demote": true, "drain": true, "activate": true, "pause": true, "label": true, "remove": true}
	for i, s := range p.Steps {
		if a, _ := s["action"].(string); !actions[a] {
			t.Errorf("step %d: action %v is not one of issue 2's", i, s["action"])
		}
		for _, k := range []string{"node", "hostname", "reason"} {
			if v, _ := s[k].(string); v == "" {
				t.Errorf("step %d: %q is missing or empty", i, k)
			}
		}
	}
	return p
}

func TestPlanFromState(t *testing.T) {
	topo := writeFile(t, "topology.yaml", threeManagers)
	snapshot, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}

	js := cli(t, "", "plan", "-f", topo, "--state", fixture, "-o", "json")
	p := decodePlan(t, js.stdout)
	if js.code != p.wantCode() {
		t.Fatalf("exit code %d, but the plan calls for %d\n%s", js.code, p.wantCode(), js)
	}
	// The fixture has an unreachable manager, so the swarm is not converged.
	if js.code == codeConverged || js.code == codeError {
		t.Fatalf("exit code %d for a swarm with an unreachable manager\n%s", js.code, js)
	}

	tests := []struct {
		name  string
		stdin string
		args  []string
		// want is a pattern stdout must match.
		want *regexp.Regexp
	}{
		{
			name: "text is the default format",
			args: []string{"plan", "-f", topo, "--state", fixture},
			want: regexp.MustCompile(`\S`),
		},
		{
			name: "text output names the nodes of its steps",
			args: []string{"plan", "-f", topo, "--state", fixture, "-o", "text"},
			want: regexp.MustCompile(`node\d`),
		},
		{
			name: "markdown output has markdown structure",
			args: []string{"plan", "-f", topo, "--state", fixture, "--output", "markdown"},
			want: regexp.MustCompile(`(?m)^(#|\||- |\d+\. |\*\*)`),
		},
		{
			name:  "the snapshot can come from stdin",
			stdin: string(snapshot),
			args:  []string{"plan", "-f", topo, "--state", "-", "-o", "json"},
			want:  regexp.MustCompile(`^\{`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.stdin, tt.args...)
			if r.code != js.code {
				t.Errorf("exit code %d, want %d as with -o json\n%s", r.code, js.code, r)
			}
			if !tt.want.MatchString(r.stdout) {
				t.Errorf("stdout does not match %s\n%s", tt.want, r)
			}
			if strings.Contains(r.stderr, "Error:") {
				t.Errorf("stderr reports an error:\n%s", r.stderr)
			}
		})
	}
}

func TestPlanJSONWhenBlocked(t *testing.T) {
	topo := writeFile(t, "topology.yaml", threeManagers)
	// Two of three managers unreachable: quorum is lost and the plan must block.
	var nodes []map[string]any
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &nodes); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if ms, ok := n["ManagerStatus"].(map[string]any); ok && ms["Leader"] != true {
			ms["Reachability"] = "unreachable"
		}
	}
	lost, err := json.Marshal(nodes)
	if err != nil {
		t.Fatal(err)
	}
	state := writeFile(t, "lost.json", string(lost))

	r := cli(t, "", "plan", "-f", topo, "--state", state, "-o", "json")
	p := decodePlan(t, r.stdout)
	if r.code != codeBlocked || p.Blocked == nil || *p.Blocked == "" {
		t.Fatalf("want exit 3 and a blocked reason with quorum lost\n%s", r)
	}
	for _, s := range p.Steps {
		if a, _ := s["action"].(string); reconcile.Action(a).IsRoleChange() {
			t.Errorf("blocked plan holds a role change: %v", s)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	topo := writeFile(t, "topology.yaml", threeManagers)
	invalid := writeFile(t, "invalid.yaml", strings.Replace(threeManagers, "count: 3", "count: 10", 1))
	garbage := writeFile(t, "garbage.json", `{"not": "an array"`)
	notNodes := writeFile(t, "objects.json", `[{"ID": 7}]`)

	tests := []struct {
		name  string
		args  []string
		stdin string
		env   map[string]string
		// want are patterns stderr must match.
		want []string
	}{
		{
			name: "a missing topology file",
			args: []string{"plan", "-f", filepath.Join(t.TempDir(), "nope.yaml"), "--state", fixture},
			want: []string{`^Error: .*nope\.yaml`},
		},
		{
			name: "an invalid topology file is reported like validate does",
			args: []string{"plan", "-f", invalid, "--state", fixture, "-o", "json"},
			want: []string{regexp.QuoteMeta(invalid) + `:\d+: spec\.managers\.count: `},
		},
		{
			name: "a missing snapshot file",
			args: []string{"plan", "-f", topo, "--state", filepath.Join(t.TempDir(), "nope.json")},
			want: []string{`^Error: reading snapshot: .*nope\.json`},
		},
		{
			name: "a snapshot that is not JSON",
			args: []string{"plan", "-f", topo, "--state", garbage},
			want: []string{`^Error: parsing snapshot .*garbage\.json: `},
		},
		{
			name: "a snapshot that is not node inspect output",
			args: []string{"plan", "-f", topo, "--state", notNodes},
			want: []string{`^Error: parsing snapshot .*objects\.json: `},
		},
		{
			name:  "an empty snapshot on stdin",
			args:  []string{"plan", "-f", topo, "--state", "-"},
			stdin: "",
			want:  []string{`^Error: parsing snapshot -: `},
		},
		{
			name: "an unknown output format is a usage error",
			args: []string{"plan", "-f", topo, "--state", fixture, "-o", "yaml"},
			want: []string{`yaml`, `--output`, `Run 'swarmtopo plan --help' for usage`},
		},
		{
			name: "an unknown log level is a usage error",
			args: []string{"--log-level", "loud", "plan", "-f", topo, "--state", fixture},
			want: []string{`loud`, `debug\|info\|warn\|error`},
		},
		{
			name: "an unknown command is a usage error",
			args: []string{"apply", "-f", topo},
			want: []string{`unknown command "apply"`, `Run 'swarmtopo --help' for usage`},
		},
		{
			name: "no reachable Docker engine for a live plan",
			args: []string{"plan", "-f", topo},
			env:  map[string]string{"DOCKER_HOST": "unix://" + filepath.Join(t.TempDir(), "no.sock")},
			want: []string{`^Error: .*no\.sock`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := cli(t, tt.stdin, tt.args...)
			if r.code != codeError {
				t.Fatalf("exit code %d, want %d\n%s", r.code, codeError, r)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty on error:\n%s", r.stdout)
			}
			for _, w := range tt.want {
				if !regexp.MustCompile(`(?m)` + w).MatchString(r.stderr) {
					t.Errorf("stderr does not match %s\n%s", w, r.stderr)
				}
			}
		})
	}
}

func TestPlanOfAFileTheNodesCannotMeetIsNotExitZero(t *testing.T) {
	// The fixture has five nodes: nine managers cannot be had. Once the plan has run, the plan
	// of the resulting swarm has nothing left to do and must still not say 0.
	topo := writeFile(t, "topology.yaml", strings.Replace(threeManagers, "count: 3", "count: 9", 1))
	for _, format := range []string{"json", "text", "markdown"} {
		r := cli(t, "", "plan", "-f", topo, "--state", fixture, "-o", format)
		if r.code == codeConverged || r.code == codeError {
			t.Errorf("-o %s: exit code %d for a file that cannot be met\n%s", format, r.code, r)
		}
		if format == "json" {
			p := decodePlan(t, r.stdout)
			if len(p.Unmet) == 0 || !strings.Contains(strings.Join(p.Unmet, "\n"), "spec.managers.count wants 9") {
				t.Errorf("unmet = %q, want the count named", p.Unmet)
			}
			if r.code != p.wantCode() {
				t.Errorf("exit code %d, the plan calls for %d", r.code, p.wantCode())
			}
		} else if !strings.Contains(r.stdout, "spec.managers.count wants 9") {
			t.Errorf("-o %s does not say the count cannot be met:\n%s", format, r.stdout)
		}
	}
}
