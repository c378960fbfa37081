// Package client talks to Central's REST API over TLS for the stockade CLI.
//
// One idea to keep in mind: a call either returns Central's answer or an
// *Error that says, in words a CI log reader can act on, which Central failed
// and how (not reachable, untrusted certificate, credentials rejected, …).
// Transient failures — connection errors and 502/503/504 — are retried with
// exponential backoff and jitter; a 4xx never is. Credentials never appear in
// errors or logs.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults for Options.
const (
	DefaultTimeout = time.Minute
	DefaultRetries = 3
)

const (
	// maxResponse bounds a successful response body; a policy export of a
	// few thousand policies is a few megabytes.
	maxResponse = 64 << 20
	// maxErrorBody bounds what is read of an error response.
	maxErrorBody = 64 << 10
	// Backoff before retry n (1-based) is drawn from [d/2, d] with
	// d = min(backoffBase·2^(n-1), backoffMax).
	backoffBase = 500 * time.Millisecond
	backoffMax  = 10 * time.Second
	// maxRetryAfter caps how long a 503's Retry-After can make us wait.
	maxRetryAfter = 30 * time.Second
)

// Options configure a Client. Endpoint and one credential are required.
type Options struct {
	// Endpoint is Central's address: "host:port", "host" (port 443) or an
	// https:// URL, optionally with a path prefix. Plain http is refused.
	Endpoint string
	// Token is an API token, sent as "Authorization: Bearer …".
	Token string
	// Password is the admin user's password, used when Token is empty.
	Password string
	// CAFile is a PEM bundle trusted in addition to the system roots.
	CAFile string
	// InsecureSkipVerify disables certificate verification (test setups only).
	InsecureSkipVerify bool
	// Timeout bounds each attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times a transient failure is retried; negative
	// means none.
	Retries int
	// UserAgent identifies the caller, "stockade/v1.2.3".
	UserAgent string
	// Logger receives a warning per retry; nil discards.
	Logger *slog.Logger
}

// Client calls one Central. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	http      *http.Client
	authz     string // the Authorization header value; never logged
	retries   int
	userAgent string
	log       *slog.Logger
	// backoff returns the wait before retry n (1-based); tests shorten it.
	backoff func(n int) time.Duration
}

// New checks the options and returns a client; it does not contact Central.
func New(opt Options) (*Client, error) {
	base, err := ParseEndpoint(opt.Endpoint)
	if err != nil {
		return nil, err
	}
	var authz string
	switch {
	case opt.Token != "":
		if strings.ContainsAny(opt.Token, "\r\n") {
			return nil, errors.New("the API token contains a line break; check the token file")
		}
		authz = "Bearer " + opt.Token
	case opt.Password != "":
		authz = "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+opt.Password))
	default:
		return nil, errors.New("no credentials for Central: set STOCKADE_API_TOKEN, pass --token-file FILE, or give the admin password with --password or STOCKADE_ADMIN_PASSWORD")
	}

	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opt.InsecureSkipVerify} //nolint:gosec // the user asked for it explicitly
	if opt.CAFile != "" {
		pem, err := os.ReadFile(opt.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", opt.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: 15 * time.Second,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        4,
		IdleConnTimeout:     30 * time.Second,
	}
	logger := opt.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Client{
		base: base,
		http: &http.Client{
			Transport: transport,
			Timeout:   timeout,
			// A redirect would take the credentials elsewhere; Central never
			// redirects API calls.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		authz:     authz,
		retries:   max(opt.Retries, 0),
		userAgent: opt.UserAgent,
		log:       logger,
		backoff:   backoff,
	}, nil
}

// ParseEndpoint turns "host:port", "host" or "https://host[:port][/prefix]"
// into a base URL. Plain http and credentials in the URL are refused.
func ParseEndpoint(endpoint string) (*url.URL, error) {
	s := strings.TrimSpace(endpoint)
	if s == "" {
		return nil, errors.New("no Central endpoint: pass -e HOST:PORT or set STOCKADE_ENDPOINT")
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("endpoint %q: %w", s, err)
		}
		switch strings.ToLower(u.Scheme) {
		case "https":
		case "http":
			return nil, fmt.Errorf("endpoint %q: plain HTTP is refused; Central is reached over TLS only (use https:// or HOST:PORT)", s)
		default:
			return nil, fmt.Errorf("endpoint %q: unsupported scheme %q (want https)", s, u.Scheme)
		}
		if u.User != nil {
			return nil, fmt.Errorf("endpoint %q: credentials in the URL are refused; use STOCKADE_API_TOKEN, --token-file or --password", u.Redacted())
		}
		if u.Host == "" {
			return nil, fmt.Errorf("endpoint %q: no host", s)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("endpoint %q: a query or fragment is not allowed", s)
		}
		u.Scheme = "https"
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = ""
		return u, nil
	}
	if strings.ContainsAny(s, "/?#@ ") {
		return nil, fmt.Errorf("endpoint %q: want HOST:PORT or an https:// URL", s)
	}
	host := s
	if _, _, err := net.SplitHostPort(s); err != nil {
		// No port: "central.example.com" or a bare IPv6 address.
		if strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "[") {
			host = net.JoinHostPort(s, "443")
		} else if strings.Contains(s, ":") && !strings.HasSuffix(s, "]") {
			return nil, fmt.Errorf("endpoint %q: %w", s, err)
		} else {
			host = s + ":443"
		}
	}
	if _, port, err := net.SplitHostPort(host); err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", s, err)
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("endpoint %q: port %q is not a number from 1 to 65535", s, port)
	}
	return &url.URL{Scheme: "https", Host: host}, nil
}

