//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/lab"
)

// TestALeaderLostAfterDemotionsKeepsQuorum scales five managers down to two and kills the
// leader for 45 s as soon as the third demotion has left its member list. A demoted node keeps
// its manager certificate until a leader signs it a worker one (5.7 to 10 s on this lab), and
// one still without it 32 s after it left raft starts its manager again and joins raft anew;
// once the worker certificate comes it stops that manager, and the member it left behind is
// never removed. The control demotes the same three nodes back to back, as a `docker node
// demote` loop does: all three come back and the swarm keeps 5 members with 2 reachable, for
// good. The operator waits out each demoted node's certificate window before the next
// membership change, so at most the last one can come back: quorum holds, and the operator
// reports the member left behind with what to do.
func TestALeaderLostAfterDemotionsKeepsQuorum(t *testing.T) {
	var rows []string
	for _, withOperator := range []bool{false, true} {
		name := "control"
		if withOperator {
			name = "operator"
		}
		t.Run(name, func(t *testing.T) {
			rows = append(rows, fmt.Sprintf("%-8s %s", name, demotionRun(t, withOperator)))
		})
	}
	t.Logf("FIGURES run: members / reachable 60 s after the leader's return, members left behind, seconds between the demotions\n%s", strings.Join(rows, "\n"))
}

func demotionRun(t *testing.T, withOperator bool) string {
	l := lab.ForTest(t, lab.Config{Nodes: 5, Managers: 5, Zones: []string{"a", "b", "c"}})
	leader, err := l.Leader(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var procs []*process
	if withOperator {
		// Two managers, as the control keeps: the fewest that make three demotions.
		topo := topology(t, "  managers:\n    count: 2\n    spread: auto\n  policy:\n    allowEvenManagers: true\n")
		for i := 1; i <= 5; i++ {
			procs = append(procs, startSwarmtopo(t, l.Node(i), "run", "-f", topo, "--resync", "5s", "--metrics-addr", "127.0.0.1:0"))
		}
		for _, p := range procs {
			p.waitLog(t, time.Minute, "Controller started")
		}
	} else {
		go demoteBackToBack(t, leader, []string{"node5", "node4", "node3"})
	}
	// The leader's own member list, looked at every 50 ms: the kill follows the third removal.
	var left []time.Time
	deadline := time.Now().Add(4 * time.Minute)
	for len(left) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("after 4 minutes %d of 3 demotions had left the member list", len(left))
		}
		if nodes, err := nodeList(leader); err == nil {
			members := 0
			for _, n := range nodes {
				if n.ManagerStatus != nil {
					members++
				}
			}
			for len(left) < 5-members {
				left = append(left, time.Now())
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := l.Kill(t.Context(), leader.Index); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	t.Logf("%s killed %.1fs after the third demotion left its member list", leader.Hostname, killed.Sub(left[2]).Seconds())
	time.Sleep(45 * time.Second)
	if err := l.Start(t.Context(), leader.Index); err != nil {
		t.Fatal(err)
	}
	w := watchPartition(l, []int{1, 2, 3, 4, 5})
	time.Sleep(60 * time.Second)
	all := w.finish()
	last := lastGood(all)
	if last == nil {
		t.Fatalf("no manager answered in the 60 s after %s's return", leader.Hostname)
	}
	members, reachable := len(last.members), 0
	var behind []string
	for h := range last.members {
		if last.reach[h] {
			reachable++
		} else if h != leader.Hostname {
			behind = append(behind, h)
		}
	}
	t.Logf("60 s after %s's return: %s", leader.Hostname, last.managerList())
	gaps := fmt.Sprintf("%.1f, %.1f", left[1].Sub(left[0]).Seconds(), left[2].Sub(left[1]).Seconds())
	row := fmt.Sprintf("%d / %d, %d behind, %s", members, reachable, len(behind), gaps)
	if !withOperator {
		if reachable >= members/2+1 {
			t.Logf("the control kept quorum this time: the hazard did not show")
		}
		return row
	}
	if reachable < members/2+1 {
		t.Errorf("with the operator the swarm lost quorum: %d of %d members reachable (%s)", reachable, members, last.managerList())
	}
	if len(behind) > 1 {
		t.Errorf("with the operator %d demoted nodes came back into raft: %v", len(behind), behind)
	}
	waited := 0
	for _, p := range procs {
		waited += strings.Count(p.log(), "Waiting for a demoted node to take its worker certificate")
	}
	if waited < 2 {
		t.Errorf("the operator logged %d waits for a demoted node's certificate, want one before each of the last two demotions", waited)
	}
	if len(behind) == 1 {
		reported := false
		for _, p := range procs {
			reported = reported || strings.Contains(p.log(), "yet an unreachable raft member stands for it")
		}
		if !reported {
			t.Errorf("the member %s left behind was not reported stuck", behind[0])
		}
	}
	return row
}

// demoteBackToBack demotes each node through n as soon as the one before has left n's member
// list, as a loop over `docker node demote` does.
func demoteBackToBack(t *testing.T, n *lab.Node, hostnames []string) {
	c, err := n.Client()
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, h := range hostnames {
		node, _, err := c.NodeInspectWithRaw(ctx, h)
		if err != nil {
			t.Errorf("inspecting %s: %v", h, err)
			return
		}
		spec := node.Spec
		spec.Role = swarm.NodeRoleWorker
		if err := c.NodeUpdate(ctx, node.ID, node.Version, spec); err != nil {
			t.Errorf("demoting %s: %v", h, err)
			return
		}
		for ctx.Err() == nil {
			if n, _, err := c.NodeInspectWithRaw(ctx, h); err == nil && n.ManagerStatus == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// lastGood is the last sample some manager answered, or nil.
func lastGood(all []sample) *sample {
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].ok {
			return &all[i]
		}
	}
	return nil
}
