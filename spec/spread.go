package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

const spreadWant = `want "auto", a shorthand such as "2-2-1", or a map of zone to count`

// String writes the spread as it would appear in a file: auto, 2-2-1, or eu-1a=2,eu-1b=1.
func (s Spread) String() string {
	switch s.Mode {
	case SpreadShorthand:
		return joinCounts(s.Counts)
	case SpreadExplicit:
		parts := make([]string, 0, len(s.Zones))
		for _, z := range slices.Sorted(maps.Keys(s.Zones)) {
			parts = append(parts, fmt.Sprintf("%s=%d", z, s.Zones[z]))
		}
		return strings.Join(parts, ",")
	}
	return "auto"
}

// Total is the number of managers the spread places; 0 for auto, which places whatever the count says.
func (s Spread) Total() int {
	total := 0
	for _, c := range s.Counts {
		total += c
	}
	for _, c := range s.Zones {
		total += c
	}
	return total
}

func joinCounts(counts []int) string {
	parts := make([]string, len(counts))
	for i, c := range counts {
		parts[i] = strconv.Itoa(c)
	}
	return strings.Join(parts, "-")
}

// MarshalJSON writes "auto", the shorthand string, or the zone map.
func (s Spread) MarshalJSON() ([]byte, error) {
	switch s.Mode {
	case SpreadShorthand:
		return json.Marshal(joinCounts(s.Counts))
	case SpreadExplicit:
		zones := s.Zones
		if zones == nil {
			zones = map[string]int{}
		}
		return json.Marshal(zones)
	}
	return json.Marshal("auto")
}

// UnmarshalJSON reads "auto", a shorthand such as "2-2-1", or an object of zone to count. It
// checks syntax only; whether the counts fit spec.managers.count is Validate's business.
func (s *Spread) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		return nil
	case len(data) > 0 && data[0] == '"':
		var str string
		if err := json.Unmarshal(data, &str); err != nil {
			return fmt.Errorf("reading spread: %w", err)
		}
		parsed, err := ParseSpread(str)
		if err != nil {
			return err
		}
		*s = parsed
		return nil
	case len(data) > 0 && data[0] == '{':
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			return fmt.Errorf("reading spread: %w", err)
		}
		zones := make(map[string]int, len(raw))
		for _, z := range slices.Sorted(maps.Keys(raw)) {
			var n int
			if err := json.Unmarshal(raw[z], &n); err != nil {
				return fmt.Errorf("zone %q: want a whole number of managers, got %s", z, raw[z])
			}
			zones[z] = n
		}
		*s = Spread{Mode: SpreadExplicit, Zones: zones}
		return nil
	}
	return fmt.Errorf("%s, got %s", spreadWant, data)
}

// ParseSpread reads the string form of a spread: "auto" or a shorthand of counts 1..9 joined by
// '-', such as "2-2-1". The counts are kept largest first.
func ParseSpread(str string) (Spread, error) {
	if str == "auto" {
		return Spread{Mode: SpreadAuto}, nil
	}
	if str == "" {
		return Spread{}, errors.New("empty; " + spreadWant)
	}
	parts := strings.Split(str, "-")
	counts := make([]int, len(parts))
	for i, p := range parts {
		if len(p) == 1 && p[0] >= '1' && p[0] <= '9' {
			counts[i] = int(p[0] - '0')
			continue
		}
		var why string
		n, err := strconv.Atoi(p)
		switch {
		case p == "":
			why = "is empty"
		case err != nil:
			why = fmt.Sprintf("%q is not a number", p)
		case n < 1:
			why = fmt.Sprintf("is %s; each zone needs at least 1 manager", p)
		default:
			why = fmt.Sprintf("is %s; write each count as one digit 1..%d", p, MaxManagers)
		}
		return Spread{}, fmt.Errorf("%q is malformed: part %d %s; %s", str, i+1, why, spreadWant)
	}
	slices.SortFunc(counts, func(a, b int) int { return b - a })
	return Spread{Mode: SpreadShorthand, Counts: counts}, nil
}

// MarshalJSON writes the duration as a Go duration string such as "5m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON reads a Go duration string such as "90s" or "5m".
func (d *Duration) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	var str string
	if err := json.Unmarshal(data, &str); err != nil {
		return fmt.Errorf("want a duration such as \"90s\" or \"5m\", got %s", data)
	}
	v, err := time.ParseDuration(str)
	if err != nil {
		return fmt.Errorf("%q is not a duration; write it like \"90s\", \"5m\" or \"1h30m\"", str)
	}
	d.Duration = v
	return nil
}
