// Package fakeswarm is a stateful in-memory Docker swarm for fast tests of code that drives a
// swarm through the controller.Docker calls, plus a fake clock.
//
// It keeps nodes with versions and enforces what the daemon enforces (docs/swarm-behaviour.md
// at the repository's root records each rule with its evidence): stale versions fail with
// "update out of sequence", a demote of the last manager or one that would break raft's
// CanRemoveMember rule is refused, a demote of a promote that has not joined raft is refused
// ("can't find manager in raft memberlist"), a manager cannot be removed, a ready node only with
// force. Every mutating call is recorded.
//
// It runs in one of two modes:
//   - By default role changes settle asynchronously, measured in read calls (each NodeList,
//     NodeInspectWithRaw or Info call is one tick), so a test decides how many polls a promote
//     takes without sleeping. Quorum loss, hanging calls, elections and broken event streams are
//     injected by hand.
//   - In virtual-time mode (SetNow) the daemon's own timing applies on a clock the caller owns
//     (Timing): promotes join raft after a delay, demotions are retried every 5 s until raft
//     allows them, a manager that stops, is partitioned or paused is still listed reachable
//     for a few seconds and shows down later, a leader that goes away or comes back (with a
//     higher term) causes a leaderless election, nodes show "unknown" right after one, node
//     calls hang for a while once quorum is lost, and a promote of a node whose join manager is
//     away waits for that manager and completes by itself when it returns, together with any
//     other such promote (moby#34835). The simulator (package controller/sim) uses this mode.
//
// It is a fake for tests, not a model of swarm: the real lab is the truth.
package fakeswarm
