package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
)

// fakeDocker gives the fake swarm the Close the commands call.
type fakeDocker struct {
	*fakeswarm.Swarm
}

func (fakeDocker) Close() error { return nil }

// syncBuffer is a bytes.Buffer that the loop may write while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// oneManager is a five-node swarm over zones a, b and c with a single manager: the topology
// of the tests (three managers, drained) asks for two promotions.
func oneManager() *fakeswarm.Swarm {
	s := fakeswarm.New(
		fakeswarm.NodeConfig{Hostname: "node1", Manager: true, Leader: true, Labels: map[string]string{"az": "a"}},
		fakeswarm.NodeConfig{Hostname: "node2", Labels: map[string]string{"az": "b"}},
		fakeswarm.NodeConfig{Hostname: "node3", Labels: map[string]string{"az": "c"}},
		fakeswarm.NodeConfig{Hostname: "node4", Labels: map[string]string{"az": "a"}},
		fakeswarm.NodeConfig{Hostname: "node5", Labels: map[string]string{"az": "b"}},
	)
	// One read per settle: the test does not wait on the fake.
	s.PromoteAfter, s.DemoteAfter, s.ElectionReads = 1, 1, 1
	return s
}

// fakeApp is an app wired to fs, with its output captured.
func fakeApp(fs *fakeswarm.Swarm, stdout, stderr interface{ Write([]byte) (int, error) }) *app {
	a := newApp(strings.NewReader(""), stdout, stderr)
	a.newDocker = func() (dockerClient, error) { return fakeDocker{fs}, nil }
	a.tune = func(o *controller.Options) { o.SettlePoll = time.Millisecond }
	return a
}

