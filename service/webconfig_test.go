package service_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/crypto/bcrypt"

	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/internal/testpki"
	"github.com/swarmtopo/swarmtopo/service"
)

// The basic auth user of the tests and its password.
const (
	user     = "prometheus"
	password = "s3cret-scrape"
)

// securedEndpoints are every path the server has: all of them sit behind TLS and basic auth.
var securedEndpoints = []string{"/metrics", "/status", "/healthz", "/readyz"}

// bcryptHash hashes pw at the lowest cost, to keep the test fast; the server reads any cost.
func bcryptHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// writeConfig writes content as name in dir and returns its path.
func writeConfig(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// readyHandler is the endpoints' handler for a loaded topology and an observed swarm, so that
// every path answers 200 once past TLS and authentication.
func readyHandler() http.Handler {
	clk := &clock{t: epoch}
	st := service.NewStatus(clk.now)
	m := service.NewMetrics()
	st.SetTopology("/t.yaml", named("prod"), epoch)
	st.ObservePlan(planWith(1, ""))
	m.ObservePlan(planWith(1, ""))
	return service.Handler(m, st, time.Minute)
}

// serve serves the ready endpoints with webConfig until the test ends.
func serve(t *testing.T, webConfig string) *service.Server {
	t.Helper()
	s, err := service.ListenConfig{Addr: "127.0.0.1:0", WebConfigFile: webConfig, Log: logr.Discard()}.Listen(readyHandler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

// fetch does GET url with client, and basic auth unless u is empty.
func fetch(t *testing.T, client *http.Client, url, u, pw string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if u != "" {
		req.SetBasicAuth(u, pw)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

func tlsClient(c *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: c, Proxy: nil}, Timeout: 10 * time.Second}
}

func TestEndpointsOverTLSWithBasicAuth(t *testing.T) {
	ca := testpki.NewCA(t, "test")
	srv := ca.Server("server")
	webConfig := writeConfig(t, ca.Dir(), "web-config.yml", fmt.Sprintf(`tls_server_config:
  cert_file: %s
  key_file: %s
basic_auth_users:
  %s: %s
`, filepath.Base(srv.CertFile), filepath.Base(srv.KeyFile), user, bcryptHash(t, password)))
	s := serve(t, webConfig)
	client := tlsClient(ca.TLSConfig(testpki.Pair{}))

	for _, path := range securedEndpoints {
		url := "https://" + s.Addr() + path
		t.Run(path, func(t *testing.T) {
			code, body, err := fetch(t, client, url, user, password)
			if err != nil || code != http.StatusOK {
				t.Errorf("GET %s with the right credentials = %d %q, %v; want 200", url, code, body, err)
			}
			if path == "/metrics" && !strings.Contains(body, "swarmtopo_pending_steps 1") {
				t.Errorf("GET %s: no metrics in %q", url, body)
			}
			for _, c := range []struct{ what, user, pw string }{
				{"without credentials", "", ""},
				{"with a wrong password", user, "wrong"},
				{"with an unknown user", "nobody", password},
				{"with an empty password", user, ""},
			} {
				code, body, err := fetch(t, client, url, c.user, c.pw)
				if err != nil || code != http.StatusUnauthorized || strings.Contains(body, "swarmtopo_") {
					t.Errorf("GET %s %s = %d %q, %v; want 401 and nothing of the swarm", url, c.what, code, body, err)
				}
			}
			// Plain HTTP to the TLS port gets no answer from the handler.
			code, body, err = fetch(t, &http.Client{Transport: &http.Transport{Proxy: nil}}, "http://"+s.Addr()+path, user, password)
			if err == nil && (code != http.StatusBadRequest || strings.Contains(body, "swarmtopo_") || strings.Contains(body, "ok")) {
				t.Errorf("plain HTTP GET %s = %d %q; want it refused", path, code, body)
			}
		})
	}

	t.Run("a client that does not trust the server's CA is refused", func(t *testing.T) {
		other := testpki.NewCA(t, "other")
		_, _, err := fetch(t, tlsClient(other.TLSConfig(testpki.Pair{})), "https://"+s.Addr()+"/metrics", user, password)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("GET with a foreign CA = %v, want a certificate error", err)
		}
	})
}

func TestEndpointsWithClientCertificates(t *testing.T) {
	ca := testpki.NewCA(t, "test")
	srv := ca.Server("server")
	webConfig := writeConfig(t, ca.Dir(), "web-config.yml", fmt.Sprintf(`tls_server_config:
  cert_file: %s
  key_file: %s
  client_ca_file: %s
  client_auth_type: RequireAndVerifyClientCert
`, srv.CertFile, srv.KeyFile, ca.CertFile))
	s := serve(t, webConfig)
	url := "https://" + s.Addr() + "/status"

	code, body, err := fetch(t, tlsClient(ca.TLSConfig(ca.Client("prometheus"))), url, "", "")
	if err != nil || code != http.StatusOK || !strings.Contains(body, `"Converged"`) {
		t.Errorf("GET %s with a client certificate of the CA = %d %q, %v; want 200 with the status", url, code, body, err)
	}
	if _, _, err := fetch(t, tlsClient(ca.TLSConfig(testpki.Pair{})), url, "", ""); err == nil {
		t.Errorf("GET %s without a client certificate succeeded", url)
	}
	other := testpki.NewCA(t, "other")
	foreign := ca.TLSConfig(other.Client("intruder"))
	if _, _, err := fetch(t, tlsClient(foreign), url, "", ""); err == nil {
		t.Errorf("GET %s with a client certificate of another CA succeeded", url)
	}
}

func TestABadWebConfigFileFailsAtStartNamingIt(t *testing.T) {
	ca := testpki.NewCA(t, "test")
	srv := ca.Server("server")
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{"a file that is not there", "", "no such file"},
		{"an unknown key", "tls_server_config:\n  cert_flie: x\n", "cert_flie"},
		{"a password that is not a bcrypt hash", "basic_auth_users:\n  prometheus: plaintext\n", "hash"},
		{"a certificate file that is not there", "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n", "missing.crt"},
		{"a key without a certificate", fmt.Sprintf("tls_server_config:\n  key_file: %s\n", srv.KeyFile), "cert"},
		{"a client CA without a client auth type", fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\n  client_ca_file: %s\n", srv.CertFile, srv.KeyFile, ca.CertFile), "Client Auth"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, fmt.Sprintf("web-%d.yml", i))
			if tt.content != "" {
				writeConfig(t, dir, filepath.Base(file), tt.content)
			}
			s, err := service.ListenConfig{Addr: "127.0.0.1:0", WebConfigFile: file, Log: logr.Discard()}.Listen(readyHandler())
			if err == nil {
				_ = s.Shutdown(context.Background())
				t.Fatal("Listen with a bad web config file succeeded")
			}
			if !errors.Is(err, service.ErrWebConfig) || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Listen = %v; want ErrWebConfig naming %s and %q", err, file, tt.want)
			}
		})
	}

	t.Run("the service stops before it reads the swarm", func(t *testing.T) {
		topo := filepath.Join(t.TempDir(), "topology.yaml")
		writeFile(t, topo, topology("prod", 3))
		fs := fakeswarm.New(fakeswarm.NodeConfig{Hostname: "node1", Manager: true, Leader: true})
		bad := writeConfig(t, dir, "bad.yml", "basic_auth_users:\n  prometheus: plaintext\n")
		svc, err := service.New(service.Config{File: topo, Addr: "127.0.0.1:0", WebConfigFile: bad, Docker: fs, Log: logr.Discard(), Controller: fastLoop})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := svc.Run(ctx); !errors.Is(err, service.ErrWebConfig) || !strings.Contains(err.Error(), bad) {
			t.Errorf("Run = %v, want ErrWebConfig naming %s", err, bad)
		}
		if fs.Reads() != 0 || len(fs.Calls()) != 0 {
			t.Errorf("the swarm was read %d times and changed %d times", fs.Reads(), len(fs.Calls()))
		}
	})
}

