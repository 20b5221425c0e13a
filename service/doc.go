// Package service runs swarmtopo as a long-lived service on the swarm it manages: one instance
// per manager, of which only the one on the raft leader acts (controller.CheckLeader), fed by a
// topology file that is watched and reloaded, and observable over HTTP.
//
// Its parts can be used alone: Reloader keeps the last good topology in force while the file
// changes under it; Metrics holds the Prometheus series (own registry, namespace swarmtopo);
// Status holds the Kubernetes-style conditions served as JSON on /status; Handler serves
// /metrics, /healthz, /readyz and /status; ListenConfig serves them over plain HTTP or, with a
// Prometheus exporter web config, with TLS and basic auth; ProbeConfig checks /healthz for a
// container HEALTHCHECK (scratch images have no curl), with a Prometheus HTTP client config
// when the endpoint is secured. Service wires them around a controller.Controller.
package service
