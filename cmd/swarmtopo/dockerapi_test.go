package main

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/internal/fakeapi"
	"github.com/swarmtopo/swarmtopo/reconcile"
)

// apiHeading is the README section whose first table lists the Docker API calls of each
// command.
const apiHeading = "### Docker API calls"

// apiRow is one row of that table: the command line as written there, and its reads and writes
// as "METHOD /path" with path templates.
type apiRow struct {
	command       string
	reads, writes []string
}

// readAPITable parses the table under apiHeading in README.md.
func readAPITable(t *testing.T) []apiRow {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	code := regexp.MustCompile("`([^`]+)`")
	var rows []apiRow
	in, header := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == apiHeading:
			in = true
			continue
		case !in:
			continue
		case strings.HasPrefix(line, "#"):
			in = false
			continue
		}
		if !strings.HasPrefix(line, "|") {
			if header > 0 {
				break // the table has ended
			}
			continue
		}
		header++
		if header <= 2 { // the header row and its separator
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 {
			t.Fatalf("README %s: row %q has fewer than 3 cells", apiHeading, line)
		}
		cmd := code.FindStringSubmatch(cells[0])
		if cmd == nil {
			t.Fatalf("README %s: row %q names no command in backticks", apiHeading, line)
		}
		calls := func(cell string) []string {
			var out []string
			for _, m := range code.FindAllStringSubmatch(cell, -1) {
				out = append(out, m[1])
			}
			slices.Sort(out)
			return out
		}
		rows = append(rows, apiRow{command: cmd[1], reads: calls(cells[1]), writes: calls(cells[2])})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("README.md has no table under %q", apiHeading)
	}
	return rows
}

// apiSwarm is a five-node swarm with a single manager and a down worker: with removeAll, run
// promotes two managers, drains them and removes the down node, so every kind of write happens.
func apiSwarm() *fakeswarm.Swarm {
	s := oneManager()
	s.AddNode(fakeswarm.NodeConfig{Hostname: "node6", State: swarm.NodeStateDown, Labels: map[string]string{"az": "c"}})
	return s
}

const removeAll = threeManagers + `  policy:
    removeDownNodes: true
`

// apiScenario runs the command of one README row against a swarm reached over the fake API.
type apiScenario struct {
	args []string
	// service: the command runs until stop says it has done enough, then is cancelled.
	stop func(fs *fakeswarm.Swarm, stdout string) bool
	// setup, if set, prepares the fake before the command runs.
	setup func(api *fakeapi.Server, fs *fakeswarm.Swarm)
}

func apiScenarios(t *testing.T) map[string]apiScenario {
	topo := writeFile(t, "topology.yaml", removeAll)
	snapshot := fixture
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }))
	t.Cleanup(health.Close)
	// The long-running modes also follow node events; the stream is opened beside the first
	// pass, so each waits for it as well as for its pass.
	watching := func(fs *fakeswarm.Swarm) bool { n, _ := fs.Subscriptions(); return n > 0 }
	converged := func(fs *fakeswarm.Swarm, _ string) bool {
		_, down := fs.Node("node6")
		return len(fs.Managers()) == 3 && !down && watching(fs)
	}
	return map[string]apiScenario{
		"swarmtopo validate":             {args: []string{"validate", "-f", topo}},
		"swarmtopo plan --state FILE":    {args: []string{"plan", "-f", topo, "--state", snapshot}},
		"swarmtopo plan":                 {args: []string{"plan", "-f", topo}},
		"swarmtopo status":               {args: []string{"status"}},
		"swarmtopo run --dry-run --once": {args: []string{"run", "-f", topo, "--dry-run", "--once"}},
		"swarmtopo run --once":           {args: []string{"run", "-f", topo, "--once"}},
		"swarmtopo run --dry-run": {args: []string{"run", "-f", topo, "--dry-run", "--metrics-addr", "127.0.0.1:0"},
			stop: func(fs *fakeswarm.Swarm, stdout string) bool {
				return strings.Contains(stdout, "promote") && watching(fs)
			}},
		"swarmtopo run":               {args: []string{"run", "-f", topo, "--metrics-addr", "127.0.0.1:0"}, stop: converged},
		"swarmtopo healthcheck":       {args: []string{"healthcheck", "--metrics-addr", health.URL}},
		"swarmtopo export":            {args: []string{"export"}},
		"swarmtopo maintenance start": {args: []string{"maintenance", "start", "node3", "--holder", "ci"}},
		"swarmtopo maintenance end": {args: []string{"maintenance", "end", "node3", "--holder", "ci"},
			setup: func(api *fakeapi.Server, fs *fakeswarm.Swarm) {
				now := time.Now()
				l := reconcile.MaintenanceLock{Node: fs.ID("node3"), Hostname: "node3", Holder: "ci",
					Start: now, Expiry: now.Add(time.Hour), Drained: true, Availability: "active"}
				api.SetSwarmLabel(reconcile.MaintenanceLabelKey, l.Encode())
				n, _ := fs.Node("node3")
				sp := n.Spec
				sp.Availability = swarm.NodeAvailabilityDrain
				if err := fs.NodeUpdate(context.Background(), n.ID, n.Version, sp); err != nil {
					panic(err)
				}
			}},
		"swarmtopo maintenance list": {args: []string{"maintenance", "list"}},
		"swarmtopo maintenance run": {args: []string{"maintenance", "run", "node3", "--drain", "--holder", "ci",
			"--stable-for", "1ms", "--", "true"}},
	}
}

