package observe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// inspectNode holds the parts of a `docker node inspect` entry that the planner uses.
//
// Entries are not decoded into swarm.Node directly: that type would also insist on the format of
// fields nobody here reads (timestamps, TLS keys, CSI info), so a snapshot from a newer engine
// could be refused for something irrelevant. This mirror is filled first and then turned into a
// swarm.Node, so FromSwarm stays the one conversion.
type inspectNode struct {
	ID      string
	Version struct {
		// A json.Number, not uint64, so a negative or fractional index gets a clear error.
		Index json.Number
	}
	Spec struct {
		Labels       map[string]string
		Role         string
		Availability string
	}
	Description struct {
		Hostname string
	}
	Status struct {
		State string
		Addr  string
	}
	ManagerStatus *struct {
		Leader       bool
		Reachability string
		Addr         string
	}
}

// ParseInspect reads the JSON array that `docker node inspect $(docker node ls -q)` prints
// (Engine 20.10 through 28.x) into a snapshot. Snapshot.Self and Snapshot.Time stay zero: the
// file does not tell them, the caller sets them. Errors wrap ErrInvalidSnapshot and name the node
// and field; fields the planner does not use are not checked, since engines keep adding some.
func ParseInspect(data []byte) (reconcile.Snapshot, error) {
	// Windows shells like to add a byte order mark when output is redirected to a file.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.HasPrefix(data, []byte("\xff\xfe")) || bytes.HasPrefix(data, []byte("\xfe\xff")) {
		return reconcile.Snapshot{}, fmt.Errorf("%w: the file is UTF-16 text; save it as UTF-8", ErrInvalidSnapshot)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return reconcile.Snapshot{}, fmt.Errorf("%w: empty input; want the JSON array `docker node inspect` prints", ErrInvalidSnapshot)
	}
	if trimmed[0] != '[' {
		return reconcile.Snapshot{}, fmt.Errorf("%w: not a JSON array (starts with %s); want the array `docker node inspect` prints", ErrInvalidSnapshot, describeStart(trimmed))
	}
	if nodes, ok := decodeAll(data); ok {
		return FromSwarm(nodes, "", time.Time{})
	}
	// The slow path: entry by entry, so that an error names the entry and its field.
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return reconcile.Snapshot{}, fmt.Errorf("%w: %s", ErrInvalidSnapshot, describeJSONError(data, err))
	}
	if len(raw) == 0 {
		return reconcile.Snapshot{}, fmt.Errorf("%w: the array has no nodes", ErrInvalidSnapshot)
	}
	nodes := make([]swarm.Node, len(raw))
	for i, r := range raw {
		n, err := decodeNode(i, r)
		if err != nil {
			return reconcile.Snapshot{}, err
		}
		nodes[i] = n
	}
	return FromSwarm(nodes, "", time.Time{})
}

// decodeAll decodes the whole array in one go, which is what a good snapshot costs: a quarter
// of the passes over the bytes that decoding entry by entry takes. It reports false for any
// problem, and ParseInspect then decodes entry by entry to say which entry has it.
func decodeAll(data []byte) ([]swarm.Node, bool) {
	var ins []*inspectNode
	if json.Unmarshal(data, &ins) != nil || len(ins) == 0 {
		return nil, false
	}
	nodes := make([]swarm.Node, len(ins))
	for i, in := range ins {
		if in == nil { // a null entry: not a node
			return nil, false
		}
		n, err := toSwarm(i, in)
		if err != nil {
			return nil, false
		}
		nodes[i] = n
	}
	return nodes, true
}

func decodeNode(i int, r json.RawMessage) (swarm.Node, error) {
	if len(r) == 0 || r[0] != '{' {
		return swarm.Node{}, &NodeError{Index: i, Problem: "not a JSON object (starts with " + describeStart(r) + ")"}
	}
	var in inspectNode
	if err := json.Unmarshal(r, &in); err != nil {
		id, host := identify(r)
		ne := &NodeError{Index: i, ID: id, Hostname: host, Problem: err.Error()}
		if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) {
			ne.Field, ne.Problem = te.Field, fmt.Sprintf("JSON %s where %s belongs", te.Value, jsonKind(te.Type.Kind()))
			if te.Field == "Spec.Labels" && te.Type.Kind() == reflect.String {
				// encoding/json stops the path at the map; name the label.
				ne.Field += "." + badLabel(r)
			}
		}
		return swarm.Node{}, ne
	}
	return toSwarm(i, &in)
}

// toSwarm turns a decoded entry into the client's node type.
func toSwarm(i int, in *inspectNode) (swarm.Node, error) {
	var version uint64
	if in.Version.Index != "" {
		v, err := strconv.ParseUint(in.Version.Index.String(), 10, 64)
		if err != nil {
			return swarm.Node{}, &NodeError{Index: i, ID: in.ID, Hostname: in.Description.Hostname, Field: "Version.Index",
				Problem: fmt.Sprintf("%s is not a whole number from 0 to 2^64-1", in.Version.Index)}
		}
		version = v
	}
	n := swarm.Node{
		ID:   in.ID,
		Meta: swarm.Meta{Version: swarm.Version{Index: version}},
		Spec: swarm.NodeSpec{
			Annotations:  swarm.Annotations{Labels: in.Spec.Labels},
			Role:         swarm.NodeRole(in.Spec.Role),
			Availability: swarm.NodeAvailability(in.Spec.Availability),
		},
		Description: swarm.NodeDescription{Hostname: in.Description.Hostname},
		Status:      swarm.NodeStatus{State: swarm.NodeState(in.Status.State), Addr: in.Status.Addr},
	}
	if ms := in.ManagerStatus; ms != nil {
		n.ManagerStatus = &swarm.ManagerStatus{Leader: ms.Leader, Reachability: swarm.Reachability(ms.Reachability), Addr: ms.Addr}
	}
	return n, nil
}

// identify digs out a broken entry's ID and hostname, if it has them, so the error can name it.
func identify(r json.RawMessage) (id, hostname string) {
	var top map[string]json.RawMessage
	if json.Unmarshal(r, &top) != nil {
		return "", ""
	}
	var desc map[string]json.RawMessage
	_ = json.Unmarshal(top["ID"], &id)
	_ = json.Unmarshal(top["Description"], &desc)
	_ = json.Unmarshal(desc["Hostname"], &hostname)
	return id, hostname
}

// badLabel returns the first label key, in sorted order, whose value is not a string.
func badLabel(r json.RawMessage) string {
	var n struct {
		Spec struct{ Labels map[string]any }
	}
	_ = json.Unmarshal(r, &n)
	for _, k := range slices.Sorted(maps.Keys(n.Spec.Labels)) {
		if _, ok := n.Spec.Labels[k].(string); !ok {
			return k
		}
	}
	return "?"
}

// jsonKind names a Go kind the way a person reading the JSON thinks of it.
func jsonKind(kind reflect.Kind) string {
	switch kind {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "a number"
}

// describeStart shows how a JSON value starts, to say what was given instead.
func describeStart(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "'{', an object"
	case '"':
		return "'\"', a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '[':
		return "'[', an array"
	}
	if b[0] == '-' || b[0] >= '0' && b[0] <= '9' {
		return "a number"
	}
	return strconv.QuoteRune(rune(b[0]))
}

// describeJSONError adds a line and column to syntax errors, which encoding/json gives only as
// a byte offset.
func describeJSONError(data []byte, err error) string {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err.Error()
	}
	off := min(int(se.Offset), len(data))
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Sprintf("line %d, column %d: %v", line, col, err)
}
