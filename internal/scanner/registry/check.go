package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Test logs in to the integration's registry for real and reads from it,
// returning the registry's refusal in plain words (an *Error) when it
// fails. With a repository path in the endpoint it lists that repository's
// tags; otherwise it checks GET /v2/ with the credentials and lists the
// catalog when the registry allows it (many, Docker Hub among them, do not,
// which is not a failure). Only opts.RootCAs and opts.UserAgent are used.
func Test(ctx context.Context, in Integration, opts Options) error {
	if err := in.Validate(); err != nil {
		return err
	}
	ep, err := parseEndpoint(in.endpointOrDefault())
	if err != nil {
		return &Error{Kind: KindInvalid, Ref: in.Name, Msg: fmt.Sprintf("integration %q: endpoint", in.Name), Err: err}
	}
	var nameOpts []name.Option
	if in.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	reg, err := name.NewRegistry(ep.host, nameOpts...)
	if err != nil {
		return &Error{Kind: KindInvalid, Host: ep.host, Ref: in.Name, Msg: fmt.Sprintf("integration %q: endpoint", in.Name), Err: err}
	}
	auth := in.authenticator(&http.Client{Timeout: awsClientTimeout})
	access := Access{
		Source: fmt.Sprintf("integration %q", in.Name), Integration: &in, Auth: auth,
		Username: in.username(), Insecure: in.Insecure, SkipTLSVerify: in.SkipTLSVerify,
	}
	f := failure{host: reg.RegistryStr(), ref: in.endpointOrDefault(), who: access.who(), anonymous: access.Anonymous()}
	base := newTransport(access, opts.RootCAs)
	if opts.UserAgent != "" {
		base = transport.NewUserAgent(base, opts.UserAgent)
	}

	scope := catalogScope
	if ep.path != "" {
		repo, err := name.NewRepository(ep.host+"/"+ep.path, nameOpts...)
		if err != nil {
			return &Error{Kind: KindInvalid, Host: ep.host, Ref: in.Name, Msg: fmt.Sprintf("integration %q: endpoint path", in.Name), Err: err}
		}
		scope = repo.Scope(transport.PullScope)
	}
	// Logging in: the ping, and for token auth the token exchange, which
	// checks the credentials.
	rt, err := transport.NewWithContext(ctx, reg, auth, base, []string{scope})
	var te *transport.Error
	if scope == catalogScope && errors.As(err, &te) && te.StatusCode == http.StatusForbidden {
		// The token server will not grant the catalog to this user; a
		// token for nothing still proves the credentials.
		rt, err = transport.NewWithContext(ctx, reg, auth, base, nil)
	}
	if err != nil {
		return f.classify(err, "login")
	}
	// GET /v2/ with the credentials: basic-auth registries check them here.
	if _, err := get(ctx, rt, fmt.Sprintf("https://%s/v2/", reg.RegistryStr())); err != nil {
		return f.classify(err, "login")
	}
	if ep.path != "" {
		u := fmt.Sprintf("https://%s/v2/%s/tags/list?n=1", reg.RegistryStr(), ep.path)
		if _, err := get(ctx, rt, u); err != nil {
			return f.classify(err, "repository "+ep.host+"/"+ep.path)
		}
		return nil
	}
	// The catalog is optional; a registry that refuses it has still
	// accepted the login above.
	_, _ = get(ctx, rt, fmt.Sprintf("https://%s/v2/_catalog?%s", reg.RegistryStr(), url.Values{"n": {"1"}}.Encode()))
	return nil
}

// catalogScope is the token scope for listing repositories.
const catalogScope = "registry:catalog:*"

// maxCheckBody bounds what Test reads of an answer.
const maxCheckBody = 1 << 20

// get does a GET through rt and returns the body, or a *transport.Error
// for any status but 200.
func get(ctx context.Context, rt http.RoundTripper, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxCheckBody))
}
