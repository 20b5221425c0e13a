package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	good := writeFile(t, "good.yaml", threeManagers)
	even := writeFile(t, "even.yaml", strings.Replace(threeManagers, "count: 3", "count: 4", 1))
	twoProblems := writeFile(t, "two.yaml", strings.NewReplacer(
		"count: 3", "count: 4",
		"availability: active", "availability: sometimes",
	).Replace(threeManagers))
	unknownField := writeFile(t, "unknown.yaml", threeManagers+"  colour: blue\n")
	empty := writeFile(t, "empty.yaml", "")

	// file:line: field: message, as editors and CI annotations read it.
	located := func(file, field string) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(file) + `:\d+: ` + regexp.QuoteMeta(field) + `: \S`)
	}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr []*regexp.Regexp
		errLines   int // minimum number of lines on stderr
	}{
		{
			name:       "a valid file is reported valid on stdout",
			args:       []string{"validate", "-f", good},
			wantCode:   0,
			wantStdout: good + ": valid\n",
		},
		{
			name:       "an even manager count is an error with file, line and field",
			args:       []string{"validate", "-f", even},
			wantCode:   1,
			wantStderr: []*regexp.Regexp{located(even, "spec.managers.count")},
			errLines:   1,
		},
		{
			name:     "every problem is reported, one per line",
			args:     []string{"validate", "--file", twoProblems},
			wantCode: 1,
			wantStderr: []*regexp.Regexp{
				located(twoProblems, "spec.managers.count"),
				located(twoProblems, "spec.workers.availability"),
			},
			errLines: 2,
		},
		{
			name:       "an unknown field is an error",
			args:       []string{"validate", "-f", unknownField},
			wantCode:   1,
			wantStderr: []*regexp.Regexp{regexp.MustCompile(regexp.QuoteMeta(unknownField) + `.*colour`)},
			errLines:   1,
		},
		{
			name:       "an empty file is an error",
			args:       []string{"validate", "-f", empty},
			wantCode:   1,
			wantStderr: []*regexp.Regexp{regexp.MustCompile(regexp.QuoteMeta(empty))},
			errLines:   1,
		},
		{
			name:       "a missing file is an error",
			args:       []string{"validate", "-f", filepath.Join(t.TempDir(), "nope.yaml")},
			wantCode:   1,
			wantStderr: []*regexp.Regexp{regexp.MustCompile(`^Error: .*nope\.yaml`)},
			errLines:   1,
		},
		{
			name:       "-f is required",
			args:       []string{"validate"},
			wantCode:   1,
			wantStderr: []*regexp.Regexp{regexp.MustCompile(`required flag.*file`), regexp.MustCompile(`swarmtopo validate --help`)},
			errLines:   2,
		},
		{
			name:       "a stray argument is a usage error",
			args:       []string{"validate", "-f", good, "extra"},
			wantCode:   1,
			wantStderr: []*regexp.Regexp{regexp.MustCompile(`extra`), regexp.MustCompile(`swarmtopo validate --help`)},
			errLines:   2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, "", tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit code %d, want %d\n%s", r.code, tt.wantCode, r)
			}
			if tt.wantCode == 0 && r.stdout != tt.wantStdout {
				t.Errorf("stdout %q, want %q", r.stdout, tt.wantStdout)
			}
			if tt.wantCode != 0 && r.stdout != "" {
				t.Errorf("stdout not empty on failure: %q", r.stdout)
			}
			for _, re := range tt.wantStderr {
				if !re.MatchString(r.stderr) {
					t.Errorf("stderr does not match %s:\n%s", re, r.stderr)
				}
			}
			if n := strings.Count(r.stderr, "\n"); n < tt.errLines {
				t.Errorf("stderr has %d lines, want at least %d:\n%s", n, tt.errLines, r.stderr)
			}
		})
	}
}

func TestValidateExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no examples/*.yaml yet")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := cli(t, "", "validate", "-f", f)
			if r.code != 0 || r.stdout != f+": valid\n" {
				t.Errorf("example is not valid:\n%s", r)
			}
		})
	}
}
