//go:build race

package sim

// Under the race detector (make test) the campaign is a small subset: make sim runs the 10,000
// schedules without it.
func init() { defaultSchedules = 100 }
