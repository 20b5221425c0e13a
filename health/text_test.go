package health_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/swarmtopo/swarmtopo/health"
	"github.com/swarmtopo/swarmtopo/reconcile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestWriteText(t *testing.T) {
	promoting := worker("w1", "c")
	promoting.DesiredRole = reconcile.RoleManager
	tests := []struct {
		name string
		snap func(t *testing.T) reconcile.Snapshot
	}{
		{"real-fixture", fixture},
		{"healthy-five", func(*testing.T) reconcile.Snapshot {
			return swarmOf(drained(manager("m1", "a")), drained(manager("m2", "b")), drained(manager("m3", "c")),
				drained(manager("m4", "a")), drained(manager("m5", "b")), worker("w1", "c"))
		}},
		{"quorum-lost", func(*testing.T) reconcile.Snapshot {
			return swarmOf(manager("m1", "a"), unreachable(manager("m2", "b")), unreachable(manager("m3", "c")))
		}},
		{"no-leader", func(*testing.T) reconcile.Snapshot {
			return reconcile.Snapshot{ClusterError: "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online."}
		}},
		{"promoting-and-unlabelled", func(*testing.T) reconcile.Snapshot {
			return swarmOf(manager("m1", "a"), manager("m2", ""), promoting)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := health.WriteText(&buf, health.Assess(tc.snap(t), "az")); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".txt", buf.Bytes())
		})
	}
}

func TestTheReportAsJSON(t *testing.T) {
	r := health.Assess(fixture(t), "az")
	got, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "real-fixture.json", append(got, '\n'))
	// A snapshot from a file has no time: the field is left out rather than shown as year 1.
	if strings.Contains(string(got), `"time"`) {
		t.Errorf("zero time marshalled")
	}
	var back health.Report
	if err := json.Unmarshal(got, &back); err != nil || back.FaultTolerance != r.FaultTolerance || len(back.Zones) != len(r.Zones) {
		t.Errorf("round trip: %v, %+v", err, back)
	}
}

type failingWriter struct{}

var errDiskFull = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestWriteTextReportsWriteErrors(t *testing.T) {
	if err := health.WriteText(failingWriter{}, health.Assess(fixture(t), "")); !errors.Is(err, errDiskFull) {
		t.Errorf("error = %v, want the writer's", err)
	}
}
