package dockercontext

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/swarmtopo/swarmtopo/internal/tlstest"
)

// env is a fake environment; a missing key reads as "".
type env map[string]string

func (e env) get(k string) string { return e[k] }

// writeContext writes a context the way `docker context create` lays it out:
// contexts/meta/<sha256 of name>/meta.json and contexts/tls/<sha256>/docker/*.pem.
func writeContext(t *testing.T, configDir, name, host string, skipVerify bool, tlsFiles map[string][]byte) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	meta := map[string]any{
		"Name":      name,
		"Metadata":  map[string]any{"Description": "test"},
		"Endpoints": map[string]any{"docker": map[string]any{"Host": host, "SkipTLSVerify": skipVerify}},
	}
	data, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	metaDir := filepath.Join(configDir, "contexts", "meta", id)
	mustWrite(t, filepath.Join(metaDir, "meta.json"), data)
	for f, b := range tlsFiles {
		mustWrite(t, filepath.Join(configDir, "contexts", "tls", id, "docker", f), b)
	}
}

func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeConfig(t *testing.T, configDir, current string) {
	t.Helper()
	mustWrite(t, filepath.Join(configDir, "config.json"), []byte(`{"auths":{},"currentContext":"`+current+`"}`))
}

func TestResolvePrecedence(t *testing.T) {
	home := t.TempDir()
	dotDocker := filepath.Join(home, ".docker")
	other := t.TempDir() // a DOCKER_CONFIG
	flagDir := t.TempDir()
	for _, c := range []struct{ dir, name, host string }{
		{dotDocker, "flag", "tcp://flag:2375"},
		{dotDocker, "envctx", "tcp://envctx:2375"},
		{dotDocker, "current", "tcp://current:2375"},
		{other, "current", "tcp://other-current:2375"},
		{flagDir, "current", "tcp://flagdir-current:2375"},
	} {
		writeContext(t, c.dir, c.name, c.host, false, nil)
	}
	writeConfig(t, dotDocker, "current")
	writeConfig(t, other, "current")
	writeConfig(t, flagDir, "current")

	cases := []struct {
		name        string
		opts        Options
		env         env
		wantContext string
		wantSource  string
		wantHost    string
	}{
		{"--context wins over DOCKER_HOST, DOCKER_CONTEXT and currentContext",
			Options{Context: "flag"}, env{EnvHost: "tcp://env:2375", EnvContext: "envctx"},
			"flag", "--context", "tcp://flag:2375"},
		{"-H selects the default context over DOCKER_CONTEXT and currentContext",
			Options{Host: "tcp://h:2375"}, env{EnvContext: "envctx", EnvHost: "tcp://env:2375"},
			DefaultContextName, "-H", "tcp://h:2375"},
		{"a bare -H host:port gets the tcp scheme",
			Options{Host: "10.0.0.1:2375"}, env{},
			DefaultContextName, "-H", "tcp://10.0.0.1:2375"},
		{"DOCKER_HOST selects the default context over DOCKER_CONTEXT",
			Options{}, env{EnvHost: "tcp://env:2375", EnvContext: "envctx"},
			DefaultContextName, EnvHost, "tcp://env:2375"},
		{"DOCKER_CONTEXT wins over currentContext",
			Options{}, env{EnvContext: "envctx"},
			"envctx", EnvContext, "tcp://envctx:2375"},
		{"currentContext of ~/.docker/config.json is used when nothing else is set",
			Options{}, env{},
			"current", "currentContext in " + filepath.Join(dotDocker, "config.json"), "tcp://current:2375"},
		{"DOCKER_CONFIG moves config.json and the context store",
			Options{}, env{EnvConfig: other},
			"current", "currentContext in " + filepath.Join(other, "config.json"), "tcp://other-current:2375"},
		{"--config wins over DOCKER_CONFIG",
			Options{ConfigDir: flagDir}, env{EnvConfig: other},
			"current", "currentContext in " + filepath.Join(flagDir, "config.json"), "tcp://flagdir-current:2375"},
		{"--context default is the environment's endpoint",
			Options{Context: "default"}, env{EnvContext: "envctx"},
			DefaultContextName, "--context", "unix:///var/run/docker.sock"},
		{"DOCKER_CONTEXT=default with no DOCKER_HOST is the local socket",
			Options{}, env{EnvContext: "default"},
			DefaultContextName, EnvContext, "unix:///var/run/docker.sock"},
		{"an empty DOCKER_HOST does not count",
			Options{}, env{EnvHost: "", EnvContext: "envctx"},
			"envctx", EnvContext, "tcp://envctx:2375"},
		{"no config.json and nothing set is the local socket",
			Options{}, env{EnvConfig: t.TempDir()},
			DefaultContextName, "", "unix:///var/run/docker.sock"},
		{"a config.json without currentContext is the default context",
			Options{ConfigDir: func() string { d := t.TempDir(); writeConfig(t, d, ""); return d }()}, env{},
			DefaultContextName, "", "unix:///var/run/docker.sock"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.env["HOME"] = home
			ep, err := Resolve(c.opts, c.env.get)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if ep.Context != c.wantContext || ep.Source != c.wantSource || ep.Host != c.wantHost {
				t.Errorf("got context %q source %q host %q, want %q %q %q",
					ep.Context, ep.Source, ep.Host, c.wantContext, c.wantSource, c.wantHost)
			}
			if ep.TLS != nil {
				t.Errorf("TLS is on for a plain endpoint")
			}
		})
	}
}

