// Package observe turns what the Docker daemon says about a swarm into a reconcile.Snapshot.
//
// It is pure conversion: it reads `docker node inspect` JSON (ParseInspect) or the client's
// swarm.Node values (FromSwarm) and never talks to a daemon itself. It is also the one place
// where daemon error strings are matched (IsNoLeader, IsOutOfSequence, IsNotManager), because
// the daemon gives no typed error for those cases.
package observe
