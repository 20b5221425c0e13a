// Command swarmtopo makes a Docker Swarm's control plane match a declarative topology file
// without ever losing Raft quorum.
//
// This package is wiring only: flags, logging set-up, exit codes and output. The topology file
// lives in spec, the planner in reconcile, snapshot parsing in observe, output formats in render
// and everything that talks to Docker in controller.
//
// Usage:
//
//	swarmtopo validate -f FILE
//	swarmtopo plan -f FILE [--state SNAPSHOT|-] [-o text|json|markdown]
//	swarmtopo run -f FILE [--once] [--dry-run] [--resync 30s] [--step-timeout 90s] [--drain-timeout 5m] [--demotion-hold 20s] [-o FORMAT]
//	swarmtopo version
//	swarmtopo completion bash|zsh|fish|powershell
//
// Exit codes: 0 converged (or valid), 1 error, 2 steps pending, 3 blocked.
package main
