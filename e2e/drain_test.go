//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/lab"
)

const sleeperTag = "swarmtopo-e2e-sleeper:latest"

// buildSleeper builds, on every lab node, a FROM scratch image whose only process sleeps: the
// lab has no registry, so every node that runs a task needs its own copy.
func buildSleeper(t *testing.T, l *lab.Lab) {
	t.Helper()
	dir := t.TempDir()
	src := "package main\n\nimport \"time\"\n\nfunc main() {\n\tfor {\n\t\ttime.Sleep(time.Hour)\n\t}\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module sleeper\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-trimpath", "-o", "sleeper", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the sleeper: %v\n%s", err, out)
	}
	df := "FROM scratch\nCOPY sleeper /sleeper\nENTRYPOINT [\"/sleeper\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(dir, "main.go"))
	if err := l.BuildImage(t.Context(), dir, sleeperTag); err != nil {
		t.Fatal(err)
	}
}

// runningTasks returns, per hostname, how many tasks of service run there, and how many of its
// tasks meant to run are not running.
func runningTasks(t *testing.T, l *lab.Lab, service string) (map[string]int, int) {
	t.Helper()
	c, err := l.Node(1).Client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ts, err := c.TaskList(context.Background(), swarm.TaskListOptions{Filters: filters.NewArgs(
		filters.Arg("service", service), filters.Arg("desired-state", "running"))})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]string{}
	for h, v := range listNodes(t, l) {
		byID[v.id] = h
	}
	out, notRunning := map[string]int{}, 0
	for _, task := range ts {
		if task.Status.State != swarm.TaskStateRunning {
			notRunning++
			continue
		}
		out[byID[task.NodeID]]++
	}
	return out, notRunning
}

// Drains wait for the tasks: a replicated service runs on every node, managers included; `run
// --once` with a topology that drains the managers returns only when every replica runs on a
// node that is not drained, and its log shows each drain waiting, one node at a time.
func TestRunOnceReturnsWhenTheDrainedManagersTasksRunElsewhere(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Nodes: 5, Managers: 3, Zones: []string{"a", "b", "c"}})
	buildSleeper(t, l)
	c, err := l.Node(1).Client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	replicas := uint64(10)
	resp, err := c.ServiceCreate(t.Context(), swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: "web"},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: sleeperTag}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}, swarm.ServiceCreateOptions{QueryRegistry: false})
	if err != nil {
		t.Fatal(err)
	}
	managers := []string{}
	for h, v := range listNodes(t, l) {
		if v.manager {
			managers = append(managers, h)
		}
	}
	var on map[string]int
	waitFor(t, 2*time.Minute, "the service's replicas running, some on managers", func() bool {
		var pending int
		on, pending = runningTasks(t, l, resp.ID)
		n, onManagers := 0, 0
		for h, k := range on {
			n += k
			if slices.Contains(managers, h) {
				onManagers += k
			}
		}
		return pending == 0 && n == int(replicas) && onManagers > 0
	})
	t.Logf("before: replicas by node %v (managers %v)", on, managers)

	file := topology(t, "  managers:\n    count: 3\n    availability: drain\n  workers:\n    availability: active\n")
	r := swarmtopo(t, l.Node(1), 5*time.Minute, "run", "--once", "-f", file)
	if r.code != 0 {
		t.Fatalf("run --once: exit %d\n%s", r.code, r.stderr)
	}
	// Right as it returns: every replica runs, and none on a drained node.
	after, pending := runningTasks(t, l, resp.ID)
	views := listNodes(t, l)
	total := 0
	for h, k := range after {
		total += k
		if views[h].availability == "drain" {
			t.Errorf("%d replica(s) still run on drained %s", k, h)
		}
	}
	if total != int(replicas) || pending != 0 {
		t.Errorf("after run --once: %d replicas running (%v), %d not running; want all %d running", total, after, pending, replicas)
	}
	// Each manager that ran tasks was seen waiting, and no two drains overlapped.
	waited := map[string]bool{}
	open := ""
	for _, line := range strings.Split(r.stderr, "\n") {
		switch {
		case strings.Contains(line, `"msg":"Waiting for the drain"`):
			h := field(line, "hostname")
			if open != "" && open != h {
				t.Errorf("drain of %s waited while %s had not finished", h, open)
			}
			open, waited[h] = h, true
		case strings.Contains(line, `"msg":"Drain done`):
			open = ""
		}
	}
	for _, h := range managers {
		if on[h] > 0 && !waited[h] {
			t.Errorf("no \"Waiting for the drain\" for %s, which ran %d replica(s)\n%s", h, on[h], r.stderr)
		}
		if views[h].availability != "drain" {
			t.Errorf("manager %s is %s, want drain", h, views[h].availability)
		}
	}
	t.Logf("after: replicas by node %v; drains waited: %v; run --once took %s", after, waited, r.duration)
}

// field returns the string value of key in one JSON log line.
func field(line, key string) string {
	_, rest, ok := strings.Cut(line, `"`+key+`":"`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// Relabelling every node of a 25-node swarm: `run --once` (parallel label steps, one pass)
// against the shell loop an admin would write, `docker node update` under `xargs -P 8`, timed
// the same way on the same lab, alternately. The ratio is logged, not asserted: timings on a
// shared machine are noisy.
func TestRelabellingEveryNodeAgainstXargs(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Nodes: 25, Managers: 3})
	n1 := l.Node(1)
	var names []string
	for h := range listNodes(t, l) {
		names = append(names, h)
	}
	slices.Sort(names)
	xargs := func(value string) time.Duration {
		cmd := exec.Command("sh", "-c", "xargs -P 8 -n 1 docker node update --label-add bench="+value+" >/dev/null")
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+n1.DockerHost())
		cmd.Stdin = strings.NewReader(strings.Join(names, "\n") + "\n")
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("xargs docker node update: %v\n%s", err, out)
		}
		return time.Since(start)
	}
	run := func(value string) time.Duration {
		file := topology(t, "  managers:\n    count: 3\n  labels:\n    - hostnames: [\"node*\"]\n      set: {bench: \""+value+"\"}\n")
		r := swarmtopo(t, n1, 5*time.Minute, "run", "--once", "-f", file)
		if r.code != 0 {
			t.Fatalf("run --once: exit %d\n%s", r.code, r.stderr)
		}
		return r.duration
	}
	run("warm") // managed-labels bookkeeping and the first label: not part of the figure
	var tx, tr time.Duration
	const rounds = 3
	for i := range rounds {
		tx += xargs(fmt.Sprintf("x%d", i))
		tr += run(fmt.Sprintf("r%d", i))
	}
	for h, v := range listNodes(t, l) {
		if v.labels["bench"] != fmt.Sprintf("r%d", rounds-1) {
			t.Errorf("%s bench=%q, want r%d", h, v.labels["bench"], rounds-1)
		}
	}
	t.Logf("relabelling %d nodes, mean of %d: xargs -P 8 docker node update %s, swarmtopo run --once %s; ratio %.2f",
		len(names), rounds, tx/rounds, tr/rounds, float64(tx)/float64(tr))
}
