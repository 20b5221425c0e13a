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
	enc := json.NewEncoder(buf)
	enc.SetIndent("", "  ")
	// Reasons hold '<' and '&' often enough; nobody embeds this in HTML.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&q); err != nil {
		return fmt.Errorf("encoding plan: %w", err)
	}
	return nil
}
