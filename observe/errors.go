package observe

import (
	"errors"
	"fmt"
)

// ErrInvalidSnapshot is wrapped by every error about nodes that cannot be planned from.
var ErrInvalidSnapshot = errors.New("observe: invalid snapshot")

// NodeError says which node of a snapshot is wrong, and where.
type NodeError struct {
	// Index is the node's position in the input, from 0.
	Index int
	// ID and Hostname are empty when the input did not tell them.
	ID       string
	Hostname string
	// Field is the path inside the node as the daemon spells it, e.g. "Spec.Role".
	Field string
	// Problem says what is wrong with the field.
	Problem string
}

func (e *NodeError) Error() string {
	who := fmt.Sprintf("node [%d]", e.Index)
	switch {
	case e.ID != "" && e.Hostname != "":
		who += fmt.Sprintf(" (ID %q, hostname %q)", e.ID, e.Hostname)
	case e.ID != "":
		who += fmt.Sprintf(" (ID %q)", e.ID)
	case e.Hostname != "":
		who += fmt.Sprintf(" (hostname %q)", e.Hostname)
	}
	if e.Field == "" {
		return fmt.Sprintf("%v: %s: %s", ErrInvalidSnapshot, who, e.Problem)
	}
	return fmt.Sprintf("%v: %s: %s: %s", ErrInvalidSnapshot, who, e.Field, e.Problem)
}

// Unwrap lets callers match any NodeError with errors.Is(err, ErrInvalidSnapshot).
func (e *NodeError) Unwrap() error { return ErrInvalidSnapshot }
