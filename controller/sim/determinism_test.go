package sim

import "testing"

// TestSimIsAPureFunctionOfItsSeed runs schedules twice, timelines kept, and wants the very
// same runs: same timeline, same counts, same violations.
func TestSimIsAPureFunctionOfItsSeed(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		a, b := Run(t, Generate(seed), true), Run(t, Generate(seed), true)
		if a.Format() != b.Format() || a.Calls != b.Calls || a.Events != b.Events || a.Checks != b.Checks {
			t.Fatalf("seed %d ran differently twice:\n%s\n---\n%s", seed, a.Format(), b.Format())
		}
		if len(a.Timeline) == 0 || a.Calls == 0 {
			t.Fatalf("seed %d: nothing happened: %+v", seed, a)
		}
	}
}
