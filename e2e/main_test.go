//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// bin is the swarmtopo binary under test, built once for the whole run.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "swarmtopo-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "swarmtopo")
	build := exec.Command("go", "build", "-o", bin, "../cmd/swarmtopo")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building swarmtopo:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
