// Package controller owns the IO of swarmtopo: it observes a swarm through the Docker API,
// asks the pure planner (package reconcile) what to do, and applies the plan one step at a
// time, waiting for every step to settle before it looks again.
//
// One pass (Controller.Reconcile) observes once, plans, runs the preflight gate (blocked, or a
// role change still in flight), applies only the first step, waits for it to settle and asks to
// be requeued. Run loops over passes, woken by node events, a resync timer and backoff;
// Once applies until the swarm has converged or the plan is blocked.
//
// Safety does not rest on the plan alone: every promote, demote and remove is re-checked with
// reconcile.CheckStep against a fresh observation just before the call, and every update sends
// the node version it was read with, so a change made by someone else in between is refused by
// the daemon instead of overwritten. In dry-run mode the controller holds no handle that can
// mutate the swarm at all.
//
// Several instances may run against one swarm (a service on every manager). Options.Gate, with
// LeaderGate, lets only the instance on the raft leader act: it is asked once per pass and again
// immediately before every mutating call, and the others stand by (ErrStandby) without backoff.
package controller
