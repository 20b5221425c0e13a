package lab

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMountsUnder(t *testing.T) {
	mounts := `/dev/vda / ext4 rw 0 0
tmpfs /tmp/lab/node1/data/a tmpfs rw 0 0
tmpfs /tmp/lab/node1/data/a/b/c tmpfs rw 0 0
tmpfs /tmp/lab2/x tmpfs rw 0 0
tmpfs /tmp/lab/node2/with\040space tmpfs rw 0 0
tmpfs /tmp/lab tmpfs rw 0 0
tmpfs /tmp/lab/node1/data/a/b tmpfs rw 0 0
nsfs /run/netns/stlab1 nsfs rw 0 0
`
	got, err := mountsUnder(bufio.NewScanner(strings.NewReader(mounts)), "/tmp/lab")
	if err != nil {
		t.Fatalf("mountsUnder: %v", err)
	}
	want := []string{
		"/tmp/lab/node1/data/a/b/c",
		"/tmp/lab/node1/data/a/b",
		"/tmp/lab/node1/data/a",
		"/tmp/lab/node2/with space",
		"/tmp/lab",
	}
	if !slices.Equal(got, want) {
		t.Errorf("mountsUnder = %q, want %q (deepest first, no sibling /tmp/lab2)", got, want)
	}
}

func TestUnescapeMount(t *testing.T) {
	tests := []struct{ in, want string }{
		{`/plain`, "/plain"},
		{`/a\040b`, "/a b"},
		{`/tab\011x\134y`, "/tab\tx\\y"},
		{`/trailing\04`, `/trailing\04`},
	}
	for _, tt := range tests {
		if got := unescapeMount(tt.in); got != tt.want {
			t.Errorf("unescapeMount(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNsInode(t *testing.T) {
	if n, ok := nsInode("net:[4026532281]"); !ok || n != 4026532281 {
		t.Errorf("nsInode = %d, %t", n, ok)
	}
	if _, ok := nsInode("garbage"); ok {
		t.Error("nsInode accepted garbage")
	}
}

func TestRemoveLabDir(t *testing.T) {
	t.Run("a marked lab dir is removed", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "lab")
		mustWrite(t, filepath.Join(dir, markerFile))
		mustWrite(t, filepath.Join(dir, "node1", "data", "f"))
		if err := removeLabDir(dir); err != nil {
			t.Fatalf("removeLabDir: %v", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("dir still there: %v", err)
		}
	})
	t.Run("a directory without the marker is left alone", func(t *testing.T) {
		dir := t.TempDir()
		mustWrite(t, filepath.Join(dir, "precious"))
		if err := removeLabDir(dir); !errors.Is(err, ErrNotLabDir) {
			t.Fatalf("removeLabDir = %v, want ErrNotLabDir", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "precious")); err != nil {
			t.Errorf("file was removed: %v", err)
		}
	})
	t.Run("an empty or absent dir is fine", func(t *testing.T) {
		dir := t.TempDir()
		if err := removeLabDir(dir); err != nil {
			t.Errorf("empty: %v", err)
		}
		if err := removeLabDir(dir); err != nil {
			t.Errorf("absent: %v", err)
		}
	})
}

func TestProcHelpers(t *testing.T) {
	self, ok := readProc(os.Getpid())
	if !ok || self.gone() || len(self.argv) == 0 || self.ppid == 0 {
		t.Fatalf("readProc(self) = %+v, %t", self, ok)
	}
	if !alive(os.Getpid()) || alive(0) || alive(-1) {
		t.Error("alive is wrong about self or non-PIDs")
	}
	if !ancestors()[os.Getpid()] || !ancestors()[self.ppid] {
		t.Error("ancestors lacks self or parent")
	}
	if !cmdlineHas(os.Getpid(), filepath.Base(self.argv[0])) || cmdlineHas(os.Getpid(), "no-such-arg-xyz") {
		t.Error("cmdlineHas is wrong about self")
	}
	if rssBytes(os.Getpid()) <= 0 {
		t.Error("rssBytes(self) is not positive")
	}
}

func TestTarDir(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "Dockerfile"))
	mustWrite(t, filepath.Join(dir, "bin", "app"))
	var buf bytes.Buffer
	if err := tarDir(&buf, dir); err != nil {
		t.Fatalf("tarDir: %v", err)
	}
	var names []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		names = append(names, h.Name)
	}
	want := []string{"Dockerfile", "bin", "bin/app"}
	if !slices.Equal(names, want) {
		t.Errorf("tar holds %q, want %q", names, want)
	}
}

func mustWrite(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}
