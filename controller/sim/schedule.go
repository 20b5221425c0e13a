package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Kind is what a fault does.
type Kind int

// Faults. World faults happen at a virtual time; call faults hit the Arg-th Docker call of the
// run (counted over every instance), whenever it comes.
const (
	StopNode Kind = iota // a node's daemon dies (Node)
	StartNode
	PartitionNode
	HealNode
	PauseNode
	ResumeNode
	HumanPromote // a human promotes Node
	HumanDemote
	HumanLabel        // a human sets a label on Node
	HumanAvailability // a human sets Node's availability (Arg: 0 active, 1 drain, 2 pause)
	TouchNode         // Node's version moves (a status update)
	MuteEvents        // every open event stream stops delivering, silently
	UnmuteEvents
	BreakEvents  // every open event stream ends with an error
	Crash        // operator instance Arg (by start order among the running) dies, no memory
	NewTopology  // a new topology file: manager count Arg
	CallFail     // the Arg-th call fails with a daemon error
	CallHang     // the Arg-th call hangs until its deadline and does not land
	CallLateAck  // the Arg-th call lands, then its answer hangs until the deadline
	CallConflict // just before the Arg-th call, its node's version moves (out of sequence)
	numKinds
)

var kindNames = [...]string{"stop", "start", "partition", "heal", "pause", "resume", "human-promote",
	"human-demote", "human-label", "human-availability", "touch", "mute-events", "unmute-events",
	"break-events", "crash", "new-topology", "call-fail", "call-hang", "call-late-ack", "call-conflict"}

func (k Kind) String() string { return kindNames[k] }

// IsCall reports whether the fault hits a call rather than the world.
func (k Kind) IsCall() bool { return k >= CallFail }

// Fault is one injected fault.
type Fault struct {
	At   time.Duration // world faults: virtual time from the start
	Kind Kind
	Node int // index into Schedule.Nodes
	Arg  int
}

// Node is one node of the simulated swarm at the start.
type Node struct {
	Hostname string
	Zone     string
	Manager  bool
	Leader   bool
	// JoinedVia is the index of the manager it joined through; -1 for managers.
	JoinedVia int
}

// Schedule is everything one simulated run depends on: it is drawn from Seed, and a run is a
// pure function of it.
type Schedule struct {
	Seed  uint64
	Nodes []Node
	// Count is the topology's manager count; Drain whether managers are drained.
	Count  int
	Drain  bool
	Grace  time.Duration
	Remove bool
	// Service runs an instance on every manager behind the leader gate; otherwise one
	// instance acts through whichever manager it runs on, without a gate.
	Service bool
	Faults  []Fault
	// FaultWindow is when faults stop; everything away is brought back then.
	FaultWindow time.Duration
}

