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
// docker node update --availability drain, node by node. Each measurement gets a fresh lab:
// re-promoting nodes that were managers before takes swarm 30 s or more, whoever asks, and
// would hide the difference. Rounds alternate which goes first. The ratio of the medians is
// logged, not asserted: timings on a shared machine are noisy.
func TestScaleUpTimeAgainstPlainDocker(t *testing.T) {
	var operator, plain []time.Duration
	var promoted []string
	measure := map[string]func(t *testing.T, l *lab.Lab) time.Duration{
		"swarmtopo": func(t *testing.T, l *lab.Lab) time.Duration {
			r := swarmtopo(t, l.Node(1), 5*time.Minute, "run", "--once", "-f", topology(t, sprintf(drainedManagers, 5)))
			if r.code != 0 {
				t.Fatalf("run --once to 5: exit %d\n%s", r.code, r.stderr)
			}
			if promoted == nil {
				for h, v := range listNodes(t, l) {
					if v.manager && h != "node1" {
						promoted = append(promoted, h)
					}
				}
				sort.Strings(promoted)
			}
			return r.duration
		},
		"plain": func(t *testing.T, l *lab.Lab) time.Duration {
			node1 := l.Node(1)
			start := time.Now()
			for _, h := range promoted {
				docker(t, node1, "node", "promote", h)
				waitFor(t, time.Minute, h+" to be a reachable manager", func() bool {
					return docker(t, node1, "node", "inspect", "-f", "{{if .ManagerStatus}}{{.ManagerStatus.Reachability}}{{end}}", h) == "reachable"
				})
				docker(t, node1, "node", "update", "--availability", "drain", h)
			}
			docker(t, node1, "node", "update", "--availability", "drain", "node1")
			return time.Since(start)
		},
	}
	for round, order := range [][]string{{"swarmtopo", "plain"}, {"plain", "swarmtopo"}, {"swarmtopo", "plain"}} {
		for _, how := range order {
			t.Run(sprintf("round%d/%s", round+1, how), func(t *testing.T) {
				if how == "plain" && promoted == nil {
					t.Fatal("swarmtopo has not run yet: no nodes to promote by hand")
				}
				l := lab.ForTest(t, lab.Config{Nodes: 7, Managers: 1, Zones: []string{"a", "b", "c"}})
				d := measure[how](t, l)
				if got := spread(listNodes(t, l)); got != "2-2-1" {
					t.Fatalf("%s ended %s, want 2-2-1", how, got)
				}
				if how == "plain" {
					plain = append(plain, d)
				} else {
					operator = append(operator, d)
				}
			})
		}
	}
	if len(operator) != 3 || len(plain) != 3 {
		t.Fatalf("measured %d and %d rounds, want 3 each", len(operator), len(plain))
	}
	mo, mp := median(operator), median(plain)
	t.Logf("1 → 5 managers (2-2-1, drained), promoting %s, fresh lab each: swarmtopo %s, plain docker %s; median %.2fs vs %.2fs, ratio %.2f",
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
