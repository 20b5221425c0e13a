//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/lab"
)

// Scenario 7: zones come from hostname rules, extra labels are set; a label the file no longer
// asks for and that swarmtopo had set is removed; labels it never managed stay.
func TestLabelsFollowTheFileAndForeignLabelsStay(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Nodes: 4, Managers: 1}) // no zone labels: the file assigns them
	setLabel(t, l.Node(1), "node2", "team", "ops")
	rules := "  managers:\n    count: 1\n  policy:\n    allowSingleManager: true\n" +
		"  zones:\n    a: [node1, node2]\n    b: [\"node[34]\"]\n"
	withTier := rules + "  labels:\n    - hostnames: [\"node*\"]\n      set: {tier: app}\n"

	if r := swarmtopo(t, l.Node(1), 2*time.Minute, "run", "--once", "-f", topology(t, withTier)); r.code != 0 {
		t.Fatalf("run --once: exit %d\n%s", r.code, r.stderr)
	}
	views := listNodes(t, l)
	for h, zone := range map[string]string{"node1": "a", "node2": "a", "node3": "b", "node4": "b"} {
		if got := views[h].labels["az"]; got != zone {
			t.Errorf("%s az=%q, want %q", h, got, zone)
		}
		if got := views[h].labels["tier"]; got != "app" {
			t.Errorf("%s tier=%q, want app", h, got)
		}
	}
	if views["node2"].labels["team"] != "ops" {
		t.Errorf("node2 lost its hand-set team label: %v", views["node2"].labels)
	}

	if r := swarmtopo(t, l.Node(1), 2*time.Minute, "run", "--once", "-f", topology(t, rules)); r.code != 0 {
		t.Fatalf("run --once without the tier rule: exit %d\n%s", r.code, r.stderr)
	}
	views = listNodes(t, l)
	for _, h := range []string{"node1", "node2", "node3", "node4"} {
		if _, ok := views[h].labels["tier"]; ok {
			t.Errorf("%s still has tier after the file dropped it: %v", h, views[h].labels)
		}
		if views[h].labels["az"] == "" {
			t.Errorf("%s lost its zone: %v", h, views[h].labels)
		}
	}
	if views["node2"].labels["team"] != "ops" {
		t.Errorf("node2 lost its hand-set team label: %v", views["node2"].labels)
	}
}
