package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// Format is an output format, as given to `-o`.
type Format string

// The formats Write knows.
const (
	FormatText     Format = "text"
	FormatJSON     Format = "json"
	FormatMarkdown Format = "markdown"
)

var (
	// ErrUnknownFormat is returned for a format Write does not know.
	ErrUnknownFormat = errors.New("render: unknown output format")
	// ErrNoPlan is returned when Write is given a nil plan.
	ErrNoPlan = errors.New("render: no plan")
)

// Formats returns every format, in the order help text lists them.
func Formats() []Format { return []Format{FormatText, FormatJSON, FormatMarkdown} }

func (f Format) String() string { return string(f) }

// ParseFormat returns the format named s, or an error naming s and the formats there are.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if s == string(f) {
			return f, nil
		}
	}
	return "", fmt.Errorf("%w %q; want %s", ErrUnknownFormat, s, formatList())
}

func formatList() string {
	names := make([]string, 0, len(Formats()))
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Write prints p to w in the given format.
func Write(w io.Writer, format Format, p *reconcile.Plan) error {
	if p == nil {
		return ErrNoPlan
	}
	var buf bytes.Buffer
	switch format {
	case FormatText:
		writeText(&buf, p)
	case FormatJSON:
		if err := writeJSON(&buf, p); err != nil {
			return err
		}
	case FormatMarkdown:
		writeMarkdown(&buf, p)
	default:
		return fmt.Errorf("%w %q; want %s", ErrUnknownFormat, string(format), formatList())
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing plan: %w", err)
	}
	return nil
}
