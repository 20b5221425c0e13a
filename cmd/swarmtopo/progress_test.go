package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
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
