package reconcile

import (
	"fmt"
	"testing"

	"github.com/swarmtopo/swarmtopo/spec"
)

// benchSwarm is n nodes over three zones with three managers crowded in zone a, a fourth one
// unreachable, and every tenth worker down: a plan with moves, a replacement and labels.
func benchSwarm(n int) Snapshot {
	zones := []string{"a", "b", "c"}
	s := Snapshot{Time: t0}
	for i := range n {
		var flags []string
		switch {
		case i == 0:
			flags = []string{"M", "L"}
		case i == 3 || i == 6:
			flags = []string{"M"}
		case i == 9:
			flags = []string{"U"}
		case i%10 == 7:
			flags = []string{"D"}
		}
		s.Nodes = append(s.Nodes, node(fmt.Sprintf("node%05d", i), zones[i%3], flags...))
	}
	return s
}

func BenchmarkCompute(b *testing.B) {
	tp := topo(5, drained, workersActive, removeDown, func(s *spec.Spec) {
		s.Labels = []spec.LabelRule{{Hostnames: []string{"node0*"}, Set: map[string]string{"tier": "core"}}}
	})
	for _, n := range []int{100, 1000, 10000} {
		s := benchSwarm(n)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compute(tp, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
