// Package lab runs a real multi-node Docker swarm on one Linux host, for the e2e tests and the
// demo: one dockerd per node, each in its own network namespace on a private bridge.
//
// Prerequisites: root, Linux, and (Debian) `apt-get install docker.io iproute2 iptables`, which
// brings dockerd, containerd, runc and tini. Prerequisites reports what is missing; ForTest
// fails, never skips, on it.
//
// Usage:
//
//	l := lab.ForTest(t, lab.Config{Nodes: 5, Managers: 3, Zones: []string{"a", "b", "c"}})
//	c, _ := l.Node(1).Client() // or DOCKER_HOST=l.Node(1).DockerHost()
//	l.Kill(ctx, 2)             // node2 dies like a powered-off machine: an unreachable manager
//	l.Start(ctx, 2)            // it boots again with its data and rejoins
//	l.Partition(ctx, 3)        // node3 runs on but its link is down; Heal brings it back
//	l.Pause(ctx, 2)            // node2 hangs (SIGSTOP, state kept); Resume lets it carry on
//	l.Restart(ctx, 3)          // node3 reboots cleanly: SIGTERM, then Start
//	l.Split(ctx, []int{1, 2}, []int{3}) // two islands; HealSplit joins them again
//
// The API:
//   - Up(ctx, Config) (*Lab, error) builds a lab; ForTest(t, Config) *Lab does it for a test
//     and registers Down with t.Cleanup. Load(dir, log) reattaches from another process (the
//     swarmlab CLI) through Dir/lab.json. Down(ctx) tears down; Cleanup(ctx, dir, log) removes
//     the leftovers of a run that never got to Down (CleanupInstance for instance k).
//   - Node(i) / Nodes(): Hostname, ID (swarm node ID), Addr, Zone, Socket, DockerHost(),
//     Client(), PID(), Running(), LogPath().
//   - Faults on one node: Kill (SIGKILL, a crash) and Start; Stop (SIGTERM, then SIGKILL after
//     StopTimeout) and Restart (Stop, then Start); Pause and Resume (SIGSTOP/SIGCONT of every
//     process of the node, containers included; Paused tells); Partition and Heal (its veth
//     down and up). On the lab: Split(islands...) puts a blackhole route in each node's
//     namespace for every address of the other islands (the islands must cover every node),
//     HealSplit removes them all.
//   - Leader finds the raft leader; BuildImage
//     builds an image on nodes, which have no registry (use FROM scratch); Env prints shell
//     exports; MemoryRSS sums the lab's resident memory.
//
// Config picks the node count, how many start as managers (node1..nodeM, joined one at a
// time, each waited for until reachable; workers join in parallel), and the zones: round robin
// over Zones, or per hostname with ZoneOf, set as the ZoneLabel ("az") node label. No zones
// means no label, for tests where the operator assigns them. Engines runs some nodes on another
// engine (AllOn, or Mixed for alternate nodes with or without the initial leader).
//
// # Layout
//
// The bridge Bridge (stbr0) has 10.213.7.1/24; node N (hostname nodeN) lives in network
// namespace stlabN behind veth stvethN with address 10.213.7.(10+N). Nothing routes out of the
// subnet. Config.NodeAddr (NodeAddr for instance 0) gives an address before the lab is up.
// Its files are under Dir/nodeN: data (the data-root), etc (its /etc/docker), daemon.json,
// dockerd.log and docker.sock, the API socket the host uses.
//
// Each node runs as
//
//	nsenter --net=/var/run/netns/stlabN unshare --uts --mount --pid --fork --mount-proc \
//	  --propagation private sh -c 'hostname nodeN; mount -t tmpfs tmpfs /run; ...; exec tini -- dockerd ...'
//
// with dockerd listening on unix:///var/run/docker.sock (inside: what a container with the
// socket bind-mounted sees, its own node's engine) and on Dir/nodeN/docker.sock. These choices
// differ from the plain recipe and are deliberate:
//   - nsenter --net, not `ip netns exec`: the latter remounts /sys and dockerd then fails with
//     "Devices cgroup isn't mounted".
//   - A PID namespace with tini as PID 1: killing tini takes dockerd, containerd, shims and
//     containers down together, so Kill is a machine crash and a swarm service task on that node
//     really stops. tini reaps the shims dockerd would leave as zombies.
//   - The exec-root stays at its default /var/run/docker, inside the node's private /run
//     tmpfs: its netns and state files never show on the host, and a restarted node starts
//     with an empty one, as after a reboot. The private /run also hides a host containerd's
//     socket, which dockerd would otherwise share instead of starting its own.
//   - --config-file points at an empty Dir/nodeN/daemon.json and /etc/docker is the node's own
//     directory, so the host's docker configuration and engine key stay out of the lab.
//
// # Several labs per host
//
// Config.Instance (0..MaxInstance, swarmlab --instance or SWARMLAB_INSTANCE) picks one of the
// labs that can run side by side. Instance 0 is the layout above with Dir DefaultDir; instance
// k >= 1 has bridge stbr<k>, namespaces st<k>labN, veths st<k>vethN, subnet 10.213.(7+k).0/24,
// Dir DefaultDir-<k> (InstanceDir) and its own forward rule. The names are chosen so that no
// instance's pattern matches another's names.
//
// An instance's names are fixed, so Up first runs CleanupInstance, which removes any earlier lab
// of the same instance: processes in its namespaces or running from Dir (SIGKILL), mounts under
// Dir, its namespaces, veths, bridge and forward rule, and Dir itself if it carries the lab
// marker. Other instances are left alone. ForTest also holds a host-wide file lock per instance
// ($TMPDIR/swarmtopo-lab.lock for 0, swarmtopo-lab-<k>.lock for k) for the test's lifetime so
// parallel test binaries using one instance take turns.
package lab
