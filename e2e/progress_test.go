//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/lab"
)

// tmux runs a tmux command on the test's own server (-L), so the user's sessions are never
// touched; -u because the view draws ✓ and ▶.
func tmux(t *testing.T, server string, args ...string) string {
	t.Helper()
	out, err := exec.Command("tmux", append([]string{"-u", "-L", server}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

var (
	// stepsDone is the view's counter, "3/6 steps done".
	stepsDone = regexp.MustCompile(`(\d+)/(\d+) steps done`)
	// stepInHand is a step row with the in-hand marker.
	stepInHand    = regexp.MustCompile(`(?m)^ ▶ +\d+\. (label|promote|demote|drain|activate|pause|remove) +node\d`)
	promoteInHand = regexp.MustCompile(`(?m)^ ▶ +\d+\. promote`)
	// stepRow is any step row; its first field is the marker.
	stepRow = regexp.MustCompile(`(?m)^ (.) +\d+\. (label|promote|demote|drain|activate|pause|remove) +node\d.*$`)
)

// The live view of run --once, read off a real terminal: swarmtopo runs in a tmux pane of
// 120×40 against a lab that needs a few steps, and the test reads the screen while it works.
func TestProgressViewOnATerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is needed to read the view off a terminal: %v", err)
	}
	l := lab.ForTest(t, lab.Config{Nodes: 3, Managers: 1, Zones: []string{"a", "b", "c"}})
	file := topology(t, "  managers:\n    count: 3\n    availability: drain\n")

	server := fmt.Sprintf("swarmtopo-e2e-%d", os.Getpid())
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", server, "kill-server").Run() })

	// Ctrl-C reaches swarmtopo as SIGINT, as without the view: the step in hand settles, the
	// run stops (exit 1) and the view says so. A promote takes the better part of a second to settle: time enough to press Ctrl-C
	// while it is in hand.
	stop := topology(t, "  managers:\n    count: 3\n")
	_, stopped, _, stopTotal := watchPane(t, server, "stop", l, fmt.Sprintf("%s run --once -f %s", bin, stop), true)
	t.Logf("final screen after Ctrl-C:\n%s", stopped)
	// A log line may be printed above the view here (the re-check before a promote can be
	// the call the stop cuts short); the view's title must still start in column 1.
	titleAt := func(l string) bool { return strings.Contains(l, "swarmtopo run --once ·") }
	if lines := strings.Split(stopped, "\n"); !slices.ContainsFunc(lines, titleAt) ||
		slices.ContainsFunc(lines, func(l string) bool { return titleAt(l) && !strings.HasPrefix(l, "swarmtopo run --once ·") }) {
		t.Errorf("the view's first line does not start in column 1 after the ^C echo:\n%s", stopped)
	}
	if !strings.Contains(stopped, "✗ Stopped after") || !strings.Contains(stopped, "EXIT=1") {
		t.Errorf("after Ctrl-C the view does not say stopped, or the exit code is not 1:\n%s", stopped)
	}
	if m := stepsDone.FindStringSubmatch(stopped); m == nil || m[1] == strconv.Itoa(stopTotal) {
		t.Errorf("after Ctrl-C every step is done: the run was not stopped in the middle:\n%s", stopped)
	}
	if views := listNodes(t, l); !views["node1"].manager {
		t.Errorf("node1 is no longer a manager after the stop: %v", views["node1"])
	}

	// Then a run to the end: the rest of the promotes, and the drains.
	mid, screen, counts, total := watchPane(t, server, "first", l, fmt.Sprintf("%s run --once -f %s", bin, file), false)
	t.Logf("mid-run screen:\n%s", mid)
	t.Logf("final screen:\n%s", screen)
	t.Logf("done counts seen: %v of %d", counts, total)

	if mid == "" {
		t.Errorf("no screen showed a step in hand after one was done")
	}
	if !strings.Contains(mid, "swarmtopo run --once · e2e") || !strings.Contains(mid, "Fault tolerance") ||
		!strings.Contains(mid, "floor") || !regexp.MustCompile(`settling \d`).MatchString(mid) {
		t.Errorf("the mid-run screen lacks the title, the fault tolerance and floor, or the settle clock:\n%s", mid)
	}
	between := slices.ContainsFunc(counts, func(n int) bool { return n > 0 && n < total })
	if !between || counts[len(counts)-1] != total || total < 4 {
		t.Errorf("done counts %v of %d: want the counter to advance through a value between 0 and the total, of 4 or more steps", counts, total)
	}
	for i := 1; i < len(counts); i++ {
		if counts[i] < counts[i-1] {
			t.Errorf("the done count went back: %v", counts)
		}
	}

	if !strings.Contains(screen, "EXIT=0") || !strings.Contains(screen, "✓ Converged:") {
		t.Errorf("the final screen does not say converged with exit 0:\n%s", screen)
	}
	if want := fmt.Sprintf("%d/%d steps done", total, total); !strings.Contains(screen, want) {
		t.Errorf("the final screen lacks %q:\n%s", want, screen)
	}
	rows := stepRow.FindAllStringSubmatch(screen, -1)
	if len(rows) != total {
		t.Errorf("the final screen lists %d steps, the counter %d:\n%s", len(rows), total, screen)
	}
	for _, r := range rows {
		if r[1] != "✓" {
			t.Errorf("step not checked on the final screen: %q", r[0])
		}
	}
	// The logs do not tear the view: on a terminal they are raised to warn and printed above it.
	if strings.Contains(screen, "INFO") || strings.Contains(screen, `"level"`) {
		t.Errorf("log lines on the screen:\n%s", screen)
	}

	views := listNodes(t, l)
	for _, h := range []string{"node1", "node2", "node3"} {
		if v := views[h]; !v.manager || v.availability != "drain" {
			t.Errorf("%s: manager %v, availability %s; want a drained manager", h, v.manager, v.availability)
		}
	}

	// With --log-level info the log lines are printed above the view, never inside it.
	file = topology(t, "  managers:\n    count: 3\n    availability: active\n")
	_, screen, _, total = watchPane(t, server, "logs", l, fmt.Sprintf("%s --log-level info run --once -f %s", bin, file), false)
	t.Logf("final screen with --log-level info:\n%s", screen)
	lines := strings.Split(screen, "\n")
	title := slices.IndexFunc(lines, func(s string) bool { return strings.HasPrefix(s, "swarmtopo run --once") })
	above := strings.Join(lines[:max(title, 0)], "\n")
	if title < 1 || !strings.Contains(above, "INFO") {
		t.Fatalf("no log lines above the view:\n%s", screen)
	}
	// What was printed over old frames of the view must not let them show through.
	for _, frag := range []string{"·", "steps done", "when done", "✓", "▶", "settling"} {
		if strings.Contains(above, frag) {
			t.Errorf("the log lines above the view show view text %q through them:\n%s", frag, above)
		}
	}
	if tail := strings.Join(lines[title:], "\n"); strings.Contains(tail, "INFO") || !strings.Contains(tail, "✓ Converged:") ||
		!strings.Contains(tail, fmt.Sprintf("%d/%d steps done", total, total)) || total != 3 {
		t.Errorf("the view is torn by log lines or did not converge (%d steps):\n%s", total, tail)
	}

}

// watchPane runs command in a new tmux window of 120×40 against node1 and polls the screen
// until it exits. It returns a screen with a step in hand after one was done, the final
// screen (with EXIT=code under the view), the done counts seen in order, and the step total.
// With interrupt it presses Ctrl-C once a promote is in hand.
func watchPane(t *testing.T, server, name string, l *lab.Lab, command string, interrupt bool) (mid, screen string, counts []int, total int) {
	t.Helper()
	// The pane outlives swarmtopo so that the final screen can be read, with the exit code.
	// bash, run directly by tmux, goes on to the echo when swarmtopo exits on its own after
	// a Ctrl-C.
	script := command + "; echo EXIT=$?; sleep 600"
	tmux(t, server, "new-session", "-d", "-s", name, "-x", "120", "-y", "40",
		"-e", "DOCKER_HOST="+l.Node(1).DockerHost(), "bash", "-c", script)
	pressed := false
	// The session stays until the server is killed at cleanup: killing the last session would
	// stop the server while the next new-session may be starting it.
	deadline := time.Now().Add(4 * time.Minute)
	for !strings.Contains(screen, "EXIT=") {
		if time.Now().After(deadline) {
			t.Fatalf("swarmtopo did not finish within 4 minutes; screen:\n%s", screen)
		}
		time.Sleep(50 * time.Millisecond)
		screen = strings.TrimRight(tmux(t, server, "capture-pane", "-p", "-t", name), "\n")
		if m := stepsDone.FindStringSubmatch(screen); m != nil {
			n, _ := strconv.Atoi(m[1])
			total, _ = strconv.Atoi(m[2])
			if len(counts) == 0 || counts[len(counts)-1] != n {
				counts = append(counts, n)
			}
		}
		if mid == "" && stepInHand.MatchString(screen) && len(counts) > 0 && counts[len(counts)-1] > 0 {
			mid = screen
		}
		if interrupt && !pressed && promoteInHand.MatchString(screen) {
			tmux(t, server, "send-keys", "-t", name, "C-c")
			pressed = true
		}
	}
	if want := "EXIT=0"; !interrupt && !strings.Contains(screen, want) {
		t.Errorf("%s: exit code is not 0:\n%s", command, screen)
	}
	return mid, screen, counts, total
}

// Off a terminal the output is what it always was: the final plan on stdout, no escapes, the
// same as with --progress never and with --log-format json.
func TestProgressViewNotOnAPipe(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Nodes: 3, Managers: 3, Zones: []string{"a", "b", "c"}})
	file := topology(t, "  managers:\n    count: 3\n")
	run := func(args ...string) string {
		cmd := exec.Command(bin, append([]string{"run", "--once", "-f", file}, args...)...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+l.Node(1).DockerHost())
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("run --once %v: %v\n%s", args, err, errb.String())
		}
		return asOfTime.ReplaceAllString(out.String(), "")
	}
	plain, never, json := run(), run("--progress", "never"), run("--log-format", "json")
	if !strings.HasPrefix(plain, "Plan: converged, nothing to do") || strings.ContainsRune(plain, '\x1b') {
		t.Errorf("stdout on a pipe is not the plain final plan:\n%q", plain)
	}
	if plain != never || plain != json {
		t.Errorf("stdout differs:\n--- piped\n%s\n--- --progress never\n%s\n--- --log-format json\n%s", plain, never, json)
	}
}

// asOfTime hides the snapshot time, the only part of a plan that differs between runs.
var asOfTime = regexp.MustCompile(`swarm as of [^)]*`)
