// Package chaos generates randomized fault scenarios for swarms built in the lab, and turns the
// results of running them into figures.
//
// A scenario is a lab shape (nodes, zones, managers at start, engines), a target topology for the
// operator, and a few faults: node faults (kill -9, SIGTERM, SIGSTOP, a link down), a split of
// the managers into a minority and a majority island, operator faults (an instance killed at a
// given moment, its Docker socket gone), a human editing the swarm through the docker CLI, and a
// new topology file arriving while a plan runs. Generate and Plan are deterministic: a scenario
// depends only on the seed, its index and its primary fault kind, never on the other scenarios of
// the run, so that one failing scenario can be replayed alone by its ID.
//
// This package runs nothing: a runner builds the lab, resolves each fault's Target at run time,
// measures, and records a Result per scenario (WriteJSONL). Table reads many of them into the
// Markdown table the README shows, and RoleBound gives the fewest role changes a scenario needs,
// computed with the real planner, to compare with the role changes measured.
package chaos
