package progress

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
)

func TestLogLinesFitTheTerminal(t *testing.T) {
	// A console log line as zap writes it: tab-separated, longer than the terminal.
	line := "2026-12-01T20:57:48.122Z\tINFO\tcontroller/apply.go:89\tApplying step\t" +
		`{"action": "activate", "node": "omy0sipp076wzt8guf53hchtd", "hostname": "node2", "reason": "spec.managers.availability is active"}`
	got := fitLog(line, 60)
	if !strings.HasPrefix(got, "\r") {
		t.Errorf("the line does not start with a carriage return: after a ^C echo it would start two columns in: %q", got)
	}
	got = strings.TrimPrefix(got, "\r")
	if strings.Contains(got, "\t") {
		t.Errorf("a tab is left: it would jump over the view's old text: %q", got)
	}
	parts := strings.Split(got, "\n")
	if len(parts) < 3 {
		t.Errorf("a %d-column line in 60 columns came out as %d lines: %q", lipgloss.Width(line), len(parts), got)
	}
	for _, p := range parts {
		if w := lipgloss.Width(p); w > 60 {
			t.Errorf("line %q is %d wide, more than 60", p, w)
		}
	}
	if !strings.HasPrefix(got, "2026-12-01T20:57:48.122Z        INFO    controller") {
		t.Errorf("tabs are not expanded to 8-column stops: %q", got)
	}
	if strings.Join(strings.Fields(strings.ReplaceAll(got, "\n", "")), " ") != strings.Join(strings.Fields(line), " ") {
		t.Errorf("words were lost or changed:\n%q\n%q", got, line)
	}
}
