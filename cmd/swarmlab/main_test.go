package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/swarmtopo/swarmtopo/lab"
)

func TestParseIslands(t *testing.T) {
	got, err := parseIslands([]string{"1,node2", "3"})
	if err != nil {
		t.Fatalf("parseIslands: %v", err)
	}
	if want := [][]int{{1, 2}, {3}}; !reflect.DeepEqual(got, want) {
		t.Errorf("parseIslands = %v, want %v", got, want)
	}
	if _, err := parseIslands([]string{"1,x"}); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("parseIslands(1,x) = %v, want an error naming x", err)
	}
}

func TestInstanceDir(t *testing.T) {
	t.Setenv("SWARMLAB_DIR", "")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, lab.DefaultDir},
		{[]string{"--instance", "2"}, lab.DefaultDir + "-2"},
		{[]string{"--instance", "2", "--dir", "/tmp/mine"}, "/tmp/mine"},
	} {
		g := &globals{}
		root := newRootWith(g)
		if err := root.ParseFlags(tt.args); err != nil {
			t.Fatalf("parsing %q: %v", tt.args, err)
		}
		if got := g.labDir(); got != tt.want {
			t.Errorf("%q: lab dir %s, want %s", tt.args, got, tt.want)
		}
	}
	t.Setenv("SWARMLAB_INSTANCE", "12")
	root := newRoot()
	root.SetArgs([]string{"ls"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "instance") {
		t.Errorf("SWARMLAB_INSTANCE=12: %v, want an error about the instance", err)
	}
}
