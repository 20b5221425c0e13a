package render

import (
	"bytes"
	"strings"
	"testing"
	"unicode"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

func TestMarkdownCodeSpansHoldAnyName(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		inTable bool
		want    string
	}{
		{"a plain hostname gets single backticks", "node1", false, "`node1`"},
		{"a backtick inside needs a longer fence", "a`b", false, "``a`b``"},
		{"a run of backticks needs a fence longer than the run", "a``b", false, "```a``b```"},
		{"a backtick at an edge is padded", "`a", false, "`` `a ``"},
		{"a leading space survives the stripping of one", " a", false, "`  a `"},
		{"a pipe in a table cell is escaped", "z|1", true, "`z\\|1`"},
		{"a pipe outside a table is left alone", "z|1", false, "`z|1`"},
		{"a newline becomes a replacement character", "a\nb", false, "`a\uFFFDb`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mdCode(tt.in, tt.inTable); got != tt.want {
				t.Errorf("mdCode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMarkdownProseIsEscaped(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain words are untouched", "zone a wants 2 managers", "zone a wants 2 managers"},
		{"links cannot form", "[x](http://e)", `\[x\](http://e)`},
		{"html cannot form", "<b>&amp;", `\<b\>\&amp;`},
		{"emphasis and code cannot form", "*a* _b_ `c`", "\\*a\\* \\_b\\_ \\`c\\`"},
		{"mentions, math, strikethrough and cells are escaped", "@team $x$ ~y~ a|b", `\@team \$x\$ \~y\~ a\|b`},
		{"a backslash is escaped itself", `a\b`, `a\\b`},
		{"a hash cannot start a heading", "# h", `\# h`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mdText(tt.in); got != tt.want {
				t.Errorf("mdText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func hostilePlan(t *testing.T) *reconcile.Plan {
	t.Helper()
	for _, ex := range examples {
		if ex.name == "hostile-names" {
			return &ex.plan
		}
	}
	t.Fatal("no hostile-names example")
	return nil
}

func TestNoFormatPassesControlCharactersThrough(t *testing.T) {
	for _, f := range []Format{FormatText, FormatMarkdown} {
		t.Run(f.String(), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, f, hostilePlan(t)); err != nil {
				t.Fatal(err)
			}
			for i, r := range buf.String() {
				if r != '\n' && unicode.IsControl(r) {
					t.Fatalf("control character %U at byte %d", r, i)
				}
			}
			if strings.Contains(buf.String(), "\nsecond-line") {
				t.Error("a newline in a hostname started a new output line")
			}
		})
	}
}

func TestMarkdownKeepsHostileNamesInCodeSpans(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, FormatMarkdown, hostilePlan(t)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"`evil|*host*_[link](http://x)@admin`",
		"(`` `id|x ``, zone `z|1`)",
		"| Managers in zone `z\\|1` | 2 | 3 |",
		`\<b\>html\</b\> \& \$math\$ \~strike\~`,
		"- first line\\\n  \\# not a heading",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}
