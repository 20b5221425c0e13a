// Package controller owns the IO of swarmtopo: it observes a swarm through the Docker API,
// asks the pure planner (package reconcile) what to do, and applies the plan one step at a
// time, waiting for every step to settle before it looks again.
//
// One pass (Controller.Reconcile) is made of named phases that each may end it: observe once
// and plan; preflight (blocked, dry run, standing by, a role change still in flight, nodes shown
// unknown); apply only the first step and wait for it to settle; outcome. Its Result reads like
// controller-runtime's: an error wins, otherwise RequeueNow, RequeueAfter or the next event or
// resync; standing by is Result.Standby, not an error. What a pass leaves for the next one is
// in one place (memory.go). What each action means (its spec, its effect on the quorum model,
// when it has settled, the advice when it does not) is reconcile's action table. Run loops over
// passes, woken by node events, a resync timer and backoff; Once applies until the swarm has
// converged or the plan is blocked. The swarm behaviour all this relies on is described, with
// the evidence, in docs/swarm-behaviour.md.
//
// Safety does not rest on the plan alone: every promote, demote and remove is re-checked with
// reconcile.CheckStep against a fresh observation just before the call, and every update sends
// the node version it was read with, so a change made by someone else in between is refused by
// the daemon instead of overwritten. In dry-run mode the controller holds no handle that can
// mutate the swarm at all.
//
// Several instances may run against one swarm (a service on every manager). Options.Gate, with
// LeaderGate, lets only the instance on the raft leader act: it is asked once per pass and again
// immediately before every mutating call, and the others stand by (Result.Standby) without
// backoff.
package controller
