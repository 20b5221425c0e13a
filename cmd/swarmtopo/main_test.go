package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// fixture is a real `docker node inspect` of a five-node Engine 20.10 swarm with one
// unreachable manager.
const fixture = "../../testdata/engine-20.10-mixed-5-nodes-one-unreachable.json"

// threeManagers is a small valid topology for the fixture's zones a, b and c.
const threeManagers = `apiVersion: swarmtopo.dev/v1alpha1
kind: SwarmTopology
metadata:
  name: test
spec:
  managers:
    count: 3
    availability: drain
  workers:
    availability: active
`

// result is what one in-process run of the CLI left behind.
type result struct {
	code   int
	stdout string
	stderr string
}

// cli runs swarmtopo in-process with args and stdin.
func cli(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := execute(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// writeFile writes content to name in a fresh temporary directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

func TestPlanCode(t *testing.T) {
	step := reconcile.Step{Action: reconcile.ActionPromote, Node: "n1", Hostname: "node1", Reason: "r"}
	inFlight := reconcile.InFlight{Node: "n1", Hostname: "node1", To: reconcile.RoleManager}
	tests := []struct {
		name string
		plan reconcile.Plan
		want int
	}{
		{"a plan with nothing to do is converged", reconcile.Plan{}, codeConverged},
		{"a plan with steps is pending", reconcile.Plan{Steps: []reconcile.Step{step}}, codePending},
		{"a role change in flight is pending", reconcile.Plan{InFlight: []reconcile.InFlight{inFlight}}, codePending},
		{"a blocked plan is blocked", reconcile.Plan{Blocked: "quorum lost"}, codeBlocked},
		{"blocked wins over steps", reconcile.Plan{Blocked: "quorum lost", Steps: []reconcile.Step{step}}, codeBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planCode(&tt.plan); got != tt.want {
				t.Errorf("planCode = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestRunUsageErrors(t *testing.T) {
	topo := writeFile(t, "topology.yaml", threeManagers)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a zero resync is refused", []string{"run", "-f", topo, "--resync", "0s"}, `--resync must be positive`},
		{"a negative step timeout is refused", []string{"run", "-f", topo, "--step-timeout", "-1s"}, `--step-timeout must be positive`},
		{"a zero demotion hold is refused", []string{"run", "-f", topo, "--demotion-hold", "0s"}, `--demotion-hold must be positive`},
		{"a resync that is not a duration is refused", []string{"run", "-f", topo, "--resync", "often"}, `often`},
		{"an unknown output format is refused", []string{"run", "-f", topo, "--once", "-o", "html"}, `html`},
		{"-f is required", []string{"run", "--once"}, `required flag.*file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, "", tt.args...)
			if r.code != codeError {
				t.Fatalf("exit code %d, want %d\n%s", r.code, codeError, r)
			}
			if !regexp.MustCompile(tt.want).MatchString(r.stderr) || !strings.Contains(r.stderr, "swarmtopo run --help") {
				t.Errorf("stderr does not match %s and name the help:\n%s", tt.want, r.stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := cli(t, "", args...)
			if r.code != 0 {
				t.Fatalf("exit code %d\n%s", r.code, r)
			}
			for _, want := range []string{"swarmtopo " + version, "commit: ", runtime.Version()} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
				}
			}
		})
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		t.Run(shell, func(t *testing.T) {
			r := cli(t, "", "completion", shell)
			if r.code != 0 || !strings.Contains(r.stdout, "swarmtopo") {
				t.Errorf("no completion script for %s:\n%s", shell, r)
			}
		})
	}
	t.Run("output formats complete", func(t *testing.T) {
		r := cli(t, "", "__complete", "plan", "-o", "")
		for _, f := range outputFormats() {
			if !strings.Contains(r.stdout, f+"\n") {
				t.Errorf("completion of -o lacks %s:\n%s", f, r.stdout)
			}
		}
	})
}
