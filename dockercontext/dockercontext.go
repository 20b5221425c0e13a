// Package dockercontext finds the Docker endpoint the docker CLI would use, so that swarmtopo
// (plain or as the `docker topology` plugin) reaches the same engine as `docker node ls` typed
// in the same shell.
//
// The rules follow docker/cli's cli/command/cli.go (resolveContextName, resolveDockerEndpoint
// and resolveDefaultDockerEndpoint, v28):
//
//  1. --context names the context. Given together with -H/--host it is an error.
//  2. -H/--host, or a non-empty DOCKER_HOST, selects the "default" context.
//  3. DOCKER_CONTEXT names the context.
//  4. "currentContext" in config.json (in --config, else $DOCKER_CONFIG, else ~/.docker).
//  5. Otherwise "default".
//
// The "default" context is the engine named by -H, else DOCKER_HOST, else the local unix
// socket, with TLS from the --tls* flags and DOCKER_TLS, DOCKER_TLS_VERIFY and
// DOCKER_CERT_PATH. A named context is read from the docker CLI's context store with
// docker/cli's own store package: contexts/meta/<sha256 of the name>/meta.json holds the
// "docker" endpoint's Host and SkipTLSVerify, contexts/tls/<sha256>/docker/{ca,cert,key}.pem
// its TLS material.
package dockercontext

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/cli/cli/context/store"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/tlsconfig"
)

// DefaultContextName is the context that stands for "no context": the environment and flags.
const DefaultContextName = "default"

// endpointName is the key of the Docker Engine endpoint in a context's metadata.
const endpointName = "docker"

// The docker CLI's environment variables.
const (
	EnvHost      = "DOCKER_HOST"
	EnvContext   = "DOCKER_CONTEXT"
	EnvConfig    = "DOCKER_CONFIG"
	EnvTLS       = "DOCKER_TLS"
	EnvTLSVerify = "DOCKER_TLS_VERIFY"
	EnvCertPath  = "DOCKER_CERT_PATH"
)

var (
	// ErrConflict is --context given together with -H/--host.
	ErrConflict = errors.New("conflicting options: cannot specify both --host and --context")
	// ErrContextNotFound is a context name with no entry in the context store.
	ErrContextNotFound = errors.New("docker context not found")
	// ErrTLSMaterial is a context's or the flags' TLS files that cannot be read or used.
	ErrTLSMaterial = errors.New("bad TLS material")
	// ErrUnsupportedHost is an endpoint this package cannot dial (ssh://, npipe://).
	ErrUnsupportedHost = errors.New("unsupported docker host")
)

// Options are the docker CLI's connection flags; the zero value means none was given.
type Options struct {
	Context   string // --context / -c
	Host      string // -H / --host
	ConfigDir string // --config

	TLS       bool   // --tls
	TLSVerify bool   // --tlsverify
	TLSCACert string // --tlscacert
	TLSCert   string // --tlscert
	TLSKey    string // --tlskey
}

// Endpoint is the resolved engine: where it is, how to talk TLS to it, and which rule chose it
// (for error messages).
type Endpoint struct {
	// Context is the context's name, DefaultContextName for the default one.
	Context string
	// Source says what chose the context: "--context", "-H", "DOCKER_HOST", "DOCKER_CONTEXT",
	// "currentContext in /root/.docker/config.json", or "" when nothing did.
	Source string
	// Host is the engine address, unix:///var/run/docker.sock or tcp://host:port.
	Host string
	// TLS is nil for a plain connection.
	TLS *tls.Config
}

// String names the endpoint for messages: context "lab" (tcp://10.0.0.1:2376, TLS).
func (e Endpoint) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "context %q", e.Context)
	if e.Source != "" {
		fmt.Fprintf(&b, " (from %s)", e.Source)
	}
	b.WriteString(" at " + e.Host)
	if e.TLS != nil {
		b.WriteString(" over TLS")
	}
	return b.String()
}

// Resolve picks the endpoint by the docker CLI's rules. getenv reads the environment
// (os.Getenv; tests pass their own).
func Resolve(o Options, getenv func(string) string) (Endpoint, error) {
	if o.Context != "" && o.Host != "" {
		return Endpoint{}, ErrConflict
	}
	configDir := o.ConfigDir
	if configDir == "" {
		configDir = getenv(EnvConfig)
	}
	if configDir == "" {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		configDir = filepath.Join(home, ".docker")
	}

	name, source, err := contextName(o, configDir, getenv)
	if err != nil {
		return Endpoint{}, err
	}
	if name == DefaultContextName {
		ep, err := defaultEndpoint(o, configDir, getenv)
		ep.Source = source
		return ep, err
	}
	return storeEndpoint(filepath.Join(configDir, "contexts"), name, source)
}

