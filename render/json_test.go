package render

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

var fixedZone = time.FixedZone("CET", 3600)

// jsonCases are every example plus the empty plan, the shape most likely to print a null.
func jsonCases() map[string]reconcile.Plan {
	cases := map[string]reconcile.Plan{"the empty plan": {}}
	for _, ex := range examples {
		cases[ex.name] = ex.plan
	}
	return cases
}

func TestJSONIsExactlyOneObject(t *testing.T) {
	for name, plan := range jsonCases() {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, FormatJSON, &plan); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(buf.Bytes(), []byte("}\n")) {
				t.Errorf("output does not end in a closing brace and a newline: %q", buf.Bytes()[max(0, buf.Len()-10):])
			}
			dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil {
				t.Fatalf("decoding: %v", err)
			}
			if _, err := dec.Token(); err != io.EOF {
				t.Errorf("something follows the object: %v", err)
			}
			keys := slices.Sorted(maps.Keys(obj))
			want := []string{"after", "before", "blocked", "floor", "lowestFaultTolerance", "steps", "time", "warnings"}
			if len(plan.InFlight) > 0 {
				want = []string{"after", "before", "blocked", "floor", "inFlight", "lowestFaultTolerance", "steps", "time", "warnings"}
			}
			if len(plan.Unmet) > 0 {
				// Present only when the file cannot be met, so plans that meet it read as before.
				want = slices.Insert(slices.Clone(want), len(want)-1, "unmet")
			}
			if !reflect.DeepEqual(keys, want) {
				t.Errorf("keys = %v, want %v", keys, want)
			}
			for _, k := range []string{"steps", "warnings"} {
				if _, ok := obj[k].([]any); !ok {
					t.Errorf("%s = %#v, want a list", k, obj[k])
				}
			}
			for _, k := range []string{"before", "after"} {
				s, _ := obj[k].(map[string]any)
				if _, ok := s["zones"].(map[string]any); !ok {
					t.Errorf("%s.zones = %#v, want an object", k, s["zones"])
				}
			}
			if _, ok := obj["blocked"].(string); !ok {
				t.Errorf("blocked = %#v, want a string", obj["blocked"])
			}
		})
	}
}

func TestJSONDecodesBackToThePlan(t *testing.T) {
	for name, plan := range jsonCases() {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, FormatJSON, &plan); err != nil {
				t.Fatal(err)
			}
			var got reconcile.Plan
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			want := plan
			want.Steps = append([]reconcile.Step{}, plan.Steps...)
			want.Warnings = append([]string{}, plan.Warnings...)
			for _, s := range []*reconcile.Summary{&want.Before, &want.After} {
				if s.Zones == nil {
					s.Zones = map[string]int{}
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded plan differs:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestWritingLeavesThePlanAlone(t *testing.T) {
	p := reconcile.Plan{Blocked: "x"}
	for _, f := range Formats() {
		if err := Write(io.Discard, f, &p); err != nil {
			t.Fatal(err)
		}
	}
	if p.Steps != nil || p.Warnings != nil || p.Before.Zones != nil {
		t.Errorf("Write changed the plan: %+v", p)
	}
}

// The plan's JSON is indented by hand for speed; it must be what encoding/json's indent gives.
func TestIndentJSONIsEncodingJSONIndent(t *testing.T) {
	inputs := []string{`{}`, `[]`, `{"a":[],"b":{},"c":[1,{"d":"x,y:{}[]\"\\"}],"e":null}`, `"\u2028"`, `[[],[[]],{"":""}]`}
	for _, plan := range jsonCases() {
		b, err := json.Marshal(plan)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		var want bytes.Buffer
		if err := json.Indent(&want, []byte(in+"\n"), "", "  "); err != nil {
			t.Fatal(err)
		}
		if got := indentJSON(nil, []byte(in+"\n")); string(got) != want.String() {
			t.Errorf("indentJSON(%s)\n got %s\nwant %s", in, got, want.String())
		}
	}
}
