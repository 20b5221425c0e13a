// Package reconcile is the pure planner: a desired topology and an observed snapshot in,
// an ordered, quorum-safe plan out. It does no IO, reads no clock and imports no Docker client.
package reconcile
