//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/lab"
	"github.com/swarmtopo/swarmtopo/service"
)

// The stack under test, as examples/stack.yml names it.
const (
	stackName    = "swarmtopo"
	stackService = stackName + "_swarmtopo"
	imageTag     = "swarmtopo:latest"
	metricsPort  = 9323
)

var (
	imageOnce sync.Once
	imageDir  string
	imageErr  error
)

// imageContext returns a build context holding the repository's Dockerfile and the static
// binary, as `make image` lays them out; built once per run, removed with the test binary's
// directory.
func imageContext(t *testing.T) string {
	t.Helper()
	imageOnce.Do(func() {
		dir := filepath.Join(filepath.Dir(bin), "image")
		if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
			imageErr = err
			return
		}
		build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "bin", "swarmtopo-static"), "../cmd/swarmtopo")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			imageErr = fmt.Errorf("building the static binary: %w\n%s", err, out)
			return
		}
		df, err := os.ReadFile("../Dockerfile")
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644)
		}
		if err != nil {
			imageErr = fmt.Errorf("copying the Dockerfile: %w", err)
			return
		}
		imageDir = dir
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return imageDir
}

// serviceStack is examples/stack.yml deployed on a lab.
type serviceStack struct {
	l *lab.Lab
	// dir holds stack.yml and topology.yaml; with a bind mount it is also what the
	// instances see as /etc/swarmtopo.
	dir  string
	bind bool
	hc   *http.Client
	// logOffset is where each node's dockerd log stood when API debug logging was turned on.
	logOffset map[string]int64
}

// stackDoc is the topology file an instance reads: name tells versions apart in /status.
func stackDoc(name, body string) string {
	return "apiVersion: swarmtopo.dev/v1alpha1\nkind: SwarmTopology\nmetadata:\n  name: " + name + "\nspec:\n" + body
}

// deployStack builds the image on every node (a promoted worker runs a task too), turns on
// the engines' API request logging, writes the shipped stack file next to a topology named
// e2e-v1 and deploys it with TOPOLOGY_VERSION=v1. With bind, the stack's config is replaced by
// a bind mount of the stack directory on /etc/swarmtopo, the way a git-synced file is run; the
// rest of the stack file stays as shipped.
func deployStack(t *testing.T, l *lab.Lab, body string, bind bool) *serviceStack {
	t.Helper()
	s := &serviceStack{l: l, dir: t.TempDir(), bind: bind,
		hc: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}}
	s.logOffset = enableAPIDebug(t, l)

	start := time.Now()
	if err := l.BuildImage(t.Context(), imageContext(t), imageTag); err != nil {
		t.Fatalf("building the image: %v", err)
	}
	t.Logf("built %s on every node in %.1fs", imageTag, time.Since(start).Seconds())

	shipped, err := os.ReadFile("../examples/stack.yml")
	if err != nil {
		t.Fatal(err)
	}
	stack := string(shipped)
	if bind {
		stack = bindMountVariant(t, stack, s.dir)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "stack.yml"), []byte(stack), 0o644); err != nil {
		t.Fatal(err)
	}
	s.writeTopology(t, "e2e-v1", body)
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range l.Nodes() {
				if n.Running() {
					t.Logf("swarmtopo containers on %s:\n%s", n.Hostname, s.containerLogs(n))
				}
			}
		}
	})
	s.deploy(t, l.Node(1), "v1")
	return s
}

// bindMountVariant swaps the stack's topology config for a read-only bind mount of dir.
func bindMountVariant(t *testing.T, stack, dir string) string {
	t.Helper()
	replace := func(old, new string) {
		if !strings.Contains(stack, old) {
			t.Fatalf("examples/stack.yml changed: %q not found; adjust the bind-mount variant", old)
		}
		stack = strings.Replace(stack, old, new, 1)
	}
	replace("    configs:\n      - source: topology\n        target: /etc/swarmtopo/topology.yaml\n",
		"      - type: bind\n        source: "+dir+"\n        target: /etc/swarmtopo\n        read_only: true\n")
	replace("configs:\n  topology:\n    name: swarmtopo-topology-${TOPOLOGY_VERSION:-v1}\n    file: ./topology.yaml\n", "")
	return stack
}

// writeTopology replaces topology.yaml atomically (write aside, rename), as git-sync and
// editors do.
func (s *serviceStack) writeTopology(t *testing.T, name, body string) {
	t.Helper()
	tmp := filepath.Join(s.dir, ".topology.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(stackDoc(name, body)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "topology.yaml")); err != nil {
		t.Fatal(err)
	}
}

