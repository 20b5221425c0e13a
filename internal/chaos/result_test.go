package chaos

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// sampleResults is a small run: kinds alone and together, every engine, converged and not, one
// with each broken invariant, and heal figures on a few.
func sampleResults() []Result {
	s := func(d float64) time.Duration { return time.Duration(d * float64(time.Second)) }
	return []Result{
		{ID: "s1-i0", Engine: E2010, Kinds: []Kind{KindKill}, Converged: true, ConvergeAfterHeal: s(3.2), RoleChanges: 2, RoleBound: 2},
		{ID: "s1-i1", Engine: E261, Kinds: []Kind{KindKill, KindHuman}, Converged: true, ConvergeAfterHeal: s(5), RoleChanges: 5, RoleBound: 4},
		{ID: "s1-i2", Engine: EMixed2010, Kinds: []Kind{KindPartition}, Converged: true, ConvergeAfterHeal: s(1.5), MaxPending: 1,
			Control: &HealFigures{Leaderless: s(12), HealChanges: 0}, Operator: &HealFigures{Leaderless: s(2.5), HealChanges: 2}},
		{ID: "s1-i3", Engine: EMixed261, Kinds: []Kind{KindSplit, KindNewFile}, Converged: false, ConvergeAfterHeal: -1, MaxPending: 2, Held: "stuck",
			Failures: []string{"two membership changes pending at 14s"}},
		{ID: "s1-i4", Engine: E2010, Kinds: []Kind{KindKill}, Converged: true, ConvergeAfterHeal: s(8.05), UnsafeSteps: 1},
		{ID: "s1-i5", Engine: E2010, Kinds: []Kind{KindPause}, Converged: true, ConvergeAfterHeal: s(0.4), TwoActors: 3,
			Control: &HealFigures{Leaderless: s(9)}, Operator: &HealFigures{Leaderless: s(11)}},
		{ID: "s1-i6", Engine: E2010, Kinds: []Kind{KindPause}, Converged: true, ConvergeAfterHeal: s(1.0),
			Control: &HealFigures{Leaderless: s(7)}, Operator: &HealFigures{Leaderless: s(1)}},
		{ID: "s1-i7", Engine: "27.0", Kinds: []Kind{"future-kind"}, Converged: true, ConvergeAfterHeal: s(2)},
	}
}

func TestTableGolden(t *testing.T) {
	got := Table(sampleResults())
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading golden file (go test ./internal/chaos -run TestTableGolden -update makes it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs; review the change and run go test ./internal/chaos -run TestTableGolden -update\n--- got\n%s\n--- want\n%s", golden, got, want)
	}
	// Whatever the golden says: the order does not depend on the order of the results.
	rs := sampleResults()
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	if again := Table(rs); again != got {
		t.Errorf("the table depends on the order of the results:\n%s\n%s", again, got)
	}
}

func TestTableRows(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(Table(sampleResults())), "\n")
	cell := func(fault, engine string, col int) string {
		for _, l := range lines {
			c := strings.Split(l, "|")
			if strings.TrimSpace(c[1]) == fault && strings.TrimSpace(c[2]) == engine {
				return strings.TrimSpace(c[col+1])
			}
		}
		t.Fatalf("no row %s/%s", fault, engine)
		return ""
	}
	// kill on 20.10: s1-i0 and s1-i4; converge after heal median of 3.2 and 8.05, worst 8.05.
	if got := cell("kill", E2010, 2); got != "2" {
		t.Errorf("kill/20.10 scenarios = %s, want 2", got)
	}
	if got := cell("kill", E2010, 10); got != "5.6 / 8.1" {
		t.Errorf("kill/20.10 converge after heal = %s, want 5.6 / 8.1", got)
	}
	// The scenario of two kinds counts in both rows.
	for _, kind := range []string{"kill", "human"} {
		if got := cell(kind, E261, 2); got != "1" {
			t.Errorf("%s/26.1 scenarios = %s, want 1 (s1-i1 has both kinds)", kind, got)
		}
		if got := cell(kind, E261, 9); got != "1" {
			t.Errorf("%s/26.1 roles over bound = %s, want 1", kind, got)
		}
	}
	if got := cell("pause", E2010, 11); got != "8.0 / 6.0" {
		t.Errorf("pause/20.10 leaderless = %s, want 8.0 / 6.0", got)
	}
	if got := cell("**all**", "**all**", 2); got != "8" {
		t.Errorf("overall scenarios = %s, want 8", got)
	}
	if got := cell("**all**", "**all**", 4); got != "1" {
		t.Errorf("overall held for a human = %s, want 1", got)
	}
	if got := cell("**all**", "**all**", 5); got != "3" {
		t.Errorf("overall failed = %s, want 3 (unsafe step, two actors, pending)", got)
	}
}

func TestJSONLRoundTrip(t *testing.T) {
	want := sampleResults()
	want[0].Scenario = Plan(1, 1, 0, nil)[0].String()
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, want[:3]...); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("\n") // a blank line, as appending files may leave
	if err := WriteJSONL(&buf, want[3:]...); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.TrimSpace(buf.String()), "\n"); n != len(want) {
		t.Fatalf("%d newlines for %d results", n, len(want))
	}
	got, err := ReadJSONL(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs:\n%+v\n%+v", got, want)
	}
	if _, err := ReadJSONL(strings.NewReader("{\"id\":\"a\"}\n{broken\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a broken line gave %v, want an error naming line 2", err)
	}
}

func TestResultOK(t *testing.T) {
	good := Result{Converged: true, MaxPending: 1, RoleChanges: 5, RoleBound: 2}
	if !good.OK() {
		t.Error("a converged run with no broken invariant is not OK")
	}
	if held := (Result{ConvergeAfterHeal: -1, Held: "a promotion that can never join raft"}); !held.OK() {
		t.Error("a run held for a human, with no broken invariant, is not OK")
	}
	for name, r := range map[string]Result{
		"not converged": {ConvergeAfterHeal: -1},
		"unsafe step":   {Converged: true, UnsafeSteps: 1},
		"two actors":    {Converged: true, TwoActors: 1},
		"pending":       {Converged: true, MaxPending: 2},
		"failure":       {Converged: true, Failures: []string{"x"}},
		"held, unsafe":  {Held: "x", UnsafeSteps: 1},
	} {
		if r.OK() {
			t.Errorf("%s: OK", name)
		}
	}
}