// Endpoint is Central's address as used in messages, "central.example.com:443".
func (c *Client) Endpoint() string {
	if c.base.Path != "" {
		return c.base.Host + c.base.Path
	}
	return c.base.Host
}

// Error is a failed call to Central.
type Error struct {
	Endpoint string // host:port
	Method   string
	Path     string
	// Status is the HTTP status; 0 when no response arrived.
	Status int
	// Message and Details come from Central's error body.
	Message string
	Details []Detail
	// Attempts is how many times the call was tried.
	Attempts int
	// Err is the transport error when no response arrived.
	Err error
}

// Detail locates one problem Central found in a request.
type Detail struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	var b strings.Builder
	who := "central at " + e.Endpoint
	switch {
	case e.Status == 0 && isCertError(e.Err):
		fmt.Fprintf(&b, "%s presented a certificate that is not trusted: %v; pass --ca FILE with Central's CA certificate (or --insecure-skip-tls-verify on a test setup)", who, transportCause(e.Err))
	case e.Status == 0:
		fmt.Fprintf(&b, "%s is not reachable: %v", who, transportCause(e.Err))
	case e.Status == http.StatusUnauthorized:
		fmt.Fprintf(&b, "%s rejected the credentials (401)", who)
		if e.Message != "" {
			fmt.Fprintf(&b, ": %s", e.Message)
		}
		b.WriteString("; check STOCKADE_API_TOKEN, --token-file or the admin password")
	case e.Status == http.StatusForbidden:
		fmt.Fprintf(&b, "%s denied %s %s (403): the credentials' role lacks the permission", who, e.Method, e.Path)
		if e.Message != "" {
			fmt.Fprintf(&b, " (%s)", e.Message)
		}
	case e.Status == http.StatusNotFound:
		fmt.Fprintf(&b, "%s: %s (404)", who, cmpOr(e.Message, e.Path+" not found"))
	case e.Status == http.StatusTooManyRequests:
		fmt.Fprintf(&b, "%s refused the request for now (429): %s", who, cmpOr(e.Message, "too many requests"))
	case e.Status >= 300 && e.Status < 400:
		fmt.Fprintf(&b, "%s answered %s %s with a redirect (%d); check the endpoint", who, e.Method, e.Path, e.Status)
	case e.Status < 500:
		fmt.Fprintf(&b, "%s refused the request (%d): %s", who, e.Status, cmpOr(e.Message, http.StatusText(e.Status)))
	default:
		fmt.Fprintf(&b, "%s failed (%d): %s", who, e.Status, cmpOr(e.Message, http.StatusText(e.Status)))
	}
	for _, d := range e.Details {
		if d.Path != "" {
			fmt.Fprintf(&b, "\n  %s: %s", d.Path, d.Message)
		} else {
			fmt.Fprintf(&b, "\n  %s", d.Message)
		}
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// transportCause drops net/http's `Post "https://…":` prefix, which repeats
// what the message already says.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isCertError(err error) bool {
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
	)
	return errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr)
}

// request is one API call. A body is kept as bytes so that it can be sent
// again on retry.
type request struct {
	method string
	path   string // starting with /v1/
	query  url.Values
	body   any // encoded as JSON when not nil; []byte is sent as is
	// idempotent calls are retried on any transient failure; the others only
	// when Central surely did not act (the connection was never made, 503).
	idempotent bool
}