// runFake runs one command line against fs.
func runFake(t *testing.T, fs *fakeswarm.Swarm, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := fakeApp(fs, &stdout, &stderr).execute(context.Background(), args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// versions is every node's version: a read-only command must leave them all alone.
func versions(fs *fakeswarm.Swarm) map[string]uint64 {
	out := map[string]uint64{}
	for _, n := range fs.Nodes() {
		out[n.ID] = n.Version.Index
	}
	return out
}

func assertUntouched(t *testing.T, fs *fakeswarm.Swarm, before map[string]uint64) {
	t.Helper()
	if calls := fs.Calls(); len(calls) > 0 {
		t.Errorf("read-only command made %d mutating calls, first %s %s", len(calls), calls[0].Method, calls[0].Node)
	}
	after := versions(fs)
	for id, v := range before {
		if after[id] != v {
			t.Errorf("node %s version moved from %d to %d", id, v, after[id])
		}
	}
}

func TestPlanLive(t *testing.T) {
	topo := writeFile(t, "topology.yaml", threeManagers)
	fs := oneManager()
	before := versions(fs)

	r := runFake(t, fs, "plan", "-f", topo, "-o", "json")
	p := decodePlan(t, r.stdout)
	if r.code != codePending || r.code != p.wantCode() {
		t.Fatalf("exit code %d, want %d for one manager of three\n%s", r.code, codePending, r)
	}
	assertUntouched(t, fs, before)
}

func TestRunOnce(t *testing.T) {
	topo := writeFile(t, "topology.yaml", threeManagers)

	t.Run("dry run plans once and changes nothing", func(t *testing.T) {
		fs := oneManager()
		before := versions(fs)
		r := runFake(t, fs, "run", "-f", topo, "--once", "--dry-run", "-o", "json")
		p := decodePlan(t, r.stdout)
		if r.code != codePending || r.code != p.wantCode() {
			t.Fatalf("exit code %d, want %d like plan\n%s", r.code, codePending, r)
		}
		assertUntouched(t, fs, before)
	})

	t.Run("applies until converged and exits 0", func(t *testing.T) {
		fs := oneManager()
		r := runFake(t, fs, "run", "-f", topo, "--once", "-o", "json")
		p := decodePlan(t, r.stdout)
		if r.code != codeConverged || p.wantCode() != codeConverged {
			t.Fatalf("exit code %d, want a converged plan and 0\n%s", r.code, r)
		}
		if got := fs.Managers(); len(got) != 3 {
			t.Errorf("managers %v, want 3", got)
		}
		for _, n := range fs.Nodes() {
			if n.ManagerStatus != nil && n.Spec.Availability != swarm.NodeAvailabilityDrain {
				t.Errorf("manager %s is %s, want drain", n.Description.Hostname, n.Spec.Availability)
			}
		}
		if _, lost := fs.LowestFaultTolerance(); lost {
			t.Error("quorum was lost on the way")
		}
	})

	t.Run("a swarm without a leader is blocked, exit 3, nothing sent", func(t *testing.T) {
		fs := oneManager()
		fs.LoseQuorum()
		r := runFake(t, fs, "run", "-f", topo, "--once", "-o", "json")
		p := decodePlan(t, r.stdout)
		if r.code != codeBlocked || p.wantCode() != codeBlocked {
			t.Fatalf("exit code %d, want a blocked plan and 3\n%s", r.code, r)
		}
		if calls := fs.Calls(); len(calls) > 0 {
			t.Errorf("%d mutating calls on a swarm without a leader", len(calls))
		}
	})

	t.Run("a Docker connection that fails is exit 1", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		a := newApp(strings.NewReader(""), &stdout, &stderr)
		a.newDocker = func() (dockerClient, error) { return nil, context.DeadlineExceeded }
		code := a.execute(context.Background(), []string{"run", "-f", topo, "--once"})
		if code != codeError || !strings.Contains(stderr.String(), "Error: connecting to Docker") {
			t.Errorf("exit code %d, stderr %q", code, stderr.String())
		}
	})
}

// TestRunStopsOnCancel runs the loop until a signal would cancel its context.
func TestRunStopsOnCancel(t *testing.T) {
	topo := writeFile(t, "topology.yaml", threeManagers)
	tests := []struct {
		name   string
		dryRun bool
		// done tells when the loop has done enough to be stopped.
		done func(fs *fakeswarm.Swarm, stdout string) bool
	}{
		{
			name:   "the loop converges the swarm and a stop exits 0",
			done:   func(fs *fakeswarm.Swarm, _ string) bool { return len(fs.Managers()) == 3 },
			dryRun: false,
		},
		{
			name:   "a dry-run loop prints the plan and a stop exits 0",
			done:   func(_ *fakeswarm.Swarm, stdout string) bool { return strings.Contains(stdout, "promote") },
			dryRun: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := oneManager()
			before := versions(fs)
			var stdout, stderr syncBuffer
			a := fakeApp(fs, &stdout, &stderr)
			args := []string{"run", "-f", topo, "--log-format", "json", "--metrics-addr", "127.0.0.1:0"}
			if tt.dryRun {
				args = append(args, "--dry-run")
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			codes := make(chan int, 1)
			go func() { codes <- a.execute(ctx, args) }()

			deadline := time.Now().Add(20 * time.Second)
			for !tt.done(fs, stdout.String()) {
				if time.Now().After(deadline) {
					cancel()
					t.Fatalf("loop did not get there in time\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			select {
			case code := <-codes:
				if code != codeConverged {
					t.Errorf("exit code %d after a stop, want 0\nstderr:\n%s", code, stderr.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatal("loop did not stop after its context was cancelled")
			}
			if !strings.Contains(stderr.String(), `"msg":"Controller stopped"`) {
				t.Errorf("no JSON log of the stop on stderr:\n%s", stderr.String())
			}
			if tt.dryRun {
				assertUntouched(t, fs, before)
			}
		})
	}
}

func TestRunOnceExits2WhileAPromotionOnlyItsNodeOrAHumanCanFinishIsPending(t *testing.T) {
	topo := writeFile(t, "topology.yaml", threeManagers)
	fs := oneManager()
	// node3 was asked to become a manager, and then its machine went down before it joined.
	ctx := context.Background()
	n3, _, err := fs.NodeInspectWithRaw(ctx, fs.ID("node3"))
	if err != nil {
		t.Fatal(err)
	}
	n3.Spec.Role = swarm.NodeRoleManager
	if err := fs.NodeUpdate(ctx, n3.ID, n3.Version, n3.Spec); err != nil {
		t.Fatal(err)
	}
	fs.SetState(n3.ID, swarm.NodeStateDown)
	setup := len(fs.Calls())
	r := runFake(t, fs, "run", "-f", topo, "--once", "-o", "json")
	p := decodePlan(t, r.stdout)
	if r.code != codePending || p.wantCode() != codePending {
		t.Fatalf("exit code %d, want %d: the swarm is not there and only node3 or a human can finish it\n%s", r.code, codePending, r)
	}
	for _, c := range fs.Calls()[setup:] {
		promote := c.Method == "NodeUpdate" && c.Spec.Role == swarm.NodeRoleManager && c.Node != fs.ID("node1") && c.Node != n3.ID
		if c.Method == "NodeRemove" || promote {
			t.Errorf("a membership change was sent while node3's promotion is pending: %s %s %s", c.Method, c.Node, c.Spec.Role)
		}
	}
	if got := fs.Managers(); len(got) != 1 {
		t.Errorf("managers %v, want node1 alone: nothing is promoted while node3's promotion is pending", got)
	}
	if !strings.Contains(r.stdout, "docker node rm --force") {
		t.Errorf("the plan does not say how a human ends the promotion:\n%s", r.stdout)
	}
}
