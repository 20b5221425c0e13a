package chaos

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Result is what the runner measured in one scenario. Durations are written to JSON in
// nanoseconds, as encoding/json writes a time.Duration.
type Result struct {
	ID     string `json:"id"`
	Engine string `json:"engine"`
	Kinds  []Kind `json:"kinds"`
	// Scenario is the scenario's String.
	Scenario string `json:"scenario"`
	// Converged says whether the swarm met the target (or the new target) after the heal;
	// ConvergeAfterHeal is how long after HealBy it did, -1 when it did not.
	Converged         bool          `json:"converged"`
	ConvergeAfterHeal time.Duration `json:"convergeAfterHeal"`
	// Held, when the swarm did not converge, is why only a human can finish: the engines
	// themselves keep the file from being met (a promotion that can never join raft), the
	// operator holds every other membership change and says what to do. The runner sets it
	// only from what it checks on the swarm.
	Held string `json:"held,omitempty"`
	// UnsafeSteps counts the steps the operator sent after which quorum was lost.
	UnsafeSteps int `json:"unsafeSteps"`
	// TwoActors counts the seconds in which the engines logged node writes from two operator
	// instances.
	TwoActors int `json:"twoActors"`
	// MaxPending is the most membership changes pending at once, as the engines saw them.
	MaxPending int `json:"maxPending"`
	// RoleChanges is how many promotions and demotions the swarm made; RoleBound is the bound
	// (the function of that name) to compare them with.
	RoleChanges int `json:"roleChanges"`
	RoleBound   int `json:"roleBound"`
	// Control and Operator are set for partition, pause and split scenarios: the same fault
	// with no operator running, and with it.
	Control  *HealFigures `json:"control,omitempty"`
	Operator *HealFigures `json:"operator,omitempty"`
	// Failures lists each broken invariant, readably.
	Failures []string `json:"failures,omitempty"`
}

// HealFigures is what happened after a fault healed.
type HealFigures struct {
	// Leaderless is how long the swarm had no leader after the heal.
	Leaderless time.Duration `json:"leaderless"`
	// HealChanges is how many role changes followed the heal.
	HealChanges int `json:"healChanges"`
}

// OK reports whether the scenario kept every invariant: it converged (or was held for a human,
// Held), sent no unsafe step, had
// one operator instance acting at a time, no more than one membership change pending, and no
// failure listed. Role changes over the bound do not fail it: the bound is approximate after a
// new file, and Table shows them apart.
func (r Result) OK() bool {
	return (r.Converged || r.Held != "") && r.UnsafeSteps == 0 && r.TwoActors == 0 && r.MaxPending <= 1 && len(r.Failures) == 0
}

// WriteJSONL writes one result per line.
func WriteJSONL(w io.Writer, results ...Result) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("result %s: %w", r.ID, err)
		}
	}
	return nil
}

// ReadJSONL reads results written by WriteJSONL, skipping blank lines.
func ReadJSONL(rd io.Reader) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var r Result
		if err := json.Unmarshal([]byte(text), &r); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading results: %w", err)
	}
	return out, nil
}

// Table writes the results as a Markdown table: a row per fault kind and engine (a scenario of
// several kinds counts in each of their rows), then a total per engine and overall. Kinds and
// engines come in Kinds and Engines order, others after them sorted.
//
// Columns: scenarios; how many converged, how many were held for a human (Held) and how many
// failed (not OK); the unsafe steps sent
// and the seconds with two actors, summed; how many scenarios had more than one membership
// change pending, and more role changes than their bound; the median and worst time to converge
// after the heal, of those that converged; and the median time without a leader after the heal
// with no operator (control) and with it, of the scenarios that measured both.
func Table(results []Result) string {
	type key struct{ kind, engine string }
	groups := map[key][]Result{}
	var kinds, engines []string
	add := func(k key, r Result) {
		groups[k] = append(groups[k], r)
	}
	for _, r := range results {
		engines = appendNew(engines, r.Engine)
		for _, k := range uniqueKinds(r.Kinds) {
			kinds = appendNew(kinds, string(k))
			add(key{string(k), r.Engine}, r)
		}
		add(key{"all", r.Engine}, r)
		add(key{"all", "all"}, r)
	}
	kindOrder := make([]string, len(Kinds))
	for i, k := range Kinds {
		kindOrder[i] = string(k)
	}
	kinds = ordered(kinds, kindOrder)
	engines = ordered(engines, Engines)

	var b strings.Builder
	b.WriteString("| fault | engine | scenarios | converged | held for a human | failed | unsafe steps | two actors (s) | pending > 1 | roles over bound | converge after heal, median / worst (s) | leaderless after heal, control / operator (median s) |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	row := func(k key) {
		rs := groups[k]
		if len(rs) == 0 {
			return
		}
		var conv, held, failed, unsafe, two, pending, over int
		var after, control, operator []time.Duration
		for _, r := range rs {
			if r.Converged {
				conv++
				after = append(after, r.ConvergeAfterHeal)
			}
			if !r.Converged && r.Held != "" {
				held++
			}
			if !r.OK() {
				failed++
			}
			unsafe += r.UnsafeSteps
			two += r.TwoActors
			if r.MaxPending > 1 {
				pending++
			}
			if r.RoleChanges > r.RoleBound {
				over++
			}
			if r.Control != nil && r.Operator != nil {
				control = append(control, r.Control.Leaderless)
				operator = append(operator, r.Operator.Leaderless)
			}
		}
		heal := "–"
		if len(after) > 0 {
			heal = secs(median(after)) + " / " + secs(slices.Max(after))
		}
		leaderless := "–"
		if len(control) > 0 {
			leaderless = secs(median(control)) + " / " + secs(median(operator))
		}
		kind, engine := k.kind, k.engine
		if kind == "all" {
			kind = "**all**"
		}
		if engine == "all" {
			engine = "**all**"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %d | %d | %d | %s | %s |\n",
			kind, engine, len(rs), conv, held, failed, unsafe, two, pending, over, heal, leaderless)
	}
	for _, k := range kinds {
		for _, e := range engines {
			row(key{k, e})
		}
	}
	for _, e := range engines {
		row(key{"all", e})
	}
	row(key{"all", "all"})
	return b.String()
}

func uniqueKinds(ks []Kind) []Kind {
	var out []Kind
	for _, k := range ks {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// ordered sorts list into the order of known, with the names known lacks after them, sorted.
func ordered(list, known []string) []string {
	var out, rest []string
	for _, k := range known {
		if slices.Contains(list, k) {
			out = append(out, k)
		}
	}
	for _, s := range list {
		if !slices.Contains(known, s) {
			rest = append(rest, s)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// median of ds, the mean of the middle two for an even count.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f", d.Seconds()) }
