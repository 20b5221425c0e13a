package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli/context/store"

	"github.com/swarmtopo/swarmtopo/internal/tlstest"
)

// pluginRun runs one plugin command line in-process, as the docker CLI would exec it, with
// env as the whole environment.
func pluginRun(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(""), &stdout, &stderr)
	a.getenv = func(k string) string { return env[k] }
	code := a.executePlugin(context.Background(), args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestPluginMetadata(t *testing.T) {
	// The docker CLI runs exactly `docker-topology docker-cli-plugin-metadata`.
	for name, run := range map[string]func() result{
		"as the plugin": func() result { return pluginRun(t, nil, metadataCommand) },
		"as swarmtopo":  func() result { return cli(t, "", metadataCommand) },
	} {
		t.Run(name, func(t *testing.T) {
			r := run()
			if r.code != 0 || r.stderr != "" {
				t.Fatal(r)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
				t.Fatalf("metadata is not JSON: %v\n%s", err, r.stdout)
			}
			want := map[string]any{
				"SchemaVersion":    "0.1.0",
				"Vendor":           "swarmtopo",
				"Version":          version,
				"ShortDescription": "Keep a swarm's control plane in the shape of a topology file",
				"URL":              "https://github.com/swarmtopo/swarmtopo",
			}
			if len(m) != len(want) {
				t.Errorf("metadata has fields %v, want exactly %v", m, want)
			}
			for k, v := range want {
				if m[k] != v {
					t.Errorf("metadata %s = %v, want %v", k, m[k], v)
				}
			}
		})
	}
	if r := cli(t, "", "--help"); strings.Contains(r.stdout, metadataCommand) {
		t.Errorf("the metadata command shows in --help:\n%s", r.stdout)
	}
}

func TestIsPlugin(t *testing.T) {
	for argv0, want := range map[string]bool{
		"/root/.docker/cli-plugins/docker-topology":         true,
		"/usr/local/lib/docker/cli-plugins/docker-topology": true,
		"docker-topology": true,
		"swarmtopo":       false,
		"./bin/swarmtopo": false,
	} {
		if got := isPlugin(argv0); got != want {
			t.Errorf("isPlugin(%q) = %v, want %v", argv0, got, want)
		}
	}
}

func TestPluginCommandLine(t *testing.T) {
	cfg := t.TempDir()
	file := writeFile(t, "t.yaml", threeManagers)
	env := map[string]string{"DOCKER_CONFIG": cfg, "HOME": t.TempDir()}

	t.Run("the docker CLI's global flags come before topology and reach the command", func(t *testing.T) {
		r := pluginRun(t, env, "--context", "nope", "-D", "-l", "debug", "topology", "plan", "-f", file)
		if r.code != codeError || !strings.Contains(r.stderr, `"nope" (from --context)`) {
			t.Fatal(r)
		}
	})
	t.Run("--context=NAME and -c NAME are the same flag", func(t *testing.T) {
		for _, args := range [][]string{{"--context=nope"}, {"-c", "nope"}, {"-cnope"}} {
			r := pluginRun(t, env, append(args, "topology", "status")...)
			if r.code != codeError || !strings.Contains(r.stderr, `"nope" (from --context)`) {
				t.Fatalf("%v: %v", args, r)
			}
		}
	})
	t.Run("a command that needs no engine runs with global flags", func(t *testing.T) {
		r := pluginRun(t, env, "--context", "nope", "topology", "validate", "-f", file)
		if r.code != 0 {
			t.Fatal(r)
		}
	})
	t.Run("-H before topology and --context after it conflict", func(t *testing.T) {
		r := pluginRun(t, env, "-H", "tcp://127.0.0.1:1", "topology", "status", "--context", "x")
		if r.code != codeError || !strings.Contains(r.stderr, "cannot specify both --host and --context") {
			t.Fatal(r)
		}
	})
	t.Run("DOCKER_CONTEXT reaches the plugin through the environment", func(t *testing.T) {
		e := map[string]string{"DOCKER_CONFIG": cfg, "DOCKER_CONTEXT": "gone"}
		r := pluginRun(t, e, "topology", "status")
		if r.code != codeError || !strings.Contains(r.stderr, `"gone" (from DOCKER_CONTEXT)`) {
			t.Fatal(r)
		}
	})
	t.Run("usage errors name the docker topology command", func(t *testing.T) {
		r := pluginRun(t, env, "topology", "plan", "--bogus")
		if r.code != codeError || !strings.Contains(r.stderr, "Run 'docker topology plan --help' for usage.") {
			t.Fatal(r)
		}
		r = pluginRun(t, env, "topology", "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "docker topology [command]") {
			t.Fatal(r)
		}
	})
	t.Run("docker help topology shows the plugin's help", func(t *testing.T) {
		r := pluginRun(t, env, "help", "topology")
		if r.code != 0 || !strings.Contains(r.stdout, "docker topology [command]") {
			t.Fatal(r)
		}
		r = pluginRun(t, env, "help", "topology", "plan")
		if r.code != 0 || !strings.Contains(r.stdout, "docker topology plan") {
			t.Fatal(r)
		}
	})
	t.Run("run without the docker CLI it says how to run it", func(t *testing.T) {
		r := pluginRun(t, env, "plan", "-f", file)
		if r.code != codeError || !strings.Contains(r.stderr, "run it as `docker topology COMMAND`") {
			t.Fatal(r)
		}
	})
	t.Run("an unknown global flag is an error", func(t *testing.T) {
		r := pluginRun(t, env, "--bogus", "topology", "plan", "-f", file)
		if r.code != codeError || !strings.Contains(r.stderr, "unknown flag: --bogus") {
			t.Fatal(r)
		}
	})
}

// tlsEngine is a fake engine that requires a client certificate from ca; it answers every
// request with an empty JSON object.
func tlsEngine(t *testing.T, ca *tlstest.CA) string {
	t.Helper()
	srvPair, err := ca.Server("engine", []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(srvPair.CertPEM, srvPair.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		_, _ = w.Write([]byte("{}"))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.Config.ErrorLog = nil
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return "tcp://" + srv.Listener.Addr().String()
}

// createContext writes a context with docker/cli's own store package, as `docker context
// create` does.
func createContext(t *testing.T, configDir, name, host string, tlsFiles map[string][]byte) {
	t.Helper()
	s := store.New(filepath.Join(configDir, "contexts"), store.NewConfig(func() any { return &map[string]any{} }))
	meta := store.Metadata{Name: name, Endpoints: map[string]any{"docker": map[string]any{"Host": host, "SkipTLSVerify": false}}}
	if err := s.CreateOrUpdate(meta); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetTLSMaterial(name, &store.ContextTLSData{Endpoints: map[string]store.EndpointTLSData{"docker": {Files: tlsFiles}}}); err != nil {
		t.Fatal(err)
	}
}

func TestTLSFailureNamesTheContext(t *testing.T) {
	labCA, err := tlstest.NewCA("lab CA")
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := tlstest.NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := otherCA.Client("stranger")
	if err != nil {
		t.Fatal(err)
	}
	host := tlsEngine(t, labCA)
	cfg := t.TempDir()
	createContext(t, cfg, "wrongcert", host, map[string][]byte{"ca.pem": labCA.CertPEM, "cert.pem": stranger.CertPEM, "key.pem": stranger.KeyPEM})

	r := pluginRun(t, map[string]string{"DOCKER_CONFIG": cfg}, "--context", "wrongcert", "topology", "status")
	want := `TLS handshake with docker context "wrongcert" (from --context) at ` + host + ` over TLS failed`
	if r.code != codeError || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "tls:") {
		t.Fatalf("want %q in\n%v", want, r)
	}
}

func TestPluginSocketEOFCancels(t *testing.T) {
	// What the docker CLI does on SIGINT when its stdout is not a terminal: close the socket.
	l, err := net.Listen("unix", "@swarmtopo-test-"+t.Name()+time.Now().Format("150405.000000000"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cancelled := make(chan struct{})
	stop := watchPluginSocket(l.Addr().String(), func() { close(cancelled) })
	if stop == nil {
		t.Fatal("did not connect to the plugin socket")
	}
	defer stop()
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-cancelled:
		t.Fatal("cancelled before the CLI closed the socket")
	case <-time.After(100 * time.Millisecond):
	}
	conn.Close()
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("closing the socket did not cancel")
	}
	if watchPluginSocket("@swarmtopo-test-nobody-listens", func() {}) != nil {
		t.Error("connected to a socket nobody listens on")
	}
}
