package render

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

func TestParseFormat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Format
		wantErr []string
	}{
		{"text is the runbook", "text", FormatText, nil},
		{"json is for scripts", "json", FormatJSON, nil},
		{"markdown is for pull requests", "markdown", FormatMarkdown, nil},
		{"an unknown format names itself and the known ones", "yaml", "", []string{`"yaml"`, "text, json or markdown"}},
		{"an empty value is refused", "", "", []string{`""`, "text, json or markdown"}},
		{"formats are lower case, as the flag documents them", "JSON", "", []string{`"JSON"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFormat(tt.in)
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("ParseFormat(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrUnknownFormat) {
				t.Fatalf("ParseFormat(%q) error = %v, want ErrUnknownFormat", tt.in, err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestEveryListedFormatParsesAndWrites(t *testing.T) {
	if len(Formats()) != 3 {
		t.Fatalf("Formats() = %v", Formats())
	}
	for _, f := range Formats() {
		got, err := ParseFormat(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
		var buf bytes.Buffer
		if err := Write(&buf, f, &reconcile.Plan{}); err != nil || buf.Len() == 0 || !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
			t.Errorf("Write(%s) = %q, %v; want output ending in a newline", f, buf.String(), err)
		}
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteErrors(t *testing.T) {
	diskFull := errors.New("disk full")
	tests := []struct {
		name   string
		w      failingWriter
		format Format
		plan   *reconcile.Plan
		want   error
	}{
		{"a nil plan is refused", failingWriter{}, FormatText, nil, ErrNoPlan},
		{"an unknown format is refused", failingWriter{}, "yaml", &reconcile.Plan{}, ErrUnknownFormat},
		{"a failing writer's error is returned", failingWriter{diskFull}, FormatJSON, &reconcile.Plan{}, diskFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Write(tt.w, tt.format, tt.plan); !errors.Is(err, tt.want) {
				t.Errorf("Write error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTheVerdictLineSaysWhatToExpect(t *testing.T) {
	step := reconcile.Step{Action: reconcile.ActionPromote, Node: id5, Hostname: "node5"}
	tests := []struct {
		name string
		plan reconcile.Plan
		want string
	}{
		{"nothing to do is converged", reconcile.Plan{}, "Plan: converged, nothing to do\n"},
		{"one step is singular", reconcile.Plan{Steps: []reconcile.Step{step}}, "Plan: 1 step pending\n"},
		{"two steps are plural", reconcile.Plan{Steps: []reconcile.Step{step, step}}, "Plan: 2 steps pending\n"},
		{"a change in flight with no step is waited for", reconcile.Plan{InFlight: []reconcile.InFlight{{Node: id3, To: reconcile.RoleWorker}}},
			"Plan: waiting for 1 change in flight\n"},
		{"a file the nodes cannot meet is not converged", reconcile.Plan{Unmet: []string{"too few nodes"}},
			"Plan: NOT CONVERGED, the file cannot be met with the nodes there are\n"},
		{"steps pending win over unmet", reconcile.Plan{Unmet: []string{"too few nodes"}, Steps: []reconcile.Step{step}}, "Plan: 1 step pending\n"},
		{"blocked wins over steps", reconcile.Plan{Blocked: "no", Steps: []reconcile.Step{step}}, "Plan: BLOCKED, nothing may be changed\n"},
		{"the time is shown in UTC", reconcile.Plan{Time: observedAt.Add(90 * 60e9).In(fixedZone)}, "Plan: converged, nothing to do (swarm as of 2026-11-27T14:13:00Z)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, FormatText, &tt.plan); err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(buf.String(), "\n")
			if first+"\n" != tt.want {
				t.Errorf("first line = %q, want %q", first+"\n", tt.want)
			}
		})
	}
}