// Generate draws a schedule from seed.
func Generate(seed uint64) Schedule {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := Schedule{Seed: seed}
	n := 3 + r.IntN(5) // 3..7 nodes
	managers := 1 + r.IntN(min(n, 5))
	if managers > 1 && r.IntN(3) == 0 {
		managers = min(3, n)
	}
	zones := []string{"a", "b", "c"}
	for i := 0; i < n; i++ {
		nd := Node{Hostname: fmt.Sprintf("n%d", i+1), Zone: zones[r.IntN(3)], Manager: i < managers, JoinedVia: -1}
		if !nd.Manager {
			nd.JoinedVia = r.IntN(managers)
		}
		s.Nodes = append(s.Nodes, nd)
	}
	s.Nodes[r.IntN(managers)].Leader = true
	s.Count = []int{1, 3, 3, 3, 5, 5}[r.IntN(6)]
	s.Count = fitCount(s.Count, n)
	s.Drain = r.IntN(2) == 0
	s.Grace = time.Duration(20+r.IntN(60)) * time.Second
	s.Remove = r.IntN(3) == 0
	s.Service = r.IntN(2) == 0
	s.FaultWindow = time.Duration(2+r.IntN(6)) * time.Minute

	for k := r.IntN(9); k > 0; k-- {
		at := time.Duration(r.Int64N(int64(s.FaultWindow)))
		back := at + time.Duration(5+r.IntN(120))*time.Second
		node := r.IntN(n)
		switch kind := Kind(r.IntN(int(numKinds))); kind {
		case StopNode, PartitionNode, PauseNode:
			s.Faults = append(s.Faults, Fault{At: at, Kind: kind, Node: node})
			if r.IntN(4) > 0 {
				s.Faults = append(s.Faults, Fault{At: back, Kind: kind + 1, Node: node})
			}
		case StartNode, HealNode, ResumeNode, UnmuteEvents:
			// Drawn with their cause above.
			k++
		case MuteEvents:
			s.Faults = append(s.Faults, Fault{At: at, Kind: kind}, Fault{At: back, Kind: UnmuteEvents})
		case Crash:
			s.Faults = append(s.Faults, Fault{At: at, Kind: kind, Arg: r.IntN(3), Node: 1 + r.IntN(30)})
		case NewTopology:
			s.Faults = append(s.Faults, Fault{At: at, Kind: kind, Arg: []int{1, 3, 3, 5, 5}[r.IntN(5)]})
		case HumanAvailability:
			s.Faults = append(s.Faults, Fault{At: at, Kind: kind, Node: node, Arg: r.IntN(3)})
		case CallFail, CallHang, CallLateAck, CallConflict:
			s.Faults = append(s.Faults, Fault{Kind: kind, Arg: r.IntN(600)})
		default:
			s.Faults = append(s.Faults, Fault{At: at, Kind: kind, Node: node})
		}
	}
	// Partitions of a manager that workers joined through, with promotes pending: the case
	// of moby#34835, drawn more often than chance would.
	if managers >= 3 && r.IntN(3) == 0 {
		via := r.IntN(managers)
		at := time.Duration(r.Int64N(int64(30 * time.Second)))
		s.Faults = append(s.Faults, Fault{At: at, Kind: PartitionNode, Node: via},
			Fault{At: at + time.Duration(60+r.IntN(240))*time.Second, Kind: HealNode, Node: via})
		for i := managers; i < n; i++ {
			if r.IntN(2) == 0 {
				s.Nodes[i].JoinedVia = via
			}
		}
		if s.Count <= managers {
			s.Count = fitCount(5, n)
		}
	}
	return s
}

// Describe prints the schedule's starting point and faults, one a line.
func (s Schedule) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: count %d drain %v grace %s removeDownNodes %v service %v; faults until %s\n",
		s.Seed, s.Count, s.Drain, s.Grace, s.Remove, s.Service, s.FaultWindow)
	for _, n := range s.Nodes {
		role := "worker"
		if n.Manager {
			role = "manager"
			if n.Leader {
				role = "leader"
			}
		}
		via := ""
		if n.JoinedVia >= 0 {
			via = " joined via " + s.Nodes[n.JoinedVia].Hostname
		}
		fmt.Fprintf(&b, "  node %s zone %s %s%s\n", n.Hostname, n.Zone, role, via)
	}
	for _, f := range s.Faults {
		fmt.Fprintf(&b, "  fault %s\n", s.describeFault(f))
	}
	return b.String()
}

func (s Schedule) describeFault(f Fault) string {
	switch {
	case f.Kind.IsCall():
		return fmt.Sprintf("%s at call #%d", f.Kind, f.Arg)
	case f.Kind == Crash:
		return fmt.Sprintf("%s instance %d at %s, restarts %ds later", f.Kind, f.Arg, f.At.Round(time.Millisecond), f.Node)
	case f.Kind == NewTopology:
		return fmt.Sprintf("%s count %d at %s", f.Kind, f.Arg, f.At.Round(time.Millisecond))
	case f.Kind == MuteEvents || f.Kind == UnmuteEvents || f.Kind == BreakEvents:
		return fmt.Sprintf("%s at %s", f.Kind, f.At.Round(time.Millisecond))
	}
	return fmt.Sprintf("%s %s at %s", f.Kind, s.Nodes[f.Node].Hostname, f.At.Round(time.Millisecond))
}