// deploy runs `docker stack deploy` of the stack directory through via, as the GitOps
// pipeline of the stack file's comment does.
func (s *serviceStack) deploy(t *testing.T, via *lab.Node, version string) {
	t.Helper()
	cmd := exec.Command("docker", "-H", via.DockerHost(), "stack", "deploy", "--resolve-image", "never", "-c", "stack.yml", stackName)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "TOPOLOGY_VERSION="+version)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker stack deploy (TOPOLOGY_VERSION=%s): %v\n%s", version, err, out)
	}
	t.Logf("docker stack deploy TOPOLOGY_VERSION=%s: %s", version, strings.TrimSpace(string(out)))
}

// updateState is the service's UpdateStatus.State ("" before any update).
func (s *serviceStack) updateState(t *testing.T, via *lab.Node) string {
	t.Helper()
	return docker(t, via, "service", "inspect", "-f", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}", stackService)
}

// containerLogs returns the logs of every swarmtopo container on n, exited ones included.
func (s *serviceStack) containerLogs(n *lab.Node) string {
	ids, err := exec.Command("docker", "-H", n.DockerHost(), "ps", "-aq", "--filter", "label=com.docker.swarm.service.name="+stackService).Output()
	if err != nil {
		return "listing containers: " + err.Error()
	}
	var b strings.Builder
	for _, id := range strings.Fields(string(ids)) {
		out, _ := exec.Command("docker", "-H", n.DockerHost(), "logs", id).CombinedOutput()
		fmt.Fprintf(&b, "--- container %s\n%s", id, out)
	}
	return b.String()
}