// contextName is resolveContextName of docker/cli: the name and what chose it.
func contextName(o Options, configDir string, getenv func(string) string) (name, source string, err error) {
	switch {
	case o.Context != "":
		return o.Context, "--context", nil
	case o.Host != "":
		return DefaultContextName, "-H", nil
	case getenv(EnvHost) != "":
		return DefaultContextName, EnvHost, nil
	case getenv(EnvContext) != "":
		return getenv(EnvContext), EnvContext, nil
	}
	path := filepath.Join(configDir, "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return DefaultContextName, "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("reading docker config: %w", err)
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", "", fmt.Errorf("parsing docker config %s: %w", path, err)
	}
	if cfg.CurrentContext == "" {
		return DefaultContextName, "", nil
	}
	return cfg.CurrentContext, "currentContext in " + path, nil
}

// defaultEndpoint is resolveDefaultDockerEndpoint of docker/cli with the defaults of its
// ClientOptions: TLS is on with --tls, --tlsverify, DOCKER_TLS or DOCKER_TLS_VERIFY; the files
// default to ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH, else the config directory; a
// default certificate or key that does not exist is left out, a CA must exist. Verification is
// skipped unless --tlsverify or DOCKER_TLS_VERIFY.
func defaultEndpoint(o Options, configDir string, getenv func(string) string) (Endpoint, error) {
	ep := Endpoint{Context: DefaultContextName}
	verify := o.TLSVerify || getenv(EnvTLSVerify) != ""
	useTLS := o.TLS || verify || getenv(EnvTLS) != ""

	host := o.Host
	if host == "" {
		host = getenv(EnvHost)
	}
	switch {
	case host != "":
	case useTLS:
		host = "tcp://localhost:2376"
	default:
		host = client.DefaultDockerHost
	}
	var err error
	if ep.Host, err = normalizeHost(host); err != nil {
		return ep, err
	}
	if !useTLS || isSocket(ep.Host) {
		return ep, nil
	}

	certPath := getenv(EnvCertPath)
	if certPath == "" {
		certPath = configDir
	}
	pick := func(flag, file string, optional bool) (string, error) {
		if flag != "" {
			return flag, nil
		}
		p := filepath.Join(certPath, file)
		if _, err := os.Stat(p); optional && errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return p, nil
	}
	var files [3]string
	for i, f := range []struct {
		flag, file string
		optional   bool
	}{{o.TLSCACert, "ca.pem", false}, {o.TLSCert, "cert.pem", true}, {o.TLSKey, "key.pem", true}} {
		if files[i], err = pick(f.flag, f.file, f.optional); err != nil {
			return ep, err
		}
	}
	var m material
	for i, dst := range []*[]byte{&m.ca, &m.cert, &m.key} {
		if files[i] == "" {
			continue
		}
		if *dst, err = os.ReadFile(files[i]); err != nil {
			return ep, fmt.Errorf("%w: reading %s: %w", ErrTLSMaterial, files[i], err)
		}
	}
	m.caPath, m.certPath, m.keyPath = files[0], files[1], files[2]
	if ep.TLS, err = m.config(!verify); err != nil {
		return ep, fmt.Errorf("default context: %w", err)
	}
	return ep, nil
}

// endpointMeta is the "docker" endpoint of a context's meta.json (docker/cli's
// context.EndpointMetaBase).
type endpointMeta struct {
	Host          string `json:",omitempty"`
	SkipTLSVerify bool
}

// storeEndpoint reads a named context from the docker CLI's context store in dir.
func storeEndpoint(dir, name, source string) (Endpoint, error) {
	ep := Endpoint{Context: name, Source: source}
	s := store.New(dir, store.NewConfig(
		func() any { return &map[string]any{} },
		store.EndpointTypeGetter(endpointName, func() any { return &endpointMeta{} }),
	))
	meta, err := s.GetMetadata(name)
	if cerrdefs.IsNotFound(err) {
		return ep, fmt.Errorf("%w: %q (from %s) is not in %s", ErrContextNotFound, name, source, dir)
	}
	if err != nil {
		return ep, fmt.Errorf("reading docker context %q (from %s): %w", name, source, err)
	}
	em, ok := meta.Endpoints[endpointName].(endpointMeta)
	if !ok || em.Host == "" {
		return ep, fmt.Errorf("docker context %q (from %s) has no docker endpoint host in %s",
			name, source, filepath.Join(s.GetStorageInfo(name).MetadataPath, "meta.json"))
	}
	if ep.Host, err = normalizeHost(em.Host); err != nil {
		return ep, fmt.Errorf("docker context %q (from %s): %w", name, source, err)
	}
	if isSocket(ep.Host) {
		return ep, nil
	}

	// The CLI turns TLS on for a tcp endpoint when the context has TLS files or skips
	// verification; with neither it talks plain HTTP.
	files, err := s.ListTLSFiles(name)
	if err != nil {
		return ep, fmt.Errorf("%w: docker context %q: listing %s: %w", ErrTLSMaterial, name, s.GetStorageInfo(name).TLSPath, err)
	}
	tlsDir := filepath.Join(s.GetStorageInfo(name).TLSPath, endpointName)
	var m material
	for _, f := range files[endpointName] {
		data, err := s.GetTLSData(name, endpointName, f)
		if err != nil {
			return ep, fmt.Errorf("%w: docker context %q: reading %s: %w", ErrTLSMaterial, name, filepath.Join(tlsDir, f), err)
		}
		switch f {
		case "ca.pem":
			m.ca, m.caPath = data, filepath.Join(tlsDir, f)
		case "cert.pem":
			m.cert, m.certPath = data, filepath.Join(tlsDir, f)
		case "key.pem":
			m.key, m.keyPath = data, filepath.Join(tlsDir, f)
		}
	}
	if m.ca == nil && m.cert == nil && m.key == nil && !em.SkipTLSVerify {
		return ep, nil
	}
	if ep.TLS, err = m.config(em.SkipTLSVerify); err != nil {
		return ep, fmt.Errorf("docker context %q: %w", name, err)
	}
	return ep, nil
}

