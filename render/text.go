package render

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// writeText prints p as a runbook a person could follow by hand.
func writeText(b *bytes.Buffer, p *reconcile.Plan) {
	fmt.Fprintf(b, "Plan: %s", verdict(p))
	if !p.Time.IsZero() {
		fmt.Fprintf(b, " (swarm as of %s)", p.Time.UTC().Format(time.RFC3339))
	}
	b.WriteString("\n")

	if p.Blocked != "" {
		b.WriteString("\nBlocked: ")
		b.WriteString(indentLines(clean(strings.TrimSpace(p.Blocked), true), "  "))
		b.WriteString("\n")
	}
	textSummary(b, p)

	if len(p.InFlight) > 0 {
		b.WriteString("\nIn flight:\n")
		for _, f := range p.InFlight {
			fmt.Fprintf(b, "  - waiting for %s %s\n", textNode(f.Hostname, f.Node, ""), becoming(f))
		}
	}
	if len(p.Steps) > 0 {
		b.WriteString("\nSteps:\n")
		textSteps(b, p.Steps)
	}
	if len(p.Unmet) > 0 {
		b.WriteString("\nCannot be met (the swarm does not match the file once this is done):\n")
		for _, w := range p.Unmet {
			fmt.Fprintf(b, "  - %s\n", indentLines(clean(w, true), "    "))
		}
	}
	if ws := otherWarnings(p); len(ws) > 0 {
		b.WriteString("\nWarnings:\n")
		for _, w := range ws {
			fmt.Fprintf(b, "  - %s\n", indentLines(clean(w, true), "    "))
		}
	}
}

func textSummary(b *bytes.Buffer, p *reconcile.Plan) {
	// A swarm always has a manager; none means the snapshot could not list the nodes at all.
	if p.Before.Managers == 0 && p.After.Managers == 0 {
		return
	}
	b.WriteString("\n")
	if !hasSteps(p) {
		fmt.Fprintf(b, "Fault tolerance:  %s\n", faultTolerance(p.Before.FaultTolerance))
		fmt.Fprintf(b, "Managers:         %s\n", managers(p.Before, ""))
	} else {
		fmt.Fprintf(b, "Fault tolerance:  %s before, lowest %s during (floor %d), %s after\n",
			faultTolerance(p.Before.FaultTolerance), faultTolerance(p.LowestFaultTolerance), p.Floor,
			faultTolerance(p.After.FaultTolerance))
		fmt.Fprintf(b, "Managers:         %s, %s\n", managers(p.Before, " before"), managers(p.After, " after"))
	}
	zs := zones(p.Before, p.After)
	if len(zs) == 0 {
		return
	}
	width := 0
	for _, z := range zs {
		// fmt pads by runes, not bytes.
		width = max(width, utf8.RuneCountInString(textZone(z)))
	}
	b.WriteString("Managers by zone:\n")
	for _, z := range zs {
		if hasSteps(p) {
			fmt.Fprintf(b, "  %-*s  %d → %d\n", width, textZone(z), p.Before.Zones[z], p.After.Zones[z])
		} else {
			fmt.Fprintf(b, "  %-*s  %d\n", width, textZone(z), p.Before.Zones[z])
		}
	}
}

// managers spells a manager count and how many are reachable, with when after the count.
func managers(s reconcile.Summary, when string) string {
	if s.Reachable == s.Managers {
		return fmt.Sprintf("%d%s (all reachable)", s.Managers, when)
	}
	return fmt.Sprintf("%d%s (%d reachable)", s.Managers, when, s.Reachable)
}

func textSteps(b *bytes.Buffer, steps []reconcile.Step) {
	numWidth, actionWidth := len(fmt.Sprint(len(steps))), 0
	for _, s := range steps {
		actionWidth = max(actionWidth, len(s.Action))
	}
	for i, s := range steps {
		line := fmt.Sprintf("%*d. %-*s %s", numWidth, i+1, actionWidth, s.Action, textNode(s.Hostname, s.Node, s.Zone))
		if edits := s.Labels.Edits(); len(edits) > 0 {
			line += " " + clean(strings.Join(edits, " "), false)
		}
		if s.Reason != "" {
			line += " — " + clean(s.Reason, false)
		}
		fmt.Fprintf(b, "  %s\n", line)
		if s.Action.IsRoleChange() {
			fmt.Fprintf(b, "  %*s  fault tolerance afterwards: %s\n", numWidth, "", faultTolerance(s.FaultTolerance))
		}
		if s.Tasks != nil {
			fmt.Fprintf(b, "  %*s  moves %d task(s)\n", numWidth, "", *s.Tasks)
		}
	}
}

// textNode names a node as "hostname (shortid, zone z)".
func textNode(hostname, id, zone string) string {
	var paren []string
	if id != "" {
		paren = append(paren, clean(shortID(id), false))
	}
	if zone != "" {
		paren = append(paren, "zone "+clean(zone, false))
	}
	name := clean(hostname, false)
	switch {
	case name == "" && len(paren) > 0:
		// A node that never reported a hostname is known by its ID alone.
		name, paren = paren[0], paren[1:]
	case name == "":
		name = "(unnamed node)"
	}
	if len(paren) == 0 {
		return name
	}
	return name + " (" + strings.Join(paren, ", ") + ")"
}

func textZone(z string) string {
	if z == "" {
		return "(no zone)"
	}
	return clean(z, false)
}

// indentLines indents every line after the first, so a multi-line reason stays in its block.
func indentLines(s, indent string) string {
	return strings.ReplaceAll(s, "\n", "\n"+indent)
}
