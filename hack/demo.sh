#!/usr/bin/env bash
# The demo: a real 7-node swarm on this machine (one dockerd per network namespace), one
# manager and no zone labels. swarmtopo reads examples/lab.yaml, shows its plan, applies it
# step by step, and the swarm's own `docker node ls` shows the result. Then a manager dies and
# the plan shows how swarmtopo would replace it. The lab is torn down at the end, even on error.
# Needs root and `apt-get install docker.io iproute2 iptables`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (it starts dockerd in network namespaces)" >&2; exit 1; }
for tool in dockerd docker ip iptables nsenter unshare; do
	command -v "$tool" >/dev/null || { echo "demo: $tool is missing: apt-get install docker.io iproute2 iptables" >&2; exit 1; }
done

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

mkdir -p bin
go build -o bin/swarmtopo ./cmd/swarmtopo
go build -o bin/swarmlab ./cmd/swarmlab
export PATH="$PWD/bin:$PATH"
trap 'say "Tearing the lab down"; swarmlab down' EXIT

say "A 7-node swarm: node1 is the only manager, no zone labels yet"
swarmlab up --nodes 7 --managers 1 >/tmp/swarmtopo-demo.env
# shellcheck disable=SC1091
source /tmp/swarmtopo-demo.env
run docker node ls

say "The topology file"
cat examples/lab.yaml
run swarmtopo validate -f examples/lab.yaml

say "What swarmtopo would do (exit code 2: steps pending)"
run swarmtopo plan -f examples/lab.yaml || [ $? -eq 2 ]

say "Apply it: one step at a time, each settled before the next"
run swarmtopo --log-format console run --once -f examples/lab.yaml

say "The swarm's own view"
run docker node ls --format 'table {{.Hostname}}\t{{.ManagerStatus}}\t{{.Availability}}'
for n in node1 node2 node3 node4 node5 node6 node7; do
	printf '%s az=%s\n' "$n" "$(docker node inspect -f '{{index .Spec.Labels "az"}}' "$n")"
done

say "Nothing left to do (exit code 0)"
run swarmtopo plan -f examples/lab.yaml

say "node2's machine dies: what the plan says now"
swarmlab kill 2
sleep 3
run swarmtopo plan -f examples/lab.yaml || [ $? -eq 2 ]
