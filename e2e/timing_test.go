//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/lab"
)

// TestScaleUpTimeAgainstPlainDocker measures scenario 1 (1 → 5 managers, 2-2-1, drained)
// against what a careful human would type: docker node promote, wait until reachable,
// docker node update --availability drain, node by node, on the same lab in the same run.
// The ratio is logged, not asserted: timings on a shared machine are noisy.
func TestScaleUpTimeAgainstPlainDocker(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Nodes: 7, Managers: 1, Zones: []string{"a", "b", "c"}})
	node1 := l.Node(1)
	five := topology(t, sprintf(drainedManagers, 5))
	back := topology(t, "  managers:\n    count: 1\n    availability: active\n  workers:\n    availability: active\n  policy:\n    allowSingleManager: true\n")

	// Alternate the two, three rounds each, and compare medians: one slow promote (swarm's
	// own, seen up to 30 s here) must not decide the comparison.
	var operator, plain []time.Duration
	var promoted []string
	reset := func() {
		if r := swarmtopo(t, node1, 5*time.Minute, "run", "--once", "-f", back); r.code != 0 {
			t.Fatalf("run --once back to 1: exit %d\n%s", r.code, r.stderr)
		}
	}
	for range 3 {
		r := swarmtopo(t, node1, 5*time.Minute, "run", "--once", "-f", five)
		if r.code != 0 {
			t.Fatalf("run --once to 5: exit %d\n%s", r.code, r.stderr)
		}
		operator = append(operator, r.duration)
		if promoted == nil {
			for h, v := range listNodes(t, l) {
				if v.manager && h != "node1" {
					promoted = append(promoted, h)
				}
			}
			sort.Strings(promoted)
		}
		reset()

		start := time.Now()
		for _, h := range promoted {
			docker(t, node1, "node", "promote", h)
			waitFor(t, time.Minute, h+" to be a reachable manager", func() bool {
				return docker(t, node1, "node", "inspect", "-f", "{{if .ManagerStatus}}{{.ManagerStatus.Reachability}}{{end}}", h) == "reachable"
			})
			docker(t, node1, "node", "update", "--availability", "drain", h)
		}
		docker(t, node1, "node", "update", "--availability", "drain", "node1")
		plain = append(plain, time.Since(start))
		if got := spread(listNodes(t, l)); got != "2-2-1" {
			t.Fatalf("the plain sequence ended %s, want 2-2-1", got)
		}
		reset()
	}
	mo, mp := median(operator), median(plain)
	t.Logf("1 → 5 managers (2-2-1, drained), promoting %s: swarmtopo %s, plain docker %s; median %.2fs vs %.2fs, ratio %.2f",
		strings.Join(promoted, ","), seconds(operator), seconds(plain), mo.Seconds(), mp.Seconds(), mo.Seconds()/mp.Seconds())
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func seconds(d []time.Duration) string {
	out := make([]string, len(d))
	for i, x := range d {
		out[i] = fmt.Sprintf("%.2fs", x.Seconds())
	}
	return strings.Join(out, " ")
}

// docker runs the docker CLI against a lab node and returns its trimmed output.
func docker(t *testing.T, n *lab.Node, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"-H", n.DockerHost()}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}
