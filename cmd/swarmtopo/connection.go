package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/swarmtopo/swarmtopo/dockercontext"
)

// addConnectionFlags adds the docker CLI's connection flags, with the same names and
// shorthands, so that `swarmtopo --context prod plan` and `docker --context prod topology plan`
// mean the same. The values already in o are the defaults: in plugin mode they hold what the
// docker CLI was given before the plugin's name.
func addConnectionFlags(fs *pflag.FlagSet, o *dockercontext.Options) {
	fs.StringVarP(&o.Context, "context", "c", o.Context, `docker context to use (overrides DOCKER_HOST, DOCKER_CONTEXT and "docker context use")`)
	fs.StringVarP(&o.Host, "host", "H", o.Host, "docker daemon socket to connect to (the default context)")
	fs.StringVar(&o.ConfigDir, "config", o.ConfigDir, "location of the docker client config files (default $DOCKER_CONFIG or ~/.docker)")
	fs.BoolVar(&o.TLS, "tls", o.TLS, "use TLS with -H/DOCKER_HOST; implied by --tlsverify")
	fs.BoolVar(&o.TLSVerify, "tlsverify", o.TLSVerify, "use TLS with -H/DOCKER_HOST and verify the remote")
	fs.StringVar(&o.TLSCACert, "tlscacert", o.TLSCACert, "trust certs signed only by this CA (default $DOCKER_CERT_PATH/ca.pem)")
	fs.StringVar(&o.TLSCert, "tlscert", o.TLSCert, "TLS client certificate (default $DOCKER_CERT_PATH/cert.pem)")
	fs.StringVar(&o.TLSKey, "tlskey", o.TLSKey, "TLS client key (default $DOCKER_CERT_PATH/key.pem)")
}

// connect resolves the endpoint from the flags and environment like the docker CLI and opens
// a client to it. The endpoint is kept so that a TLS failure later can name it.
func (a *app) connect() (dockerClient, error) {
	ep, err := dockercontext.Resolve(a.conn, a.getenv)
	if err != nil {
		return nil, err
	}
	a.endpoint = &ep
	a.log.V(1).Info("Docker endpoint", "context", ep.Context, "source", ep.Source, "host", ep.Host, "tls", ep.TLS != nil)
	return ep.NewClient()
}

// explainTLS names the endpoint in a TLS handshake failure, which the Docker client reports
// only as "remote error: tls: ..." or "x509: ...", so the user knows which context's
// certificates to look at.
func (a *app) explainTLS(err error) error {
	var ee *exitError
	if a.endpoint == nil || !errors.As(err, &ee) || ee.err == nil || !dockercontext.IsTLSError(ee.err) {
		return err
	}
	return &exitError{code: ee.code, err: fmt.Errorf("TLS handshake with docker %s failed (check the certificates of the context or the --tls* flags): %w", a.endpoint, ee.err)}
}