func TestProbeOverTLSWithBasicAuth(t *testing.T) {
	ca := testpki.NewCA(t, "test")
	srv := ca.Server("server")
	webConfig := writeConfig(t, ca.Dir(), "web-config.yml", fmt.Sprintf(`tls_server_config:
  cert_file: %s
  key_file: %s
basic_auth_users:
  %s: %s
`, srv.CertFile, srv.KeyFile, user, bcryptHash(t, password)))
	s := serve(t, webConfig)
	https := "https://" + s.Addr()
	dir := t.TempDir()
	writeConfig(t, dir, "password", password+"\n")
	probeConfig := func(name, body string) string { return writeConfig(t, dir, name, body) }
	good := probeConfig("good.yml", fmt.Sprintf("basic_auth:\n  username: %s\n  password_file: password\ntls_config:\n  ca_file: %s\n", user, ca.CertFile))

	ctx := context.Background()
	if err := (service.ProbeConfig{Addr: https, HTTPConfigFile: good}).Probe(ctx); err != nil {
		t.Errorf("Probe with the CA and the credentials = %v", err)
	}
	tests := []struct {
		name string
		cfg  service.ProbeConfig
		want string
	}{
		{"plain HTTP to the TLS port", service.ProbeConfig{Addr: s.Addr(), HTTPConfigFile: good}, "probe an https:// URL"},
		{"no credentials", service.ProbeConfig{Addr: https, HTTPConfigFile: probeConfig("nocreds.yml", fmt.Sprintf("tls_config:\n  ca_file: %s\n", ca.CertFile))}, "401"},
		{"a wrong password", service.ProbeConfig{Addr: https, HTTPConfigFile: probeConfig("wrong.yml", fmt.Sprintf("basic_auth:\n  username: %s\n  password: wrong\ntls_config:\n  ca_file: %s\n", user, ca.CertFile))}, "401"},
		{"no HTTP config: the server's CA is unknown", service.ProbeConfig{Addr: https}, "certificate"},
		{"an HTTP config that is not there", service.ProbeConfig{Addr: https, HTTPConfigFile: filepath.Join(dir, "absent.yml")}, "absent.yml"},
		{"an HTTP config with an unknown key", service.ProbeConfig{Addr: https, HTTPConfigFile: probeConfig("typo.yml", "basic_auht: {}\n")}, "typo.yml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Probe(ctx); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Probe = %v, want an error with %q", err, tt.want)
			}
		})
	}
	if err := (service.ProbeConfig{Addr: https, HTTPConfigFile: filepath.Join(dir, "absent.yml")}).Probe(ctx); !errors.Is(err, service.ErrHTTPConfig) {
		t.Errorf("Probe with a missing HTTP config = %v, want ErrHTTPConfig", err)
	}
}

func TestProbeWithoutTLSHintsAtCredentials(t *testing.T) {
	webConfig := writeConfig(t, t.TempDir(), "web-config.yml", fmt.Sprintf("basic_auth_users:\n  %s: %s\n", user, bcryptHash(t, password)))
	s := serve(t, webConfig)
	if err := service.Probe(context.Background(), s.Addr()); err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "--http.config.file") {
		t.Errorf("Probe of a basic-auth endpoint without credentials = %v, want 401 and the hint", err)
	}
	cfg := writeConfig(t, t.TempDir(), "probe.yml", fmt.Sprintf("basic_auth:\n  username: %s\n  password: %s\n", user, password))
	if err := (service.ProbeConfig{Addr: s.Addr(), HTTPConfigFile: cfg}).Probe(context.Background()); err != nil {
		t.Errorf("Probe of a basic-auth endpoint over plain HTTP with credentials = %v", err)
	}
}