// TestDockerAPICallsMatchTheREADME runs each command of the README's table with the real Docker
// client against the fake swarm over HTTP, and checks that the endpoints it called are exactly
// the ones the table lists, reads and writes apart. A socket proxy set up from the table then
// lets every call through.
func TestDockerAPICallsMatchTheREADME(t *testing.T) {
	rows := readAPITable(t)
	scenarios := apiScenarios(t)
	for _, row := range rows {
		if _, ok := scenarios[row.command]; !ok {
			t.Errorf("README %s lists %q, which this test does not run", apiHeading, row.command)
		}
	}
	for name := range scenarios {
		if !slices.ContainsFunc(rows, func(r apiRow) bool { return r.command == name }) {
			t.Errorf("README %s has no row for %q", apiHeading, name)
		}
	}
	for _, row := range rows {
		sc, ok := scenarios[row.command]
		if !ok {
			continue
		}
		t.Run(row.command, func(t *testing.T) {
			fs := apiSwarm()
			api := fakeapi.New(fs)
			defer api.Close()
			if sc.setup != nil {
				sc.setup(api, fs)
			}
			// The real client, configured only by DOCKER_HOST.
			t.Setenv("DOCKER_HOST", api.Host())
			for _, v := range []string{"DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION", "DOCKER_CONTEXT"} {
				t.Setenv(v, "")
			}
			t.Setenv("DOCKER_CONFIG", t.TempDir())

			var stdout, stderr syncBuffer
			a := newApp(strings.NewReader(""), &stdout, &stderr)
			a.tune = func(o *controller.Options) { o.SettlePoll = time.Millisecond }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			codes := make(chan int, 1)
			go func() { codes <- a.execute(ctx, sc.args) }()
			if sc.stop != nil {
				deadline := time.Now().Add(30 * time.Second)
				for !sc.stop(fs, stdout.String()) {
					if time.Now().After(deadline) {
						cancel()
						t.Fatalf("%v did not get there in time\nstderr:\n%s", sc.args, stderr.String())
					}
					time.Sleep(5 * time.Millisecond)
				}
				cancel()
			}
			select {
			case code := <-codes:
				if code == codeError {
					t.Fatalf("%v failed\nstdout:\n%s\nstderr:\n%s", sc.args, stdout.String(), stderr.String())
				}
			case <-time.After(30 * time.Second):
				cancel()
				t.Fatalf("%v did not finish", sc.args)
			}

			var reads, writes []string
			for _, e := range api.Endpoints() {
				if strings.HasPrefix(e, "GET ") || strings.HasPrefix(e, "HEAD ") {
					reads = append(reads, e)
				} else {
					writes = append(writes, e)
				}
			}
			if !slices.Equal(reads, row.reads) {
				t.Errorf("reads: the command called %q, README lists %q", reads, row.reads)
			}
			if !slices.Equal(writes, row.writes) {
				t.Errorf("writes: the command called %q, README lists %q", writes, row.writes)
			}
		})
	}
}
