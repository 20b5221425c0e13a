package spec

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSpreadUnmarshalJSON(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    Spread
		wantErr string
	}{
		{"auto is auto", `"auto"`, Spread{Mode: SpreadAuto}, ""},
		{"null leaves the zero spread, which is auto", `null`, Spread{}, ""},
		{"a shorthand is sorted largest first", `"1-3-2"`, Spread{Mode: SpreadShorthand, Counts: []int{3, 2, 1}}, ""},
		{"a single part is a shorthand", `"5"`, Spread{Mode: SpreadShorthand, Counts: []int{5}}, ""},
		{"an object is an explicit spread", `{"a":2,"b":1}`, Spread{Mode: SpreadExplicit, Zones: map[string]int{"a": 2, "b": 1}}, ""},
		{"an explicit count of zero is left for Validate", `{"a":0}`, Spread{Mode: SpreadExplicit, Zones: map[string]int{"a": 0}}, ""},
		{"Auto in capitals is refused", `"Auto"`, Spread{}, `"Auto" is malformed: part 1 "Auto" is not a number`},
		{"a trailing dash is refused", `"2-2-"`, Spread{}, `"2-2-" is malformed: part 3 is empty`},
		{"a leading dash is refused", `"-2"`, Spread{}, `"-2" is malformed: part 1 is empty`},
		{"a zero part is refused", `"0-3"`, Spread{}, `"0-3" is malformed: part 1 is 0`},
		{"spaces are refused", `"2 - 1"`, Spread{}, `"2 - 1" is malformed: part 1 "2 " is not a number`},
		{"another separator is refused", `"2,2,1"`, Spread{}, `"2,2,1" is malformed: part 1 "2,2,1" is not a number`},
		{"a number is refused", `5`, Spread{}, `want "auto", a shorthand such as "2-2-1", or a map of zone to count, got 5`},
		{"a list is refused", `[2,1]`, Spread{}, `want "auto"`},
		{"a fractional zone count is refused", `{"a":1.5}`, Spread{}, `zone "a": want a whole number of managers, got 1.5`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Spread
			err := json.Unmarshal([]byte(tt.json), &got)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestSpreadMarshalJSONRoundTrips(t *testing.T) {
	tests := []struct {
		name   string
		spread Spread
		json   string
	}{
		{"the zero spread is auto", Spread{}, `"auto"`},
		{"a shorthand is joined with dashes", Spread{Mode: SpreadShorthand, Counts: []int{3, 3, 3}}, `"3-3-3"`},
		{"an explicit spread is an object", Spread{Mode: SpreadExplicit, Zones: map[string]int{"eu-1a": 2, "eu-1b": 1}}, `{"eu-1a":2,"eu-1b":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(tt.spread)
			if err != nil || string(data) != tt.json {
				t.Fatalf("Marshal = %s, %v; want %s", data, err, tt.json)
			}
			var back Spread
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.spread) {
				t.Errorf("round trip gave %#v, want %#v", back, tt.spread)
			}
		})
	}
}

func TestSpreadStringAndTotal(t *testing.T) {
	tests := []struct {
		name   string
		spread Spread
		str    string
		total  int
	}{
		{"auto places nothing by itself", Spread{}, "auto", 0},
		{"a shorthand adds its parts", Spread{Mode: SpreadShorthand, Counts: []int{2, 2, 1}}, "2-2-1", 5},
		{"an explicit spread lists zones sorted", Spread{Mode: SpreadExplicit, Zones: map[string]int{"b": 1, "a": 2}}, "a=2,b=1", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.spread.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			if got := tt.spread.Total(); got != tt.total {
				t.Errorf("Total() = %d, want %d", got, tt.total)
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    time.Duration
		wantErr string
	}{
		{"minutes", `"5m"`, 5 * time.Minute, ""},
		{"compound", `"1h30m"`, 90 * time.Minute, ""},
		{"fractions", `"1.5s"`, 1500 * time.Millisecond, ""},
		{"a unitless number is refused", `300`, 0, "want a duration such as"},
		{"words are refused", `"five minutes"`, 0, `"five minutes" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Duration
			err := json.Unmarshal([]byte(tt.json), &d)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || d.Duration != tt.want {
				t.Fatalf("got %v, %v; want %v", d.Duration, err, tt.want)
			}
			data, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			var back Duration
			if err := json.Unmarshal(data, &back); err != nil || back != d {
				t.Errorf("round trip through %s gave %v, %v", data, back, err)
			}
		})
	}
	if data, _ := json.Marshal(Duration{5 * time.Minute}); string(data) != `"5m0s"` {
		t.Errorf("Marshal(5m) = %s, want \"5m0s\"", data)
	}
}
