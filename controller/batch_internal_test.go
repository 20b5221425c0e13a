package controller

import (
	"testing"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

func TestBatchOf(t *testing.T) {
	st := func(a reconcile.Action, node string) reconcile.Step { return reconcile.Step{Action: a, Node: node} }
	show := func(us []unit) string {
		out := ""
		for _, u := range us {
			out += u.first.Node + ":" + string(u.first.Action)
			for _, r := range u.riders {
				out += "+" + string(r.Action)
			}
			out += " "
		}
		return out
	}
	tests := []struct {
		name      string
		steps     []reconcile.Step
		parallel  int
		maxDrains int
		want      string
	}{
		{"Labels and activations on different nodes go together", []reconcile.Step{
			st(reconcile.ActionLabel, "a"), st(reconcile.ActionActivate, "b"), st(reconcile.ActionLabel, "c")}, 8, 1,
			"a:label b:activate c:label "},
		{"A role change ends the batch: it stays one at a time", []reconcile.Step{
			st(reconcile.ActionLabel, "a"), st(reconcile.ActionPromote, "b"), st(reconcile.ActionLabel, "c")}, 8, 1,
			"a:label "},
		{"No more drains than maxUnavailable", []reconcile.Step{
			st(reconcile.ActionDrain, "a"), st(reconcile.ActionDrain, "b"), st(reconcile.ActionDrain, "c")}, 8, 2,
			"a:drain b:drain "},
		{"One drain at a time by default", []reconcile.Step{
			st(reconcile.ActionDrain, "a"), st(reconcile.ActionDrain, "b")}, 8, 1,
			"a:drain "},
		{"Steps on one node share its update", []reconcile.Step{
			st(reconcile.ActionLabel, "a"), st(reconcile.ActionLabel, "b"), st(reconcile.ActionDrain, "a")}, 8, 1,
			"a:label+drain b:label "},
		{"Parallelism 1 is step by step", []reconcile.Step{
			st(reconcile.ActionLabel, "a"), st(reconcile.ActionLabel, "b")}, 1, 1,
			""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := show(batchOf(tc.steps, tc.parallel, tc.maxDrains)); got != tc.want {
				t.Errorf("batchOf = %q, want %q", got, tc.want)
			}
		})
	}
}
