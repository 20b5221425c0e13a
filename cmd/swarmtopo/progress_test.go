package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// runOnPipe runs a command line against a fresh one-manager fake swarm with stdout on a pipe:
// a real file that is not a terminal, as when the output is piped to another program.
func runOnPipe(t *testing.T, args ...string) (int, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(r)
		out <- b
	}()
	var stderr bytes.Buffer
	code := fakeApp(oneManager(), w, &stderr).execute(context.Background(), args)
	w.Close()
	got := <-out
	r.Close()
	if code != codeConverged {
		t.Fatalf("%v: exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", args, code, got, stderr.String())
	}
	return code, string(got)
}

// asOf hides the snapshot's time, the only part of a plan that differs between two runs.
var asOf = regexp.MustCompile(`swarm as of [^)]*|"time": "[^"]*"`)

func TestRunOnceOnAPipeIsAsBefore(t *testing.T) {
	topo := writeFile(t, "topology.yaml", threeManagers)
	for _, extra := range [][]string{nil, {"-o", "json"}, {"--log-format", "console"}} {
		base := append([]string{"run", "--once", "-f", topo}, extra...)
		_, auto := runOnPipe(t, base...)
		_, never := runOnPipe(t, append(base, "--progress", "never")...)
		if strings.ContainsRune(auto, '\x1b') {
			t.Errorf("%v: terminal escapes on a pipe:\n%q", extra, auto)
		}
		if asOf.ReplaceAllString(auto, "") != asOf.ReplaceAllString(never, "") {
			t.Errorf("%v: stdout on a pipe differs from --progress never\n--- auto\n%s\n--- never\n%s", extra, auto, never)
		}
	}
	// Today's output: the final plan as plan prints it.
	_, text := runOnPipe(t, "run", "--once", "-f", topo)
	if !strings.HasPrefix(text, "Plan: converged, nothing to do") {
		t.Errorf("stdout is not the final plan:\n%s", text)
	}
}

func TestProgressAlwaysDrawsTheView(t *testing.T) {
	topo := writeFile(t, "topology.yaml", threeManagers)
	_, got := runOnPipe(t, "run", "--once", "-f", topo, "--progress", "always", "--log-format", "json")
	for _, want := range []string{"swarmtopo run --once · test", "5/5 steps done", "✓  1. promote", "✓ Converged: 5 steps applied"} {
		if !strings.Contains(got, want) {
			t.Errorf("the view lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Plan: ") {
		t.Errorf("the view printed the plan as well:\n%s", got)
	}
}

func TestProgressFlagIsChecked(t *testing.T) {
	topo := writeFile(t, "topology.yaml", threeManagers)
	r := runFake(t, oneManager(), "run", "--once", "-f", topo, "--progress", "sometimes")
	if r.code != codeError || !strings.Contains(r.stderr, `invalid argument "sometimes" for "--progress" flag: must be one of auto|always|never`) {
		t.Errorf("exit %d, stderr %q; want a usage error naming the flag", r.code, r.stderr)
	}
}

// onTerminal makes every stream count as a terminal for the test.
func onTerminal(t *testing.T) {
	t.Helper()
	old := terminal
	terminal = func(any) bool { return true }
	t.Cleanup(func() { terminal = old })
}

func TestProgressOnATerminal(t *testing.T) {
	topo := writeFile(t, "topology.yaml", threeManagers)
	base := []string{"run", "--once", "-f", topo}
	cases := []struct {
		name string
		args []string
		view bool
		// logs is a log message that must be printed above the view ("" none at all).
		logs string
	}{
		{"the view, with the logs raised to warn", nil, true, ""},
		{"an explicit --log-level is kept, its lines above the view", []string{"--log-level", "info"}, true, "Step settled"},
		{"--log-format json keeps today's output", []string{"--log-format", "json"}, false, ""},
		{"-o json keeps today's output", []string{"-o", "json"}, false, ""},
		{"--dry-run keeps today's output", []string{"--dry-run"}, false, ""},
		{"--progress never keeps today's output", []string{"--progress", "never"}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			onTerminal(t)
			r := runFake(t, oneManager(), append(base, c.args...)...)
			if r.code != codeConverged && !slices.Contains(c.args, "--dry-run") {
				t.Fatalf("exit %d\n%s", r.code, r)
			}
			view := strings.Contains(r.stdout, "steps done")
			if view != c.view || strings.ContainsRune(r.stdout, '\x1b') != c.view {
				t.Fatalf("view drawn %v, want %v:\n%s", view, c.view, r.stdout)
			}
			if !c.view {
				return
			}
			if !strings.Contains(r.stdout, "✓ Converged: 5 steps applied") || strings.Contains(r.stdout, "Plan: ") {
				t.Errorf("the view does not end in the summary, or the plan was printed too:\n%s", r.stdout)
			}
			// Only what is logged before the view is drawn goes to stderr as before.
			if r.stderr != "" && (strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "Topology loaded")) {
				t.Errorf("stderr %q: on a terminal the logs go above the view", r.stderr)
			}
			title := strings.Index(r.stdout, "swarmtopo run --once ·")
			if c.logs == "" {
				if strings.Contains(r.stdout, "INFO") {
					t.Errorf("info lines with the view and no --log-level:\n%s", r.stdout)
				}
				return
			}
			at := strings.LastIndex(r.stdout, c.logs)
			if at < 0 || strings.Contains(r.stdout, "\t") {
				t.Errorf("no log line %q above the view, or one with a tab:\n%q", c.logs, r.stdout)
			}
			// The last frame is drawn after the last log line.
			if last := strings.LastIndex(r.stdout, "swarmtopo run --once ·"); last < at || title < 0 {
				t.Errorf("the last frame comes before the log line %q:\n%s", c.logs, r.stdout)
			}
		})
	}
}
