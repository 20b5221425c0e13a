package sim

import "testing"

// Shrink removes faults from a failing schedule, one at a time, for as long as the run still
// breaks the same invariant, and returns the shortest schedule found with its report.
func Shrink(t *testing.T, s Schedule, first Report) (Schedule, Report) {
	inv := first.Violations[0].Invariant
	best, rep := s, first
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(best.Faults); i++ {
			try := best
			try.Faults = append(append([]Fault(nil), best.Faults[:i]...), best.Faults[i+1:]...)
			r := Run(t, try, false)
			if r.Failed() && r.Violations[0].Invariant == inv {
				best, rep, changed = try, r, true
				i--
			}
		}
	}
	return best, rep
}
