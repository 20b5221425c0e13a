package render

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// writeJSON prints p in reconcile.Plan's own JSON shape, with empty lists and maps spelled []
// and {} rather than null so scripts can index them without checking.
func writeJSON(buf *bytes.Buffer, p *reconcile.Plan) error {
	q := *p
	if q.Steps == nil {
		q.Steps = []reconcile.Step{}
	}
	if q.Warnings == nil {
		q.Warnings = []string{}
	}
	if q.Before.Zones == nil {
		q.Before.Zones = map[string]int{}
	}
	if q.After.Zones == nil {
		q.After.Zones = map[string]int{}
	}
	var compact bytes.Buffer
	enc := json.NewEncoder(&compact)
	// Reasons hold '<' and '&' often enough; nobody embeds this in HTML.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&q); err != nil {
		return fmt.Errorf("encoding plan: %w", err)
	}
	buf.Grow(compact.Len() * 2)
	buf.Write(indentJSON(buf.AvailableBuffer(), compact.Bytes()))
	return nil
}

// indentJSON appends src, compact JSON as encoding/json writes it, indented by two spaces the
// way Encoder.SetIndent("", "  ") indents it: empty objects and arrays stay {} and [].
// encoding/json indents with a general scanner, which costs more than encoding a large plan;
// compact input needs only to know whether it is inside a string.
func indentJSON(dst, src []byte) []byte {
	depth, open := 0, false // open: just after { or [, before knowing whether it is empty
	newline := func() {
		dst = append(dst, '\n')
		for range depth {
			dst = append(dst, "  "...)
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if open && c != '}' && c != ']' {
			open = false
			depth++
			newline()
		}
		switch c {
		case '"':
			// Copy the string up to its closing quote, escapes and all.
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			dst = append(dst, src[i:min(j+1, len(src))]...)
			i = j
		case '{', '[':
			dst = append(dst, c)
			open = true
		case '}', ']':
			if open {
				open = false
			} else {
				depth--
				newline()
			}
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, c, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