// pki is one CA with a server certificate for 127.0.0.1 and a client certificate.
type pki struct {
	ca             *tlstest.CA
	server, client tlstest.Pair
}

func newPKI(t *testing.T, name string) pki {
	t.Helper()
	ca, err := tlstest.NewCA(name + " CA")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Server(name+" server", []net.IP{net.ParseIP("127.0.0.1")}, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := ca.Client(name + " client")
	if err != nil {
		t.Fatal(err)
	}
	return pki{ca: ca, server: srv, client: cl}
}

func (p pki) files() map[string][]byte {
	return map[string][]byte{"ca.pem": p.ca.CertPEM, "cert.pem": p.client.CertPEM, "key.pem": p.client.KeyPEM}
}

func TestResolveContextTLSMaterial(t *testing.T) {
	p := newPKI(t, "lab")
	dir := t.TempDir()
	writeContext(t, dir, "mtls", "tcp://127.0.0.1:2376", false, p.files())
	writeContext(t, dir, "skip", "tcp://127.0.0.1:2376", true, nil)
	writeContext(t, dir, "plain", "tcp://127.0.0.1:2375", false, nil)
	writeContext(t, dir, "sock", "unix:///run/x.sock", false, p.files())
	writeContext(t, dir, "caonly", "tcp://127.0.0.1:2376", false, map[string][]byte{"ca.pem": p.ca.CertPEM})

	get := func(name string) Endpoint {
		t.Helper()
		ep, err := Resolve(Options{Context: name, ConfigDir: dir}, env{}.get)
		if err != nil {
			t.Fatalf("Resolve %s: %v", name, err)
		}
		return ep
	}
	t.Run("a context with ca, cert and key trusts only its CA and presents its certificate", func(t *testing.T) {
		ep := get("mtls")
		if ep.TLS == nil || ep.TLS.RootCAs == nil || len(ep.TLS.Certificates) != 1 || ep.TLS.InsecureSkipVerify {
			t.Fatalf("TLS config %+v", ep.TLS)
		}
		leaf, err := x509.ParseCertificate(ep.TLS.Certificates[0].Certificate[0])
		if err != nil || leaf.Subject.CommonName != "lab client" {
			t.Errorf("client certificate %v, %v", leaf, err)
		}
		if !strings.Contains(ep.String(), `context "mtls"`) || !strings.Contains(ep.String(), "over TLS") {
			t.Errorf("String() = %s", ep)
		}
	})
	t.Run("a context that skips verification has TLS without files", func(t *testing.T) {
		ep := get("skip")
		if ep.TLS == nil || !ep.TLS.InsecureSkipVerify || len(ep.TLS.Certificates) != 0 {
			t.Fatalf("TLS config %+v", ep.TLS)
		}
	})
	t.Run("a tcp context without TLS files talks plain HTTP", func(t *testing.T) {
		if ep := get("plain"); ep.TLS != nil {
			t.Fatalf("TLS config %+v", ep.TLS)
		}
	})
	t.Run("a unix socket context ignores TLS files", func(t *testing.T) {
		if ep := get("sock"); ep.TLS != nil || ep.Host != "unix:///run/x.sock" {
			t.Fatalf("endpoint %+v", ep)
		}
	})
	t.Run("a context with only a CA verifies the server and presents no certificate", func(t *testing.T) {
		ep := get("caonly")
		if ep.TLS == nil || ep.TLS.RootCAs == nil || len(ep.TLS.Certificates) != 0 {
			t.Fatalf("TLS config %+v", ep.TLS)
		}
	})
}

func TestResolveDefaultContextTLS(t *testing.T) {
	p := newPKI(t, "env")
	certs := t.TempDir()
	for f, b := range p.files() {
		mustWrite(t, filepath.Join(certs, f), b)
	}
	caOnly := t.TempDir()
	mustWrite(t, filepath.Join(caOnly, "ca.pem"), p.ca.CertPEM)
	empty := t.TempDir()

	t.Run("DOCKER_TLS_VERIFY with DOCKER_CERT_PATH verifies and presents cert.pem", func(t *testing.T) {
		ep, err := Resolve(Options{}, env{EnvHost: "tcp://127.0.0.1:2376", EnvTLSVerify: "1", EnvCertPath: certs}.get)
		if err != nil {
			t.Fatal(err)
		}
		if ep.TLS == nil || ep.TLS.InsecureSkipVerify || len(ep.TLS.Certificates) != 1 || ep.TLS.RootCAs == nil {
			t.Fatalf("TLS config %+v", ep.TLS)
		}
	})
	t.Run("--tls without --tlsverify skips verification", func(t *testing.T) {
		ep, err := Resolve(Options{Host: "tcp://127.0.0.1:2376", TLS: true}, env{EnvCertPath: certs}.get)
		if err != nil {
			t.Fatal(err)
		}
		if ep.TLS == nil || !ep.TLS.InsecureSkipVerify {
			t.Fatalf("TLS config %+v", ep.TLS)
		}
	})
	t.Run("a missing default cert.pem and key.pem are left out", func(t *testing.T) {
		ep, err := Resolve(Options{Host: "tcp://127.0.0.1:2376", TLSVerify: true}, env{EnvCertPath: caOnly}.get)
		if err != nil {
			t.Fatal(err)
		}
		if ep.TLS == nil || len(ep.TLS.Certificates) != 0 {
			t.Fatalf("TLS config %+v", ep.TLS)
		}
	})
	t.Run("the --tls* file flags win over DOCKER_CERT_PATH", func(t *testing.T) {
		ep, err := Resolve(Options{Host: "tcp://127.0.0.1:2376", TLSVerify: true,
			TLSCACert: filepath.Join(certs, "ca.pem"), TLSCert: filepath.Join(certs, "cert.pem"), TLSKey: filepath.Join(certs, "key.pem")},
			env{EnvCertPath: empty}.get)
		if err != nil {
			t.Fatal(err)
		}
		if ep.TLS == nil || len(ep.TLS.Certificates) != 1 {
			t.Fatalf("TLS config %+v", ep.TLS)
		}
	})
	t.Run("TLS with no DOCKER_HOST defaults to localhost:2376", func(t *testing.T) {
		ep, err := Resolve(Options{}, env{EnvTLSVerify: "1", EnvCertPath: certs}.get)
		if err != nil {
			t.Fatal(err)
		}
		if ep.Host != "tcp://localhost:2376" || ep.TLS == nil {
			t.Fatalf("endpoint %+v", ep)
		}
	})
	t.Run("a missing CA is an error naming its path", func(t *testing.T) {
		_, err := Resolve(Options{Host: "tcp://127.0.0.1:2376", TLSVerify: true}, env{EnvCertPath: empty}.get)
		if !errors.Is(err, ErrTLSMaterial) || !strings.Contains(err.Error(), filepath.Join(empty, "ca.pem")) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestResolveErrors(t *testing.T) {
	p := newPKI(t, "bad")
	dir := t.TempDir()
	sum := sha256.Sum256([]byte("keydir"))
	keydirTLS := filepath.Join(dir, "contexts", "tls", hex.EncodeToString(sum[:]), "docker")
	writeContext(t, dir, "keydir", "tcp://127.0.0.1:2376", false, map[string][]byte{"ca.pem": p.ca.CertPEM, "cert.pem": p.client.CertPEM})
	// A key.pem that is a link to a directory: listed like a file, unreadable even for root.
	if err := os.Symlink(t.TempDir(), filepath.Join(keydirTLS, "key.pem")); err != nil {
		t.Fatal(err)
	}
	writeContext(t, dir, "badcert", "tcp://127.0.0.1:2376", false, map[string][]byte{"ca.pem": p.ca.CertPEM, "cert.pem": []byte("not a certificate"), "key.pem": p.client.KeyPEM})
	writeContext(t, dir, "badca", "tcp://127.0.0.1:2376", false, map[string][]byte{"ca.pem": []byte("garbage")})
	writeContext(t, dir, "mismatch", "tcp://127.0.0.1:2376", false, map[string][]byte{"cert.pem": p.client.CertPEM, "key.pem": p.server.KeyPEM})
	writeContext(t, dir, "nokey", "tcp://127.0.0.1:2376", false, map[string][]byte{"cert.pem": p.client.CertPEM})
	writeContext(t, dir, "ssh", "ssh://me@host", false, nil)
	writeContext(t, dir, "noendpoint", "", false, nil)
	badConfig := t.TempDir()
	mustWrite(t, filepath.Join(badConfig, "config.json"), []byte("{not json"))

	cases := []struct {
		name     string
		opts     Options
		env      env
		is       error
		contains []string
	}{
		{"--context with -H is a conflict", Options{Context: "x", Host: "tcp://h:1"}, env{}, ErrConflict,
			[]string{"--host", "--context"}},
		{"an unknown --context names itself, its source and the store", Options{Context: "nope", ConfigDir: dir}, env{}, ErrContextNotFound,
			[]string{`"nope"`, "--context", filepath.Join(dir, "contexts")}},
		{"an unknown DOCKER_CONTEXT names the variable", Options{ConfigDir: dir}, env{EnvContext: "gone"}, ErrContextNotFound,
			[]string{`"gone"`, EnvContext}},
		{"an unknown currentContext names config.json", Options{ConfigDir: func() string { d := t.TempDir(); writeConfig(t, d, "stale"); return d }()}, env{}, ErrContextNotFound,
			[]string{`"stale"`, "currentContext in", "config.json"}},
		{"an unreadable key.pem names the context and the file", Options{Context: "keydir", ConfigDir: dir}, env{}, ErrTLSMaterial,
			[]string{`"keydir"`, filepath.Join(keydirTLS, "key.pem")}},
		{"a cert.pem that is no certificate names both files", Options{Context: "badcert", ConfigDir: dir}, env{}, ErrTLSMaterial,
			[]string{`"badcert"`, "cert.pem", "key.pem"}},
		{"a ca.pem that is no certificate names it", Options{Context: "badca", ConfigDir: dir}, env{}, ErrTLSMaterial,
			[]string{`"badca"`, "ca.pem holds no PEM certificate"}},
		{"a key that does not match the certificate is refused", Options{Context: "mismatch", ConfigDir: dir}, env{}, ErrTLSMaterial,
			[]string{`"mismatch"`, "private key does not match public key"}},
		{"a certificate without its key is refused", Options{Context: "nokey", ConfigDir: dir}, env{}, ErrTLSMaterial,
			[]string{`"nokey"`, "no key.pem"}},
		{"an ssh endpoint is refused clearly", Options{Context: "ssh", ConfigDir: dir}, env{}, ErrUnsupportedHost,
			[]string{`"ssh"`, "ssh://me@host"}},
		{"a context without a docker host says so", Options{Context: "noendpoint", ConfigDir: dir}, env{}, nil,
			[]string{`"noendpoint"`, "no docker endpoint host", "meta.json"}},
		{"a config.json that is not JSON names the file", Options{ConfigDir: badConfig}, env{}, nil,
			[]string{filepath.Join(badConfig, "config.json")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.env["HOME"] = t.TempDir()
			_, err := Resolve(c.opts, c.env.get)
			if err == nil {
				t.Fatal("no error")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v is not %v", err, c.is)
			}
			for _, s := range c.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

// engine is a fake engine over mutual TLS: it answers /_ping and requires a client certificate
// from its CA.
func engine(t *testing.T, p pki) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		_, _ = w.Write([]byte("OK"))
	}))
	pair, err := tls.X509KeyPair(p.server.CertPEM, p.server.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.ca.CertPEM)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return "tcp://" + srv.Listener.Addr().String()
}

func TestClientOverMutualTLS(t *testing.T) {
	lab, other := newPKI(t, "lab"), newPKI(t, "other")
	host := engine(t, lab)
	dir := t.TempDir()
	writeContext(t, dir, "good", host, false, lab.files())
	writeContext(t, dir, "wrongclient", host, false, map[string][]byte{"ca.pem": lab.ca.CertPEM, "cert.pem": other.client.CertPEM, "key.pem": other.client.KeyPEM})
	writeContext(t, dir, "wrongca", host, false, other.files())
	writeContext(t, dir, "refused", "tcp://127.0.0.1:1", false, lab.files())

	ping := func(name string) error {
		t.Helper()
		ep, err := Resolve(Options{Context: name, ConfigDir: dir}, env{}.get)
		if err != nil {
			t.Fatalf("Resolve %s: %v", name, err)
		}
		c, err := ep.NewClient()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Ping(context.Background())
		return err
	}
	if err := ping("good"); err != nil {
		t.Fatalf("ping with the right certificates: %v", err)
	}
	for _, name := range []string{"wrongclient", "wrongca"} {
		err := ping(name)
		if err == nil || !IsTLSError(err) {
			t.Errorf("%s: ping error %v is not a TLS error", name, err)
		}
	}
	if err := ping("refused"); err == nil || IsTLSError(err) {
		t.Errorf("refused: ping error %v should be a plain connection error", err)
	}
}