// do performs req and decodes a 2xx JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, req request, out any) error {
	var body []byte
	switch b := req.body.(type) {
	case nil:
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			return fmt.Errorf("encode %s %s request: %w", req.method, req.path, err)
		}
	}
	u := *c.base
	u.Path = c.base.Path + req.path
	u.RawQuery = req.query.Encode()

	for attempt := 1; ; attempt++ {
		resp, err := c.attempt(ctx, req.method, u.String(), body)
		if err != nil {
			apiErr := &Error{Endpoint: c.Endpoint(), Method: req.method, Path: req.path, Attempts: attempt, Err: err}
			if ctx.Err() != nil || isCertError(err) || attempt > c.retries || (!req.idempotent && !notSent(err)) {
				return apiErr
			}
			if werr := c.wait(ctx, attempt, 0, apiErr); werr != nil {
				return apiErr
			}
			continue
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			err := decodeBody(resp, out)
			// What we need from the body is read; closing only hands the
			// connection back, and its error says nothing about the answer.
			_ = resp.Body.Close()
			if err != nil {
				return fmt.Errorf("central at %s: %s %s: %w", c.Endpoint(), req.method, req.path, err)
			}
			return nil
		}
		apiErr := errorFromResponse(resp)
		_ = resp.Body.Close() // as above: what we need of the error body is read
		apiErr.Endpoint, apiErr.Method, apiErr.Path, apiErr.Attempts = c.Endpoint(), req.method, req.path, attempt
		retryable := resp.StatusCode == http.StatusServiceUnavailable ||
			(req.idempotent && (resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout))
		if !retryable || attempt > c.retries {
			return apiErr
		}
		if werr := c.wait(ctx, attempt, retryAfter(resp), apiErr); werr != nil {
			return apiErr
		}
	}
}

func (c *Client) attempt(ctx context.Context, method, u string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Authorization", c.authz)
	hreq.Header.Set("Accept", "application/json")
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		hreq.Header.Set("User-Agent", c.userAgent)
	}
	return c.http.Do(hreq)
}

// wait sleeps before retry n, logging why; it returns early with ctx's error.
func (c *Client) wait(ctx context.Context, n int, atLeast time.Duration, cause *Error) error {
	d := max(c.backoff(n), atLeast)
	c.log.LogAttrs(ctx, slog.LevelWarn, "retrying request to central",
		slog.String("endpoint", cause.Endpoint), slog.String("request", cause.Method+" "+cause.Path),
		slog.Int("attempt", n+1), slog.Int("of", c.retries+1), slog.Duration("in", d.Round(time.Millisecond)),
		slog.String("cause", cause.Error()))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is exponential with jitter: a random wait in [d/2, d].
func backoff(n int) time.Duration {
	d := backoffBase << min(n-1, 16)
	if d > backoffMax || d <= 0 {
		d = backoffMax
	}
	return d/2 + rand.N(d/2+1) //nolint:gosec // G404: retry jitter only spreads load; it needs no unpredictability
}

// notSent reports whether a transport error happened before the request
// could reach Central (the connection was never made).
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func retryAfter(resp *http.Response) time.Duration {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return min(time.Duration(secs)*time.Second, maxRetryAfter)
	}
	return 0
}

func errorFromResponse(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body struct {
		Error   string          `json:"error"`
		Message string          `json:"message"` // ACS/grpc-gateway form
		Details json.RawMessage `json:"details"`
	}
	if json.Unmarshal(data, &body) == nil {
		e.Message = cmpOr(body.Error, body.Message)
		var details []Detail
		if json.Unmarshal(body.Details, &details) == nil {
			for _, d := range details {
				if d.Message != "" || d.Path != "" {
					e.Details = append(e.Details, d)
				}
			}
		}
	}
	e.Message = sanitize(e.Message)
	return e
}

// sanitize keeps a server message to one printable line of bounded length.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return strings.TrimSpace(s)
}

func decodeBody(resp *http.Response, out any) error {
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if len(data) > maxResponse {
		return fmt.Errorf("response is larger than %d bytes", maxResponse)
	}
	if raw, ok := out.(*json.RawMessage); ok {
		if !json.Valid(data) {
			return errors.New("response is not JSON")
		}
		*raw = append((*raw)[:0], data...)
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}
