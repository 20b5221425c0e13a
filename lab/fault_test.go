package lab

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStopAndContTree pauses a small process tree the way Pause pauses a node: every process,
// not only its root, ends up stopped, and contTree lets them all run again.
func TestStopAndContTree(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 60 & sleep 60 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range tree(cmd.Process.Pid) {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(5 * time.Second)
	for len(tree(cmd.Process.Pid)) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("tree = %d processes, want sh and two sleeps", len(tree(cmd.Process.Pid)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := stopTree(cmd.Process.Pid); err != nil {
		t.Fatalf("stopTree: %v", err)
	}
	for _, p := range tree(cmd.Process.Pid) {
		if p.state != 'T' {
			t.Errorf("after stopTree process %d %q is in state %c, want T", p.pid, p.argv, p.state)
		}
	}
	if err := contTree(cmd.Process.Pid); err != nil {
		t.Fatalf("contTree: %v", err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		stopped := 0
		for _, p := range tree(cmd.Process.Pid) {
			if p.state == 'T' {
				stopped++
			}
		}
		if stopped == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d processes still stopped after contTree", stopped)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := stopTree(999999999); !errors.Is(err, ErrNodeStopped) {
		t.Errorf("stopTree of no process = %v, want ErrNodeStopped", err)
	}
}

// TestSplitRejects checks the islands before any route changes: the islands must name every
// node of the lab once.
func TestSplitRejects(t *testing.T) {
	l := newLab(Config{Nodes: 3, Dir: "/tmp/l"})
	tests := []struct {
		name    string
		islands [][]int
		want    error
		node    string
	}{
		{"a node in no island", [][]int{{1, 2}}, ErrConfig, "node3"},
		{"a node in two islands", [][]int{{1, 2}, {2, 3}}, ErrConfig, "node2"},
		{"a node the lab lacks", [][]int{{1, 2}, {3, 4}}, ErrNoSuchNode, "4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := l.Split(context.Background(), tt.islands...)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.node) {
				t.Errorf("Split(%v) = %v, want %v naming %s", tt.islands, err, tt.want, tt.node)
			}
		})
	}
}
