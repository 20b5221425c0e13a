package lab

import (
	"errors"
	"strings"
	"testing"
)

func TestDaemonArgsGoIntoTheNodesScript(t *testing.T) {
	l := newLab(Config{Nodes: 2, Dir: "/tmp/l"})
	s := script(l.Node(1), "/usr/bin/tini", "dockerd", "", "--tlsverify", "-H", "tcp://10.213.7.11:2376")
	if !strings.HasSuffix(s, "--ip-masq=false --tlsverify -H tcp://10.213.7.11:2376") {
		t.Errorf("extra dockerd flags are not at the end of the command:\n%s", s)
	}
}

func TestDaemonArgsAreChecked(t *testing.T) {
	for _, c := range []struct {
		name string
		args map[string][]string
		want string
	}{
		{"a node that is not in the lab", map[string][]string{"node3": {"--debug"}}, `"node3" is not a node`},
		{"a name that is not a hostname", map[string][]string{"1": {"--debug"}}, `"1" is not a node`},
		{"an argument a shell would interpret", map[string][]string{"node1": {"--tlscert=/tmp/x; rm -rf /"}}, "may hold only"},
		{"an argument with a space", map[string][]string{"node2": {"a b"}}, "may hold only"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Config{Nodes: 2, DaemonArgs: c.args}.withDefaults()
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want ErrConfig with %q", err, c.want)
			}
		})
	}
	if _, err := (Config{Nodes: 2, DaemonArgs: map[string][]string{"node2": {"--tlsverify", "--tlscacert=/tmp/pki/ca.pem", "-H", "tcp://10.213.7.12:2376"}}}).withDefaults(); err != nil {
		t.Errorf("TLS flags refused: %v", err)
	}
}
