package service

import (
	"net"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

func TestListenWaitsForAPortStillHeldByTheTaskBeingReplaced(t *testing.T) {
	old, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := old.Addr().String()
	go func() {
		time.Sleep(700 * time.Millisecond)
		old.Close()
	}()
	ln, err := listenRetrying(addr, 10*time.Second, logr.Discard())
	if err != nil {
		t.Fatalf("listen after the old holder let go: %v", err)
	}
	ln.Close()

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, err := listenRetrying(busy.Addr().String(), 600*time.Millisecond, logr.Discard()); err == nil {
		t.Fatal("listen on a port that stays taken succeeded")
	}
}
