package spec

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalid matches (with errors.Is) every ErrorList, so callers can tell a bad topology file from
// a failure to read one.
var ErrInvalid = errors.New("spec: invalid topology")

// FieldError is one problem with a topology, located as precisely as the YAML allows.
type FieldError struct {
	// File is the name given to Parse; empty when a value was validated directly.
	File string
	// Line is 1-based; 0 when unknown.
	Line int
	// Field is the path of the field, such as spec.managers.count or spec.labels[0].set["a.b"];
	// empty for problems with the file as a whole.
	Field string
	// Msg says what is wrong and, where it can, what to do about it.
	Msg string
}

// Error formats the error as "file:line: field: msg", leaving out the parts that are unknown.
func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList holds every problem found in a topology. Parse and Validate return all of them at
// once so that a user can fix a file in one go.
type ErrorList []*FieldError

// Error joins the errors one per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As reach each *FieldError.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// Is reports whether target is ErrInvalid.
func (l ErrorList) Is(target error) bool { return target == ErrInvalid }

// sortByLine orders errors as they appear in the file; errors without a line keep their place
// relative to each other and come first, since they concern the file as a whole.
func (l ErrorList) sortByLine() {
	slices.SortStableFunc(l, func(a, b *FieldError) int { return cmp.Compare(a.Line, b.Line) })
}

// Field paths. Map keys that would be ambiguous after a dot are quoted, as kubectl does:
// spec.labels[0].set["example.com/tier"].

func joinField(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func keyField(parent, key string) string {
	if key == "" || strings.ContainsAny(key, " \t\r\n.[]\"") {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	return joinField(parent, key)
}

func indexField(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// fieldPrefixes returns the paths that lead to path, longest first, path itself included. It
// understands quoted keys so that a dot inside a key does not start a new segment.
func fieldPrefixes(path string) []string {
	var ends []int
	for i := 0; i < len(path); {
		switch path[i] {
		case '.':
			ends = append(ends, i)
			i++
		case '[':
			ends = append(ends, i)
			if i+1 < len(path) && path[i+1] == '"' {
				q, err := strconv.QuotedPrefix(path[i+1:])
				if err != nil {
					// Not a path we built; fall back to what we have.
					i = len(path)
					continue
				}
				i += 1 + len(q)
			} else {
				i++
			}
		default:
			i++
		}
	}
	out := []string{path}
	for j := len(ends) - 1; j >= 0; j-- {
		if ends[j] > 0 {
			out = append(out, path[:ends[j]])
		}
	}
	return append(out, "")
}
