// Package render prints a reconcile.Plan for people and programs: text for a terminal runbook,
// JSON for scripts (always one object), and markdown for a pull-request comment.
//
// Every format is built in memory and written with one call, so a failing writer never leaves
// half a plan behind, and map keys are always sorted so the same plan prints the same bytes.
package render
