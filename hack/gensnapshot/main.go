// Command gensnapshot writes a synthetic `docker node inspect` array for timing `swarmtopo plan`
// on large swarms:
//
//	go run ./hack/gensnapshot -nodes 10000 > /tmp/swarm-10k.json
//	swarmtopo plan -f hack/gensnapshot/topology.yaml --state /tmp/swarm-10k.json
//
// The swarm has the shape of the planner benchmark (reconcile/bench_test.go): nodes over zones
// a, b and c, three managers crowded in zone a (node00000 leads), a fourth manager unreachable
// and every tenth worker down, so the plan has role changes, a replacement, label steps and
// removals. Entries carry only the fields the planner reads, as a recent engine names them.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

type entry struct {
	ID      string
	Version struct{ Index uint64 }
	Spec    struct {
		Labels       map[string]string
		Role         string
		Availability string
	}
	Description   struct{ Hostname string }
	Status        struct{ State, Addr string }
	ManagerStatus *managerStatus `json:",omitempty"`
}

type managerStatus struct {
	Leader       bool `json:",omitempty"`
	Reachability string
	Addr         string
}

func main() {
	n := flag.Int("nodes", 10000, "number of nodes")
	flag.Parse()
	if *n < 10 {
		fmt.Fprintln(os.Stderr, "gensnapshot: -nodes must be at least 10")
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(w)
	zones := []string{"a", "b", "c"}
	fmt.Fprint(w, "[")
	for i := range *n {
		var e entry
		e.ID = nodeID(i)
		e.Version.Index = uint64(10 + i)
		e.Spec.Labels = map[string]string{"az": zones[i%3]}
		e.Spec.Role, e.Spec.Availability = "worker", "active"
		e.Description.Hostname = fmt.Sprintf("node%05d", i)
		addr := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		e.Status.State, e.Status.Addr = "ready", addr
		switch {
		case i == 0 || i == 3 || i == 6:
			e.Spec.Role = "manager"
			e.ManagerStatus = &managerStatus{Leader: i == 0, Reachability: "reachable", Addr: addr + ":2377"}
		case i == 9:
			e.Spec.Role = "manager"
			e.ManagerStatus = &managerStatus{Reachability: "unreachable", Addr: addr + ":2377"}
		case i%10 == 7:
			e.Status.State = "down"
		}
		if i > 0 {
			fmt.Fprint(w, ",")
		}
		if err := enc.Encode(&e); err != nil {
			fmt.Fprintln(os.Stderr, "gensnapshot:", err)
			os.Exit(1)
		}
	}
	fmt.Fprintln(w, "]")
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "gensnapshot:", err)
		os.Exit(1)
	}
}

// nodeID makes a 25-character ID in the engine's alphabet, distinct per node from its first
// twelve characters on (the outputs print those twelve), and the same on every run.
func nodeID(i int) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 25)
	x := uint64(i)*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	for j := range b {
		x ^= x >> 29
		x *= 0xbf58476d1ce4e5b9
		b[j] = alphabet[x%36]
	}
	return string(b)
}
