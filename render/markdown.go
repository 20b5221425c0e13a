package render

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// writeMarkdown prints p as a pull-request comment: the same content as text, in GitHub
// flavoured markdown. Names from the swarm go into code spans and prose is escaped, so a
// hostile hostname cannot add links, mentions or table cells.
func writeMarkdown(b *bytes.Buffer, p *reconcile.Plan) {
	fmt.Fprintf(b, "### swarmtopo plan: %s\n", verdict(p))
	if !p.Time.IsZero() {
		fmt.Fprintf(b, "\nSwarm as of %s.\n", p.Time.UTC().Format(time.RFC3339))
	}
	if p.Blocked != "" {
		// GitHub shows this as a red callout; other renderers as a plain quote.
		b.WriteString("\n> [!CAUTION]\n")
		// Each line of the reason is its own paragraph: GitHub comments break lines where
		// markdown files would join them, and paragraphs read the same in both.
		for i, line := range strings.Split(clean(strings.TrimSpace(p.Blocked), true), "\n") {
			if i == 0 {
				fmt.Fprintf(b, "> **Blocked:** %s\n", mdText(line))
			} else {
				fmt.Fprintf(b, ">\n> %s\n", mdText(line))
			}
		}
	}
	markdownSummary(b, p)

	if len(p.InFlight) > 0 {
		b.WriteString("\n#### In flight\n\n")
		for _, f := range p.InFlight {
			fmt.Fprintf(b, "- Waiting for %s %s.\n", mdNode(f.Hostname, f.Node, ""), becoming(f))
		}
	}
	if len(p.Steps) > 0 {
		b.WriteString("\n#### Steps\n\n")
		for i, s := range p.Steps {
			line := fmt.Sprintf("%d. **%s** %s", i+1, mdText(string(s.Action)), mdNode(s.Hostname, s.Node, s.Zone))
			for _, e := range s.Labels.Edits() {
				line += " " + mdCode(e, false)
			}
			if s.Reason != "" {
				line += " — " + mdText(clean(s.Reason, false))
			}
			if s.Action.IsRoleChange() {
				line += fmt.Sprintf(" _(fault tolerance afterwards: %s)_", faultTolerance(s.FaultTolerance))
			}
			if s.Tasks != nil {
				line += fmt.Sprintf(" _(moves %d task(s))_", *s.Tasks)
			}
			b.WriteString(line + "\n")
		}
	}
	if len(p.Unmet) > 0 {
		b.WriteString("\n#### Cannot be met\n\nThe swarm does not match the file once this is done:\n\n")
		mdList(b, p.Unmet)
	}
	if ws := otherWarnings(p); len(ws) > 0 {
		b.WriteString("\n#### Warnings\n\n")
		mdList(b, ws)
	}
}

func mdList(b *bytes.Buffer, items []string) {
	for _, w := range items {
		lines := strings.Split(clean(w, true), "\n")
		for i := range lines {
			lines[i] = mdText(lines[i])
		}
		// A trailing backslash is a hard line break; the indent keeps the line in the item.
		fmt.Fprintf(b, "- %s\n", strings.Join(lines, "\\\n  "))
	}
}

func markdownSummary(b *bytes.Buffer, p *reconcile.Plan) {
	// A swarm always has a manager; none means the snapshot could not list the nodes at all.
	if p.Before.Managers == 0 && p.After.Managers == 0 {
		return
	}
	both := hasSteps(p)
	row := func(label, before, after string) {
		if both {
			fmt.Fprintf(b, "| %s | %s | %s |\n", label, before, after)
		} else {
			fmt.Fprintf(b, "| %s | %s |\n", label, before)
		}
	}
	if both {
		b.WriteString("\n|  | Before | After |\n| --- | ---: | ---: |\n")
	} else {
		// Nothing will change, so one column: now.
		b.WriteString("\n|  | Now |\n| --- | ---: |\n")
	}
	row("Managers", fmt.Sprint(p.Before.Managers), fmt.Sprint(p.After.Managers))
	row("Reachable managers", fmt.Sprint(p.Before.Reachable), fmt.Sprint(p.After.Reachable))
	row("Fault tolerance", faultTolerance(p.Before.FaultTolerance), faultTolerance(p.After.FaultTolerance))
	for _, z := range zones(p.Before, p.After) {
		label := "Managers without a zone"
		if z != "" {
			label = "Managers in zone " + mdCode(z, true)
		}
		row(label, fmt.Sprint(p.Before.Zones[z]), fmt.Sprint(p.After.Zones[z]))
	}
	if both {
		fmt.Fprintf(b, "\nLowest fault tolerance during the plan: **%s** (floor %d).\n",
			faultTolerance(p.LowestFaultTolerance), p.Floor)
	}
}

// mdNode names a node as `hostname` (`shortid`, zone `z`).
func mdNode(hostname, id, zone string) string {
	var paren []string
	if id != "" {
		paren = append(paren, mdCode(shortID(id), false))
	}
	if zone != "" {
		paren = append(paren, "zone "+mdCode(zone, false))
	}
	var name string
	switch {
	case hostname != "":
		name = mdCode(hostname, false)
	case len(paren) > 0:
		// A node that never reported a hostname is known by its ID alone.
		name, paren = paren[0], paren[1:]
	default:
		name = "_unnamed node_"
	}
	if len(paren) == 0 {
		return name
	}
	return name + " (" + strings.Join(paren, ", ") + ")"
}

// mdCode puts s in a code span that holds whatever s contains: the fence is longer than any
// run of backticks inside, and padded when s starts or ends with a backtick or space (CommonMark
// strips one space each side). In a table cell '|' must be escaped even inside code.
func mdCode(s string, inTable bool) string {
	s = clean(s, false)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	pad := ""
	if s == "" || strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		pad = " "
	}
	if inTable {
		s = strings.ReplaceAll(s, "|", `\|`)
	}
	return fence + pad + s + pad + fence
}

// mdSpecial are the characters that start markdown or GitHub syntax mid-line: emphasis, code,
// links, HTML and entities, tables, strikethrough, math, mentions and headings.
const mdSpecial = "\\`*_[]<>|~&$@#"

// mdText escapes prose (one line) so it renders as the same text.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(mdSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
