// Package fakeswarm is a stateful in-memory Docker swarm for fast tests of code that drives a
// swarm through the controller.Docker calls, plus a fake clock.
//
// It keeps nodes with versions and enforces what the daemon enforces (see
// ../../../shared/SWARM-FACTS.md): stale versions fail with "update out of sequence", a demote
// of the last manager or one that would break raft's CanRemoveMember rule is refused, a manager
// cannot be removed, a ready node only with force. Role changes settle asynchronously, measured
// in read calls (each NodeList, NodeInspectWithRaw or Info call is one tick), so a test decides
// how many polls a promote takes without sleeping. Quorum loss, hanging calls, elections and
// broken event streams can be injected, and every mutating call is recorded.
//
// It is a fake for unit tests, not a model of swarm: the real lab is the truth.
package fakeswarm