// logLines returns the JSON log lines of every swarmtopo container on n, exited ones included.
func (s *serviceStack) logLines(n *lab.Node) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(s.containerLogs(n), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// logAt is when an instance logged line m (its "ts"; containers share the host's clock).
func logAt(m map[string]any) time.Time {
	ts, _ := m["ts"].(string)
	at, _ := time.Parse(time.RFC3339Nano, ts)
	return at
}

// firstLog returns the first line with msg (and these key/values) that the instances on n
// logged at or after from.
func (s *serviceStack) firstLog(n *lab.Node, from time.Time, msg string, kv ...string) (map[string]any, bool) {
	var best map[string]any
	for _, m := range s.logLines(n) {
		if m["msg"] != msg || logAt(m).Before(from.Truncate(time.Millisecond)) {
			continue
		}
		ok := true
		for i := 0; i+1 < len(kv); i += 2 {
			if fmt.Sprint(m[kv[i]]) != kv[i+1] {
				ok = false
			}
		}
		if ok && (best == nil || logAt(m).Before(logAt(best))) {
			best = m
		}
	}
	return best, best != nil
}

// stepsSent returns, per hostname, the steps the swarmtopo containers on that node logged as
// sent ("action hostname"), in time order; nodes that sent none are left out.
func (s *serviceStack) stepsSent(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, n := range s.l.Nodes() {
		if !n.Running() {
			continue
		}
		var sent []map[string]any
		for _, m := range s.logLines(n) {
			if m["msg"] == "Step sent" {
				sent = append(sent, m)
			}
		}
		sort.SliceStable(sent, func(i, j int) bool { return logAt(sent[i]).Before(logAt(sent[j])) })
		for _, m := range sent {
			out[n.Hostname] = append(out[n.Hostname], fmt.Sprintf("%v %v", m["action"], m["hostname"]))
			t.Logf("%s: %s sent %v %v (%v)", logAt(m).Format("15:04:05.000"), n.Hostname, m["action"], m["hostname"], m["reason"])
		}
	}
	return out
}

// enableAPIDebug turns on each engine's debug log through its config file and SIGHUP (tini
// passes it on to dockerd), so that every API request shows in dockerd.log as "Calling METHOD
// URI": the engines' own record of who changed nodes. It returns where each log stood.
func enableAPIDebug(t *testing.T, l *lab.Lab) map[string]int64 {
	t.Helper()
	offsets := map[string]int64{}
	for _, n := range l.Nodes() {
		fi, err := os.Stat(n.LogPath())
		if err != nil {
			t.Fatal(err)
		}
		offsets[n.Hostname] = fi.Size()
		if err := os.WriteFile(filepath.Join(n.Dir, "daemon.json"), []byte(`{"debug": true}`+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(n.PID(), syscall.SIGHUP); err != nil {
			t.Fatalf("SIGHUP to %s: %v", n.Hostname, err)
		}
	}
	for _, n := range l.Nodes() {
		waitFor(t, 30*time.Second, n.Hostname+"'s engine to log API requests", func() bool {
			c, err := n.Client()
			if err != nil {
				return false
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if _, err := c.Ping(ctx); err != nil {
				return false
			}
			return len(apiCalls(t, n, offsets[n.Hostname], regexp.MustCompile(`^(GET|HEAD) /_ping`))) > 0
		})
	}
	return offsets
}

// nodeWriteCall matches the API requests that change a node.
var nodeWriteCall = regexp.MustCompile(`^(POST /v[0-9.]+/nodes/[^/ ]+/update|DELETE /v[0-9.]+/nodes/)`)

// apiCalls returns the requests n's engine logged from offset on that match re.
func apiCalls(t *testing.T, n *lab.Node, offset int64, re *regexp.Regexp) []string {
	t.Helper()
	calls, err := loggedCalls(n.LogPath(), offset)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range calls {
		if re.MatchString(c.call) {
			out = append(out, c.call)
		}
	}
	return out
}

// loggedCall is one API request a dockerd logged in debug mode ("Calling METHOD URI"), with the
// engine's own timestamp (zero if the line has none).
type loggedCall struct {
	at   time.Time
	call string
}

var dockerdTime = regexp.MustCompile(`^time="([^"]+)"`)

// loggedCalls reads the requests a dockerd log holds from offset on.
func loggedCalls(path string, offset int64) ([]loggedCall, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	var out []loggedCall
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, `msg="Calling `)
		if i < 0 {
			continue
		}
		c := loggedCall{call: strings.TrimSuffix(line[i+len(`msg="Calling `):], `"`)}
		if m := dockerdTime.FindStringSubmatch(line); m != nil {
			c.at, _ = time.Parse(time.RFC3339Nano, m[1])
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

// logSize is where n's dockerd log stands now.
func logSize(t *testing.T, n *lab.Node) int64 {
	t.Helper()
	fi, err := os.Stat(n.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// logSizes marks where every node's dockerd log stands now.
func logSizes(t *testing.T, l *lab.Lab) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, n := range l.Nodes() {
		out[n.Hostname] = logSize(t, n)
	}
	return out
}

// nodeWrites counts, per hostname, the node-changing API requests each engine received
// since the marks (nodes with none are left out).
func nodeWrites(t *testing.T, l *lab.Lab, since map[string]int64) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, n := range l.Nodes() {
		if c := len(apiCalls(t, n, since[n.Hostname], nodeWriteCall)); c > 0 {
			out[n.Hostname] = c
		}
	}
	return out
}

// instance is what one swarmtopo instance serves.
type instance struct {
	host   string
	report service.Report
	series map[string]float64
}

// metric sums the series of name whose labels include every given `key="value"`.
func (i instance) metric(name string, labels ...string) float64 {
	var sum float64
	for series, v := range i.series {
		base, lbls, _ := strings.Cut(series, "{")
		if base != name {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(lbls, l) {
				ok = false
			}
		}
		if ok {
			sum += v
		}
	}
	return sum
}

func (i instance) condition(typ string) service.Condition {
	for _, c := range i.report.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return service.Condition{Type: typ, Status: "missing"}
}

// converged: the instance's last plan has nothing to do.
func (i instance) converged() bool {
	return i.condition(service.ConditionConverged).Status == service.ConditionTrue
}

func (i instance) String() string {
	return fmt.Sprintf("%s: active=%v topology=%s valid=%s converged=%s standby=%s(%s) steps=%g pending=%g",
		i.host, i.report.Active, i.report.Topology.Name, i.condition(service.ConditionTopologyValid).Status,
		i.condition(service.ConditionConverged).Status, i.condition(service.ConditionStandby).Status,
		i.condition(service.ConditionStandby).Reason, i.metric("swarmtopo_steps_total"), i.metric("swarmtopo_pending_steps"))
}

func (s *serviceStack) get(n *lab.Node, path string) ([]byte, error) {
	resp, err := s.hc.Get(fmt.Sprintf("http://%s:%d%s", n.Addr, metricsPort, path))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("GET %s on %s: %s", path, n.Hostname, resp.Status)
	}
	return body, nil
}

// status reads one instance's /status only.
func (s *serviceStack) status(n *lab.Node) (service.Report, error) {
	var r service.Report
	body, err := s.get(n, "/status")
	if err == nil {
		err = json.Unmarshal(body, &r)
	}
	return r, err
}

// scrape reads one instance's /status and /metrics.
func (s *serviceStack) scrape(n *lab.Node) (instance, error) {
	r, err := s.status(n)
	if err != nil {
		return instance{}, err
	}
	body, err := s.get(n, "/metrics")
	if err != nil {
		return instance{}, err
	}
	in := instance{host: n.Hostname, report: r, series: map[string]float64{}}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			return instance{}, fmt.Errorf("metrics of %s: bad line %q", n.Hostname, line)
		}
		in.series[line[:i]] = v
	}
	return in, nil
}

// instances scrapes every running node; those with no instance (or a failing one) are left out.
func (s *serviceStack) instances() map[string]instance {
	out := map[string]instance{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range s.l.Nodes() {
		if !n.Running() {
			continue
		}
		wg.Go(func() {
			if in, err := s.scrape(n); err == nil {
				mu.Lock()
				out[n.Hostname] = in
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

// waitInstances scrapes until cond holds of the answering instances, and returns them.
func (s *serviceStack) waitInstances(t *testing.T, timeout time.Duration, what string, cond func(map[string]instance) bool) map[string]instance {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last map[string]instance
	for time.Now().Before(deadline) {
		last = s.instances()
		if cond(last) {
			return last
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; instances:\n%s", timeout, what, describe(last))
	return nil
}

func describe(insts map[string]instance) string {
	var lines []string
	for _, in := range insts {
		lines = append(lines, "  "+in.String())
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return "  (none answering)"
	}
	return strings.Join(lines, "\n")
}

// settledOn reports whether exactly the instances on hosts answer, all with topology name in
// force and converged, and only the one on active acts.
func settledOn(insts map[string]instance, hosts []string, name, active string) bool {
	if len(insts) != len(hosts) {
		return false
	}
	for _, h := range hosts {
		in, ok := insts[h]
		if !ok || in.report.Topology.Name != name || !in.converged() || in.report.Active != (h == active) ||
			in.metric("swarmtopo_active") != boolFloat(h == active) {
			return false
		}
	}
	return true
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// checkSettled asserts what /status and /metrics of every instance say once the swarm has
// converged to topology name with the instance on active acting: one active, the others
// standing by and saying why, the file valid, nothing blocked or pending, the control plane
// as expected.
func checkSettled(t *testing.T, insts map[string]instance, name, active string, managers int) {
	t.Helper()
	t.Logf("instances:\n%s", describe(insts))
	acting := 0
	for h, in := range insts {
		if in.report.Hostname != h {
			t.Errorf("%s: /status hostname %q", h, in.report.Hostname)
		}
		if in.report.Active {
			acting++
		}
		if in.report.Leader != active {
			t.Errorf("%s: /status leader %q, want %s", h, in.report.Leader, active)
		}
		standby := in.condition(service.ConditionStandby)
		if h == active {
			if !in.report.Active || in.metric("swarmtopo_active") != 1 || standby.Status != service.ConditionFalse || standby.Reason != "Leader" {
				t.Errorf("%s (on the leader) does not report acting: active %v, swarmtopo_active %g, Standby %s/%s",
					h, in.report.Active, in.metric("swarmtopo_active"), standby.Status, standby.Reason)
			}
		} else if in.report.Active || in.metric("swarmtopo_active") != 0 || standby.Status != service.ConditionTrue || standby.Reason != "NotLeader" {
			t.Errorf("%s does not report standing by: active %v, swarmtopo_active %g, Standby %s/%s (%s)",
				h, in.report.Active, in.metric("swarmtopo_active"), standby.Status, standby.Reason, standby.Message)
		}
		for _, c := range []struct {
			typ    string
			status service.ConditionStatus
		}{
			{service.ConditionConverged, service.ConditionTrue},
			{service.ConditionProgressing, service.ConditionFalse},
			{service.ConditionBlocked, service.ConditionFalse},
			{service.ConditionTopologyValid, service.ConditionTrue},
		} {
			if got := in.condition(c.typ); got.Status != c.status {
				t.Errorf("%s: condition %s is %s (%s: %s), want %s", h, c.typ, got.Status, got.Reason, got.Message, c.status)
			}
		}
		if in.report.Topology.Name != name || in.report.Topology.Error != nil {
			t.Errorf("%s: topology %q in force (error %v), want %q without error", h, in.report.Topology.Name, in.report.Topology.Error, name)
		}
		for series, want := range map[string]float64{
			"swarmtopo_topology_valid": 1, "swarmtopo_blocked": 0, "swarmtopo_pending_steps": 0,
			"swarmtopo_managers": float64(managers), "swarmtopo_reachable_managers": float64(managers),
			"swarmtopo_fault_tolerance": float64((managers - 1) / 2),
		} {
			if got, ok := in.series[series]; !ok || got != want {
				t.Errorf("%s: %s = %g (present %v), want %g", h, series, got, ok, want)
			}
		}
		if in.report.Plan == nil || !in.report.Plan.Converged() {
			t.Errorf("%s: /status plan is not converged: %+v", h, in.report.Plan)
		}
	}
	if acting != 1 {
		t.Errorf("%d instances report active, want exactly one", acting)
	}
}

// runningManagers are the hostnames of the managers whose engine runs, sorted.
func runningManagers(t *testing.T, l *lab.Lab) []string {
	t.Helper()
	var out []string
	views := listNodes(t, l)
	for _, n := range l.Nodes() {
		if n.Running() && views[n.Hostname].manager {
			out = append(out, n.Hostname)
		}
	}
	return out
}

func leaderOf(views map[string]nodeView) string {
	for h, v := range views {
		if v.leader {
			return h
		}
	}
	return ""
}

// nodeSpecs describes every node's spec and version, to show that nothing moved.
func nodeSpecs(views map[string]nodeView) map[string]string {
	out := map[string]string{}
	for h, v := range views {
		var labels []string
		for k, val := range v.labels {
			labels = append(labels, k+"="+val)
		}
		sort.Strings(labels)
		out[h] = fmt.Sprintf("manager=%v availability=%s labels=%s version=%d", v.manager, v.availability, strings.Join(labels, ","), v.version)
	}
	return out
}

// timeline records, every 250 ms, what the swarm and the instances show: desired role
// changes, raft membership, the leader, and which instances report acting. The swarm and the
// instances are polled apart, and each event carries the time its answer came, so that calls
// that hang during an election delay only their own kind of event.
type timeline struct {
	s    *serviceStack
	stop chan struct{}
	done chan struct{}

	mu     sync.Mutex
	events []event // in time order
	role   map[string]swarm.NodeRole
	member map[string]bool
	leader string
	active map[string]bool
}

type event struct {
	at               time.Time
	kind, host, note string
}

// Event kinds.
const (
	evRole    = "role"    // desired role changed (the step was stored); note "worker→manager"
	evJoined  = "joined"  // became a raft member
	evLeft    = "left"    // left the raft members
	evLeader  = "leader"  // became the raft leader
	evActive  = "active"  // its instance reports acting
	evStandby = "standby" // its instance stopped reporting acting (or stopped answering)
)

func (s *serviceStack) startTimeline(t *testing.T) *timeline {
	tl := &timeline{s: s, stop: make(chan struct{}), done: make(chan struct{}), active: map[string]bool{}}
	var wg sync.WaitGroup
	for _, poll := range []func(){tl.pollSwarm, tl.pollInstances} {
		wg.Go(func() {
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for {
				poll()
				select {
				case <-tl.stop:
					return
				case <-tick.C:
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(tl.done)
	}()
	t.Cleanup(tl.finish)
	return tl
}

func (tl *timeline) finish() {
	select {
	case <-tl.stop:
	default:
		close(tl.stop)
	}
	<-tl.done
}

// addLocked records an event, keeping the list in time order.
func (tl *timeline) addLocked(at time.Time, kind, host, note string) {
	tl.events = append(tl.events, event{at, kind, host, note})
	sort.SliceStable(tl.events, func(i, j int) bool { return tl.events[i].at.Before(tl.events[j].at) })
}

// firstNodeList asks every running node at once and returns the first list that comes, with
// the time it came.
func firstNodeList(l *lab.Lab) ([]swarm.Node, time.Time, bool) {
	var running []*lab.Node
	for _, n := range l.Nodes() {
		if n.Running() {
			running = append(running, n)
		}
	}
	answers := make(chan []swarm.Node, len(running))
	for _, n := range running {
		go func() {
			c, err := n.Client()
			if err != nil {
				answers <- nil
				return
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			ns, err := c.NodeList(ctx, swarm.NodeListOptions{})
			if err != nil {
				ns = nil
			}
			answers <- ns
		}()
	}
	for range running {
		if ns := <-answers; ns != nil {
			return ns, time.Now(), true
		}
	}
	return nil, time.Time{}, false
}

func (tl *timeline) pollSwarm() {
	nodes, at, ok := firstNodeList(tl.s.l)
	if !ok {
		return
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	first := tl.role == nil
	if first {
		tl.role, tl.member = map[string]swarm.NodeRole{}, map[string]bool{}
	}
	for _, n := range nodes {
		h := n.Description.Hostname
		if old, ok := tl.role[h]; ok && old != n.Spec.Role {
			tl.addLocked(at, evRole, h, fmt.Sprintf("%s→%s", old, n.Spec.Role))
		}
		tl.role[h] = n.Spec.Role
		member := n.ManagerStatus != nil
		if !first && member != tl.member[h] {
			kind := evLeft
			if member {
				kind = evJoined
			}
			tl.addLocked(at, kind, h, "")
		}
		tl.member[h] = member
		if n.ManagerStatus != nil && n.ManagerStatus.Leader && tl.leader != h {
			if !first {
				tl.addLocked(at, evLeader, h, "")
			}
			tl.leader = h
		}
	}
}

func (tl *timeline) pollInstances() {
	type answer struct {
		host   string
		active bool
		at     time.Time
	}
	var mu sync.Mutex
	var answers []answer
	var wg sync.WaitGroup
	for _, n := range tl.s.l.Nodes() {
		if !n.Running() {
			continue
		}
		wg.Go(func() {
			r, err := tl.s.status(n)
			mu.Lock()
			answers = append(answers, answer{n.Hostname, err == nil && r.Active, time.Now()})
			mu.Unlock()
		})
	}
	wg.Wait()
	now := time.Now()
	tl.mu.Lock()
	defer tl.mu.Unlock()
	seen := map[string]bool{}
	for _, a := range answers {
		seen[a.host] = true
		if a.active != tl.active[a.host] {
			kind := evStandby
			if a.active {
				kind = evActive
			}
			tl.addLocked(a.at, kind, a.host, "")
			tl.active[a.host] = a.active
		}
	}
	for h, was := range tl.active {
		if was && !seen[h] { // the node is down: its instance with it
			tl.addLocked(now, evStandby, h, "node down")
			tl.active[h] = false
		}
	}
}

// first returns the first event of kind (on host, unless empty; with note, unless empty) at or
// after from.
func (tl *timeline) first(kind, host, note string, from time.Time) (event, bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, e := range tl.events {
		if e.kind == kind && (host == "" || e.host == host) && (note == "" || e.note == note) && !e.at.Before(from) {
			return e, true
		}
	}
	return event{}, false
}

// roleChanges lists the desired role changes seen, as "host old→new", sorted: two seen in one
// poll have no order (the steps' log lines have).
func (tl *timeline) roleChanges() []string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var out []string
	for _, e := range tl.events {
		if e.kind == evRole {
			out = append(out, e.host+" "+e.note)
		}
	}
	slices.Sort(out)
	return out
}

// dump describes every event relative to t0.
func (tl *timeline) dump(t0 time.Time) string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var b strings.Builder
	for _, e := range tl.events {
		fmt.Fprintf(&b, "  %+7.2fs %-7s %s %s\n", e.at.Sub(t0).Seconds(), e.kind, e.host, e.note)
	}
	return b.String()
}

// overlap is how long more than one instance reported acting at once (a /status snapshot
// says what the instance's last gate check found), over the events recorded until end.
func (tl *timeline) overlap(end time.Time) time.Duration {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var total time.Duration
	var since time.Time
	acting := map[string]bool{}
	for _, e := range tl.events {
		switch e.kind {
		case evActive:
			acting[e.host] = true
		case evStandby:
			delete(acting, e.host)
		default:
			continue
		}
		switch {
		case len(acting) > 1 && since.IsZero():
			since = e.at
		case len(acting) <= 1 && !since.IsZero():
			total += e.at.Sub(since)
			since = time.Time{}
		}
	}
	if !since.IsZero() {
		total += end.Sub(since)
	}
	return total
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
