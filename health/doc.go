// Package health judges a swarm's control plane the way the Docker admin guide does, for a
// human: which managers there are and whether each is reachable, leads and is drained; how many
// failures the swarm tolerates against the guide's table; how the managers are spread over zones
// and whether losing any one zone keeps quorum; and the guide's advice for what it finds.
//
// It is pure: a reconcile.Snapshot in, a Report out. Observing the swarm is the caller's job
// (controller.Observe, or observe.ParseInspect on a saved `docker node inspect`).
package health
