//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/lab"
	"github.com/swarmtopo/swarmtopo/reconcile"
)

// setSwarmLabel writes the maintenance label on the swarm object by hand, as an admin with the
// API could; "" removes it.
func setSwarmLabel(t *testing.T, n *lab.Node, value string) {
	t.Helper()
	c, err := n.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	sw, err := c.SwarmInspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sw.Spec.Labels == nil {
		sw.Spec.Labels = map[string]string{}
	}
	if value == "" {
		delete(sw.Spec.Labels, reconcile.MaintenanceLabelKey)
	} else {
		sw.Spec.Labels[reconcile.MaintenanceLabelKey] = value
	}
	if err := c.SwarmUpdate(ctx, sw.Version, sw.Spec, swarm.UpdateFlags{}); err != nil {
		t.Fatal(err)
	}
}

func swarmLabel(t *testing.T, n *lab.Node) (string, bool) {
	t.Helper()
	c, err := n.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sw, err := c.SwarmInspect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v, ok := sw.Spec.Labels[reconcile.MaintenanceLabelKey]
	return v, ok
}

// Planned maintenance on a real swarm: bad input changes nothing, two racing starts have one
// winner, and `maintenance run` around a real dockerd stop and start of a manager, for longer
// than the grace period, completes with the manager not replaced by the operator running
// alongside; an expired lock is ignored.
func TestMaintenanceOnARealSwarm(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Nodes: 5, Managers: 3, Zones: []string{"a", "b", "c"}})
	n1 := l.Node(1)

	// Bad input: a clear error, exit 1, nothing written.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"maintenance", "start", "node9"}, `node "node9" not found`},
		{[]string{"maintenance", "start", "node2", "--ttl", "soon"}, `--ttl "soon": not a duration`},
	} {
		r := swarmtopo(t, n1, time.Minute, c.args...)
		if r.code != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 saying %q", c.args, r.code, r.stderr, c.want)
		}
	}
	setSwarmLabel(t, n1, "{garbage")
	if r := swarmtopo(t, n1, time.Minute, "maintenance", "start", "node2"); r.code != 1 || !strings.Contains(r.stderr, "not a lock") {
		t.Errorf("start over a garbage label: exit %d, %q", r.code, r.stderr)
	}
	if v, _ := swarmLabel(t, n1); v != "{garbage" {
		t.Errorf("garbage label changed to %q", v)
	}
	if r := swarmtopo(t, n1, time.Minute, "maintenance", "end", "--force", "node2"); r.code != 0 {
		t.Errorf("end --force of a garbage label: exit %d, %q", r.code, r.stderr)
	}
	if _, ok := swarmLabel(t, n1); ok {
		t.Error("end --force left the garbage label")
	}

	// Two starts racing for different managers: exactly one wins.
	var wg sync.WaitGroup
	codes := map[string]int{}
	var mu sync.Mutex
	for _, node := range []string{"node2", "node3"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := swarmtopo(t, n1, time.Minute, "maintenance", "start", node, "--reason", "race")
			mu.Lock()
			codes[node] = r.code
			mu.Unlock()
		}()
	}
	wg.Wait()
	var winner string
	for node, code := range codes {
		if code == 0 {
			winner = node
		} else if code != 3 {
			t.Errorf("racer for %s exited %d; want 0 or 3", node, code)
		}
	}
	if (codes["node2"] == 0) == (codes["node3"] == 0) {
		t.Fatalf("racing starts exited %v; want exactly one winner", codes)
	}
	if r := swarmtopo(t, n1, time.Minute, "maintenance", "end", winner); r.code != 0 {
		t.Fatalf("end %s: exit %d, %q", winner, r.code, r.stderr)
	}

	// The operator runs alongside, with a 10 s grace period.
	file := topology(t, "  managers:\n    count: 3\n  policy:\n    replaceUnreachableAfter: 10s\n")
	op := startSwarmtopo(t, n1, "run", "-f", file, "--resync", "2s")
	op.waitLog(t, time.Minute, "Controller started")

	dir := t.TempDir()
	started, restarted := filepath.Join(dir, "started"), filepath.Join(dir, "restarted")
	script := "touch " + started + "; while [ ! -e " + restarted + " ]; do sleep 0.2; done"
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, bin, "--log-format", "json", "maintenance", "run", "node2",
		"--reason", "backup", "--ttl", "5m", "--", "sh", "-c", script)
	run.Env = append(os.Environ(), "DOCKER_HOST="+n1.DockerHost())
	var runOut, runErr strings.Builder
	run.Stdout, run.Stderr = &runOut, &runErr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- run.Wait() }()
	waitFor(t, time.Minute, "maintenance run to start its command", func() bool {
		_, err := os.Stat(started)
		return err == nil
	})
	// The command's work: the manager's dockerd goes down for longer than the grace period.
	if err := l.Kill(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	waitFor(t, time.Minute, "node2 to show unreachable", func() bool {
		v, err := tryListNodes(l)
		return err == nil && !v["node2"].reachable
	})
	if r := swarmtopo(t, n1, time.Minute, "maintenance", "start", "node3"); r.code != 3 || !strings.Contains(r.stderr, "node2") {
		t.Errorf("second start while node2 is in maintenance: exit %d, %q; want 3 naming node2", r.code, r.stderr)
	}
	if r := swarmtopo(t, n1, time.Minute, "plan", "-f", file, "-o", "json"); !strings.Contains(r.stdout, "node2 is in maintenance") {
		t.Errorf("plan does not show node2's maintenance:\n%s", r.stdout)
	}
	for time.Since(down) < 25*time.Second {
		time.Sleep(time.Second)
	}
	if steps := op.appliedSteps(); len(steps) > 0 {
		t.Errorf("the operator changed the swarm while node2 was in maintenance: %v", steps)
	}
	if err := l.Start(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(restarted, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-runDone; err != nil {
		t.Fatalf("maintenance run: %v\nstdout: %s\nstderr: %s", err, runOut.String(), runErr.String())
	}
	if !strings.Contains(runOut.String(), "is back and the lock is released") {
		t.Errorf("maintenance run said %q", runOut.String())
	}
	if _, ok := swarmLabel(t, n1); ok {
		t.Error("lock not released after maintenance run")
	}
	views := listNodes(t, l)
	if got := managersByZone(views); got != "a:node1 b:node2 c:node3" {
		t.Errorf("managers %s after maintenance; want a:node1 b:node2 c:node3 (nothing replaced)", got)
	}
	if steps := op.appliedSteps(); len(steps) > 0 {
		t.Errorf("operator steps during maintenance: %v", steps)
	}
	op.stop(t)

	// An expired lock is ignored.
	old := reconcile.MaintenanceLock{Node: views["node3"].id, Hostname: "node3", Holder: "crashed@script",
		Start: time.Now().Add(-time.Hour), Expiry: time.Now().Add(-time.Minute), Manager: true}
	setSwarmLabel(t, n1, old.Encode())
	r := swarmtopo(t, n1, time.Minute, "maintenance", "start", "node2", "--ttl", "1m")
	if r.code != 0 {
		t.Fatalf("start over an expired lock: exit %d, %q", r.code, r.stderr)
	}
	var listed struct {
		Lock struct{ Hostname string } `json:"lock"`
	}
	lr := swarmtopo(t, n1, time.Minute, "maintenance", "list", "-o", "json")
	if err := json.Unmarshal([]byte(lr.stdout), &listed); err != nil || listed.Lock.Hostname != "node2" {
		t.Errorf("maintenance list = %q (%v); want node2's lock", lr.stdout, err)
	}
	swarmtopo(t, n1, time.Minute, "maintenance", "end", "node2")
}

// Adopting a swarm: export, then plan exits 0; an edit plans only the edit.
func TestExportRoundTripOnARealSwarm(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Nodes: 4, Managers: 3, Zones: []string{"a", "b", "c"}})
	n1 := l.Node(1)
	exp := swarmtopo(t, n1, time.Minute, "export")
	if exp.code != 0 {
		t.Fatalf("export: exit %d, %s", exp.code, exp.stderr)
	}
	path := filepath.Join(t.TempDir(), "exported.yaml")
	if err := os.WriteFile(path, []byte(exp.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := swarmtopo(t, n1, time.Minute, "plan", "-f", path); r.code != 0 {
		t.Fatalf("plan with the exported file: exit %d\n%s\nexported:\n%s", r.code, r.stdout, exp.stdout)
	}
	// The lab's managers are all active, so the export says so; the edit drains them.
	edited := strings.Replace(exp.stdout, "  managers:\n    availability: active\n", "  managers:\n    availability: drain\n", 1)
	if edited == exp.stdout {
		t.Fatalf("could not edit the export:\n%s", exp.stdout)
	}
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	r := swarmtopo(t, n1, time.Minute, "plan", "-f", path, "-o", "json")
	if r.code == 1 {
		t.Fatalf("plan of the edited export failed: %s\nedited:\n%s", r.stderr, edited)
	}
	var p reconcile.Plan
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("plan -o json: %v\n%s", err, r.stdout)
	}
	if r.code != 2 || len(p.Steps) != 3 {
		t.Fatalf("edited plan: exit %d, steps %+v; want the three managers drained", r.code, p.Steps)
	}
	for _, st := range p.Steps {
		if st.Action != reconcile.ActionDrain {
			t.Errorf("edited plan has %s %s; only drains were asked for", st.Action, st.Hostname)
		}
	}
}
