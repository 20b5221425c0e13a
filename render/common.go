package render

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// shortIDLen is how much of a node ID `docker node ls` shows; enough to find the node.
const shortIDLen = 12

func shortID(id string) string {
	if len(id) > shortIDLen {
		return id[:shortIDLen]
	}
	return id
}

// clean replaces control characters, which a hostile snapshot could use to rewrite a terminal
// or break a line, with U+FFFD. keepNewlines keeps '\n' for multi-line reasons.
func clean(s string, keepNewlines bool) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' && keepNewlines {
			return r
		}
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return unicode.ReplacementChar
		}
		return r
	}, s)
}

// verdict is the plan's one-line answer.
func verdict(p *reconcile.Plan) string {
	switch {
	case p.Blocked != "":
		return "BLOCKED, nothing may be changed"
	case len(p.Steps) > 0:
		return plural(len(p.Steps), "step", "steps") + " pending"
	case len(p.InFlight) > 0:
		return "waiting for " + plural(len(p.InFlight), "change", "changes") + " in flight"
	case len(p.Unmet) > 0:
		return "NOT CONVERGED, the file cannot be met with the nodes there are"
	}
	return "converged, nothing to do"
}

// otherWarnings are the warnings that the unmet list does not already say.
func otherWarnings(p *reconcile.Plan) []string {
	if len(p.Unmet) == 0 {
		return p.Warnings
	}
	var out []string
	for _, w := range p.Warnings {
		if !slices.Contains(p.Unmet, w) {
			out = append(out, w)
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// hasSteps tells whether the plan will change anything, so that before, during and after are
// all worth showing; otherwise there is only now.
func hasSteps(p *reconcile.Plan) bool { return len(p.Steps) > 0 && p.Blocked == "" }

// faultTolerance spells a fault tolerance, saying what a negative one means.
func faultTolerance(ft int) string {
	if ft < 0 {
		return fmt.Sprintf("%d (quorum lost)", ft)
	}
	return fmt.Sprint(ft)
}

// zones lists the zones of both summaries, sorted, with the empty zone (nodes without a zone
// label) last.
func zones(a, b reconcile.Summary) []string {
	var out []string
	for _, m := range []map[string]int{a.Zones, b.Zones} {
		for z := range m {
			if !slices.Contains(out, z) {
				out = append(out, z)
			}
		}
	}
	slices.SortFunc(out, func(x, y string) int {
		switch {
		case x == y:
			return 0
		case x == "":
			return 1
		case y == "":
			return -1
		}
		return strings.Compare(x, y)
	})
	return out
}

// becoming says what an in-flight change is waiting for.
func becoming(f reconcile.InFlight) string {
	switch f.To {
	case reconcile.RoleManager:
		return "to finish becoming a manager"
	case reconcile.RoleWorker:
		return "to finish becoming a worker"
	}
	return "to finish its role change"
}
