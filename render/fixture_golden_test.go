package render

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/observe"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// TestRealPlansMatchGoldenFiles runs the planner on the real node inspect fixture with the
// example topologies and renders every format: what a user of `swarmtopo plan --state` sees.
// Refresh with go test ./render -update and review the diff.
func TestRealPlansMatchGoldenFiles(t *testing.T) {
	data, err := os.ReadFile("../testdata/engine-20.10-mixed-5-nodes-one-unreachable.json")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := observe.ParseInspect(data)
	if err != nil {
		t.Fatal(err)
	}
	snap.Time = time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	for _, example := range []string{"lab", "topology"} {
		topo, err := spec.Load("../examples/" + example + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		plan, err := reconcile.Compute(topo, snap)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range Formats() {
			t.Run(example+"/"+f.String(), func(t *testing.T) {
				var got bytes.Buffer
				if err := Write(&got, f, plan); err != nil {
					t.Fatal(err)
				}
				assertGolden(t, filepath.Join("testdata", "fixture-"+example+"."+f.String()+".golden"), got.Bytes())
			})
		}
	}
}
