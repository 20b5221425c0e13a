package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		name   string
		level  string
		format string
		// want lists substrings of the output; wantJSON asks every line to be a JSON object.
		want     []string
		wantJSON bool
		absent   []string
	}{
		{
			name:     "json lines carry the message and the keys",
			level:    "info",
			format:   "json",
			want:     []string{`"msg":"Step applied"`, `"node":"n1"`, `"level":"info"`, `"msg":"Cannot observe"`, `"error":"boom"`},
			wantJSON: true,
			absent:   []string{"Detail"},
		},
		{
			name:   "console lines are not JSON",
			level:  "info",
			format: "console",
			want:   []string{"INFO", "Step applied", `"node": "n1"`},
			absent: []string{`{"level"`},
		},
		{
			name:     "debug shows V(1)",
			level:    "debug",
			format:   "json",
			want:     []string{`"msg":"Detail"`},
			wantJSON: true,
		},
		{
			name:     "error hides info",
			level:    "error",
			format:   "json",
			want:     []string{`"msg":"Cannot observe"`},
			wantJSON: true,
			absent:   []string{"Step applied"},
		},
		{
			name:     "no format on a pipe means JSON",
			level:    "warn",
			format:   "",
			want:     []string{`"msg":"Cannot observe"`},
			wantJSON: true,
			absent:   []string{"Step applied"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, flush, err := newLogger(&buf, tt.level, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			log.Info("Step applied", "node", "n1")
			log.V(1).Info("Detail")
			log.Error(errors.New("boom"), "Cannot observe")
			flush()
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %s:\n%s", w, out)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(out, a) {
					t.Errorf("output has %s:\n%s", a, out)
				}
			}
			if tt.wantJSON {
				for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
					if !json.Valid([]byte(line)) {
						t.Errorf("not a JSON line: %s", line)
					}
				}
			}
		})
	}
}

func TestNewLoggerRejectsUnknownValues(t *testing.T) {
	if _, _, err := newLogger(&bytes.Buffer{}, "loud", "json"); err == nil {
		t.Error("level loud accepted")
	}
	if _, _, err := newLogger(&bytes.Buffer{}, "info", "xml"); err == nil {
		t.Error("format xml accepted")
	}
}