// material is the PEM data of a TLS endpoint and where it came from.
type material struct {
	ca, cert, key             []byte
	caPath, certPath, keyPath string
}

// config builds the client TLS configuration the way docker/cli's context/docker package does:
// go-connections' client defaults, the CA as the only root, the client key pair if both halves
// are there. Encrypted keys are refused, as the docker CLI does since v24.
func (m material) config(skipVerify bool) (*tls.Config, error) {
	var opts []func(*tls.Config)
	if m.ca != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(m.ca) {
			return nil, fmt.Errorf("%w: %s holds no PEM certificate", ErrTLSMaterial, m.caPath)
		}
		opts = append(opts, func(c *tls.Config) { c.RootCAs = pool })
	}
	switch {
	case m.cert != nil && m.key != nil:
		b, _ := pem.Decode(m.key)
		if b == nil {
			return nil, fmt.Errorf("%w: %s holds no PEM private key", ErrTLSMaterial, m.keyPath)
		}
		//lint:ignore SA1019 only used to refuse such keys with a clear message
		if x509.IsEncryptedPEMBlock(b) {
			return nil, fmt.Errorf("%w: %s is an encrypted private key, which the docker CLI does not support either", ErrTLSMaterial, m.keyPath)
		}
		pair, err := tls.X509KeyPair(m.cert, m.key)
		if err != nil {
			return nil, fmt.Errorf("%w: %s and %s: %w", ErrTLSMaterial, m.certPath, m.keyPath, err)
		}
		opts = append(opts, func(c *tls.Config) { c.Certificates = []tls.Certificate{pair} })
	case m.cert != nil:
		return nil, fmt.Errorf("%w: %s has no key.pem beside it", ErrTLSMaterial, m.certPath)
	case m.key != nil:
		return nil, fmt.Errorf("%w: %s has no cert.pem beside it", ErrTLSMaterial, m.keyPath)
	}
	if skipVerify {
		opts = append(opts, func(c *tls.Config) { c.InsecureSkipVerify = true })
	}
	return tlsconfig.ClientDefault(opts...), nil
}

// normalizeHost gives a bare host:port the tcp scheme, as the docker CLI's -H does, and refuses
// what this package cannot dial.
func normalizeHost(h string) (string, error) {
	h = strings.TrimSpace(h)
	if !strings.Contains(h, "://") {
		h = "tcp://" + h
	}
	switch proto, _, _ := strings.Cut(h, "://"); proto {
	case "unix", "tcp", "http", "https":
		return h, nil
	default:
		return "", fmt.Errorf("%w %q: only unix:// and tcp:// endpoints are supported", ErrUnsupportedHost, h)
	}
}

func isSocket(host string) bool { return strings.HasPrefix(host, "unix://") }

// ClientOpts configures a Docker API client for the endpoint. The API version comes from
// DOCKER_API_VERSION if set, else is negotiated, as the docker CLI does.
func (e Endpoint) ClientOpts() []client.Opt {
	var opts []client.Opt
	if e.TLS != nil {
		opts = append(opts, client.WithHTTPClient(&http.Client{
			Transport: &http.Transport{
				TLSClientConfig: e.TLS,
				DialContext:     (&net.Dialer{KeepAlive: 30 * time.Second, Timeout: 30 * time.Second}).DialContext,
			},
			CheckRedirect: client.CheckRedirect,
		}))
	}
	return append(opts, client.WithHost(e.Host), client.WithVersionFromEnv(), client.WithAPIVersionNegotiation())
}

// NewClient returns a Docker API client for the endpoint.
func (e Endpoint) NewClient() (*client.Client, error) {
	c, err := client.NewClientWithOpts(e.ClientOpts()...)
	if err != nil {
		return nil, fmt.Errorf("creating docker client for %s: %w", e, err)
	}
	return c, nil
}

// IsTLSError reports whether err is a TLS handshake failure: the server's certificate not
// trusted, or the server refusing the client's certificate (a TLS alert), or TLS spoken to a
// plain endpoint.
func IsTLSError(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
		record    tls.RecordHeaderError
		alert     tls.AlertError
		op        *net.OpError
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &unknownCA), errors.As(err, &invalid),
		errors.As(err, &hostname), errors.As(err, &record), errors.As(err, &alert):
		return true
	case errors.As(err, &op):
		// A TLS alert from the peer arrives as net.OpError{Op: "remote error"} wrapping the
		// unexported alert type, whose text starts with "tls: ".
		return op.Op == "remote error" && strings.HasPrefix(op.Err.Error(), "tls: ")
	}
	return false
}
