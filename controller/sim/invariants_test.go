package sim

import (
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// The invariants must be able to fail: a loop broken on purpose is caught.
func TestSimCatchesABrokenLoop(t *testing.T) {
	// Three managers over zones a, b, c and a file that asks for five: two promotes to make,
	// then nothing more to do.
	s := Generate(64)
	s.Faults = nil
	tests := []struct {
		name string
		tune func(*controller.Options)
		want string
	}{
		{"a loop that never applies does not converge",
			func(o *controller.Options) { o.DryRun = true }, InvConvergence},
		{"a loop that looks again every 10 ms is busy",
			func(o *controller.Options) { o.Resync = 10 * time.Millisecond }, InvBusyLoop},
		{"a planner that hides the change in flight is held back by the controller's own checks",
			func(o *controller.Options) {
				o.Planner = func(t *spec.SwarmTopology, snap reconcile.Snapshot) (*reconcile.Plan, error) {
					p, err := reconcile.Compute(t, snap)
					if err != nil || len(p.Steps) == 0 || p.Steps[0].Action != reconcile.ActionPromote {
						return p, err
					}
					// Claim nothing is in flight, so that the next pass promotes again.
					p.InFlight = nil
					return p, nil
				}
			}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := s
			if tc.want == InvBusyLoop {
				s.Count = 3 // converged from the start: every call is idle
			}
			rep := RunWith(t, s, true, tc.tune)
			if tc.want == "" {
				// The controller's own checks must still hold the line against a lying
				// planner: nothing is broken.
				if rep.Failed() {
					t.Fatalf("the controller let a lying planner break an invariant:\n%s", rep.Format())
				}
				return
			}
			if !rep.Failed() || rep.Violations[0].Invariant != tc.want {
				t.Fatalf("violations %v, want %q\n%s", rep.Violations, tc.want, rep.Format())
			}
		})
	}
}
