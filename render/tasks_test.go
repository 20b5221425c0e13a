package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// A drain whose tasks the controller counted says how many it moves, in every format.
func TestADrainSaysHowManyTasksItMoves(t *testing.T) {
	three := 3
	p := &reconcile.Plan{Steps: []reconcile.Step{{Action: reconcile.ActionDrain, Node: "n1", Hostname: "node1", Reason: "managers drained", Tasks: &three}}}
	for f, want := range map[Format]string{FormatText: "moves 3 task(s)", FormatMarkdown: "moves 3 task(s)", FormatJSON: `"tasks": 3`} {
		var b bytes.Buffer
		if err := Write(&b, f, p); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s output lacks %q:\n%s", f, want, b.String())
		}
	}
}
