package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/stockade-dev/stockade/internal/client"
	"github.com/stockade-dev/stockade/internal/version"
)

// Environment variables: Stockade's, then ACS's as fallbacks.
const (
	envEndpoint    = "STOCKADE_ENDPOINT"
	envEndpointACS = "ROX_ENDPOINT"
	envToken       = "STOCKADE_API_TOKEN"
	envTokenACS    = "ROX_API_TOKEN" //nolint:gosec // G101: the name of an environment variable, not a credential
	envPassword    = "STOCKADE_ADMIN_PASSWORD"
	envPasswordACS = "ROX_ADMIN_PASSWORD" //nolint:gosec // G101: the name of an environment variable, not a credential
)

// maxTokenFile bounds a token file; tokens are a few hundred bytes.
const maxTokenFile = 64 << 10

// connFlags are the global flags that say how to reach Central.
type connFlags struct {
	endpoint  string
	tokenFile string
	password  string
	caFile    string
	insecure  bool
	timeout   time.Duration
	retries   int
}

func (c *connFlags) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVarP(&c.endpoint, "endpoint", "e", "", "Central's address, HOST:PORT or https://HOST[:PORT] (default $STOCKADE_ENDPOINT, then $ROX_ENDPOINT)")
	f.StringVar(&c.tokenFile, "token-file", "", "file holding an API token (default $STOCKADE_API_TOKEN, then $ROX_API_TOKEN)")
	f.StringVar(&c.password, "password", "", "the admin user's password (default $STOCKADE_ADMIN_PASSWORD, then $ROX_ADMIN_PASSWORD)")
	f.StringVar(&c.caFile, "ca", "", "PEM file with the CA certificate that signed Central's certificate")
	f.BoolVar(&c.insecure, "insecure-skip-tls-verify", false, "do not verify Central's certificate (test setups only)")
	f.DurationVar(&c.timeout, "timeout", client.DefaultTimeout, "time limit of each request to Central")
	f.IntVar(&c.retries, "retries", client.DefaultRetries, "retries of a request after a connection error or a 502/503/504")
}

// firstEnv returns the value of the first non-empty variable of names.
func (a *app) firstEnv(names ...string) string {
	for _, n := range names {
		if v := a.env.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// endpoint is Central's address from -e or the environment; "" when none.
func (a *app) endpoint() string {
	if a.conn.endpoint != "" {
		return a.conn.endpoint
	}
	return a.firstEnv(envEndpoint, envEndpointACS)
}

// credentials picks the token or password: flags first, then the
// environment, tokens before passwords.
func (a *app) credentials() (token, password string, err error) {
	if a.conn.tokenFile != "" && a.conn.password != "" {
		return "", "", usagef("--token-file and --password both given; pass one")
	}
	if a.conn.tokenFile != "" {
		f, err := os.Open(a.conn.tokenFile)
		if err != nil {
			return "", "", usagef("read token file: %w", err)
		}
		data, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
		_ = f.Close() // opened read-only: closing cannot lose data
		if err != nil {
			return "", "", usagef("read token file %s: %w", a.conn.tokenFile, err)
		}
		if len(data) > maxTokenFile {
			return "", "", usagef("token file %s is larger than %d bytes; is it the right file?", a.conn.tokenFile, maxTokenFile)
		}
		tok := string(bytes.TrimSpace(data))
		if tok == "" {
			return "", "", usagef("token file %s is empty", a.conn.tokenFile)
		}
		return tok, "", nil
	}
	if a.conn.password != "" {
		return "", a.conn.password, nil
	}
	if tok := a.firstEnv(envToken, envTokenACS); tok != "" {
		return tok, "", nil
	}
	if pw := a.firstEnv(envPassword, envPasswordACS); pw != "" {
		return "", pw, nil
	}
	return "", "", usageErr(errors.New("no credentials for Central: set STOCKADE_API_TOKEN, pass --token-file FILE, or give the admin password with --password or STOCKADE_ADMIN_PASSWORD"))
}

// client connects to the configured Central; it is a usage error when no
// endpoint is configured. what names the command for that message, and
// offline says whether it has an --offline alternative.
func (a *app) client(what string, offline bool) (*client.Client, error) {
	ep := a.endpoint()
	if ep == "" {
		hint := ""
		if offline {
			hint = ", or add --offline for the built-in policies"
		}
		return nil, usagef("%s needs Central: pass -e HOST:PORT or set STOCKADE_ENDPOINT%s", what, hint)
	}
	token, password, err := a.credentials()
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Options{
		Endpoint:           ep,
		Token:              token,
		Password:           password,
		CAFile:             a.conn.caFile,
		InsecureSkipVerify: a.conn.insecure,
		Timeout:            a.conn.timeout,
		Retries:            a.conn.retries,
		UserAgent:          "stockade/" + version.Version,
		Logger:             a.logger(),
	})
	if err != nil {
		return nil, usageErr(fmt.Errorf("connect to Central: %w", err))
	}
	return c, nil
}
