// Package e2e holds the end-to-end tests of swarmtopo against a real multi-node swarm.
//
// Prerequisites (the tests fail, never skip, without them): Linux, root, and
// `apt-get install docker.io iproute2 iptables`. Each test builds its own lab of dockerd
// processes in network namespaces (package lab), runs the swarmtopo binary against it, and
// tears the lab down even when it fails. Run them with `make e2e`
// (`go test -tags e2e ./e2e/`). The scripted tests use lab instance 0, one at a time; the
// fault campaign (chaos_test.go, `make chaos`) runs its scenarios on instances 1 and up, several
// at once.
//
// While a scenario runs, a watcher polls the swarm and fails the test if quorum is ever lost
// or the fault tolerance drops below the floor the scenario allows.
package e2e
