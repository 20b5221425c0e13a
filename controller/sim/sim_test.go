package sim

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// defaultSchedules is how many schedules TestSimCampaign runs without -schedules.
var defaultSchedules = 300

var (
	seedFlag  = flag.Uint64("seed", 0, "replay the one schedule drawn from this seed (with its timeline)")
	nFlag     = flag.Int("schedules", 300, "how many schedules TestSimCampaign runs")
	firstFlag = flag.Uint64("first", 1, "the first seed TestSimCampaign draws")
)

// TestSimCampaign runs -schedules seeded schedules and checks every invariant after every simulated
// event. A failure is shrunk to its shortest schedule and printed as a timeline, with the
// command that replays it. With -seed it replays that one schedule and prints its timeline.
func TestSimCampaign(t *testing.T) {
	if *seedFlag != 0 {
		rep := Run(t, Generate(*seedFlag), true)
		t.Log("\n" + rep.Format())
		if rep.Failed() {
			t.Errorf("seed %d breaks an invariant: %s", *seedFlag, rep.Violations[0])
		}
		return
	}
	if *nFlag == 0 {
		*nFlag = defaultSchedules
	}
	start := time.Now()
	workers := runtime.GOMAXPROCS(0)
	var (
		mu       sync.Mutex
		total    Report
		runs     int
		failures []uint64
		kinds    = map[string][]uint64{}
	)
	t.Run("schedules", func(t *testing.T) {
		for wk := 0; wk < workers; wk++ {
			t.Run(fmt.Sprint(wk), func(t *testing.T) {
				t.Parallel()
				for i := wk; i < *nFlag; i += workers {
					seed := *firstFlag + uint64(i)
					rep := Run(t, Generate(seed), false)
					mu.Lock()
					runs++
					total.Checks += rep.Checks
					total.Events += rep.Events
					total.Calls += rep.Calls
					total.Faults += rep.Faults
					if rep.Failed() {
						failures = append(failures, seed)
						inv := rep.Violations[0].Invariant
						kinds[inv] = append(kinds[inv], seed)
					}
					mu.Unlock()
				}
			})
		}
	})
	t.Logf("%d schedules in %s: %.1f faults per schedule, %d invariant checks, %d simulated events, %d Docker calls",
		runs, time.Since(start).Round(time.Millisecond), float64(total.Faults)/float64(max(runs, 1)), total.Checks, total.Events, total.Calls)
	for inv, seeds := range kinds {
		t.Logf("%d schedules break %q, e.g. seeds %v", len(seeds), inv, seeds[:min(len(seeds), 8)])
	}
	for i, seed := range failures {
		if i == 3 {
			t.Errorf("... and %d more failing seeds", len(failures)-3)
			break
		}
		s := Generate(seed)
		first := Run(t, s, false)
		small, _ := Shrink(t, s, first)
		rep := Run(t, small, true)
		t.Errorf("seed %d breaks %q (replay: go test ./controller/sim -run TestSimCampaign -seed %d); shrunk from %d to %d faults:\n%s",
			seed, first.Violations[0].Invariant, seed, len(s.Faults), len(small.Faults), rep.Format())
	}
}
