package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

func BenchmarkZZPlan(b *testing.B) {
	for b.Loop() {
		a := newApp(strings.NewReader(""), io.Discard, &bytes.Buffer{})
		a.execute(context.Background(), []string{"plan", "-f", "../../hack/gensnapshot/topology.yaml", "--state", "/tmp/swarm-10000.json", "-o", "json"})
	}
}
