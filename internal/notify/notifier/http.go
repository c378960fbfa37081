package notifier

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Timeout bounds one delivery attempt.
const Timeout = 15 * time.Second

// MaxAnswer bounds how much of a remote's answer a notifier reads: any
// service's error document fits.
const MaxAnswer = 64 << 10

// maxErrorBody is how much of a refusal's body an error quotes.
const maxErrorBody = 512

// Error is a delivery failure. Status is the remote's HTTP status (0 when no
// answer came); Message is in plain words and never holds the target URL.
type Error struct {
	Status  int
	Message string
	// Body is the remote's whole answer to a refusal (at most MaxAnswer
	// bytes, the target URL's path, query and user info scrubbed), for a
	// notifier that reads the reason from its service's error document;
	// Message quotes only its start. Nil when no answer came or it could
	// not be read.
	Body       []byte
	permanent  bool
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// WithMessage returns a copy of e that says message instead: a notifier's
// own words for a refusal (the service's reason, what to check), classified
// as e is (Permanent, RetryAfter).
func (e *Error) WithMessage(message string) *Error {
	c := *e
	c.Message = message
	return &c
}

// Scrub removes each non-empty secret from e's message and body: a remote
// may echo the credential it refused.
func (e *Error) Scrub(secrets ...string) {
	e.Message = Scrub(e.Message, secrets...)
	if len(e.Body) > 0 {
		e.Body = []byte(Scrub(string(e.Body), secrets...))
	}
}

// Scrub replaces each non-empty secret in s with "…".
func Scrub(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "…")
		}
	}
	return s
}

// Permanent says err cannot succeed by retrying the same message: the remote
// refused the message itself (400, 404, 413, 422…). Authentication failures
// (401, 403) are not permanent: a fixed credential makes the retry pass.
func Permanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.permanent
}

// Fail returns a permanent error in plain words, for configuration or
// content a retry cannot fix.
func Fail(format string, args ...any) error {
	return &Error{Message: fmt.Sprintf(format, args...), permanent: true}
}

// RetryAfter is how long the remote asked to wait (429, 503), or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// TLSConfig builds a client TLS configuration: the system roots plus caPEM
// when given, or no verification when skipVerify.
func TLSConfig(caPEM string, skipVerify bool) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if skipVerify {
		cfg.InsecureSkipVerify = true
		return cfg, nil
	}
	if strings.TrimSpace(caPEM) != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(caPEM)) {
			return nil, Invalid("caCert", "no PEM certificate found")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// HTTPClient returns a client for one notifier: bounded time per attempt,
// no cookie jar, redirects not followed (a webhook that redirects is
// misconfigured, and following would resend credentials elsewhere).
func HTTPClient(tlsCfg *tls.Config) *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: Timeout,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Do sends req and returns the response body of a 2xx answer (at most
// limit bytes). Any other outcome is an *Error naming the host — never the
// full URL, whose path or query may be the secret — and quoting the start
// of the remote's answer, which it keeps whole (bounded) in Body.
func Do(ctx context.Context, c *http.Client, req *http.Request, limit int64) ([]byte, error) {
	host := req.URL.Host
	// The target is the notifier's configured endpoint: reaching where an
	// administrator points it is the point (the API needs Notifier write).
	resp, err := c.Do(req.WithContext(ctx)) //nolint:gosec // G704: see above

	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &Error{Message: fmt.Sprintf("send to %s: %v", host, scrubURL(err.Error(), req.URL))}
	}
	defer resp.Body.Close() //nolint:errcheck // the body was read; closing loses nothing
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, limit))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if readErr != nil {
			return nil, &Error{Status: resp.StatusCode, Message: fmt.Sprintf("read answer from %s: %v", host, readErr)}
		}
		return body, nil
	}
	e := &Error{Status: resp.StatusCode}
	if readErr == nil && len(body) > 0 {
		e.Body = []byte(scrubURL(string(body[:min(len(body), MaxAnswer)]), req.URL))
	}
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusGone, http.StatusRequestEntityTooLarge,
		http.StatusUnprocessableEntity, http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		e.permanent = true
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e.permanent = true
	}
	e.Message = fmt.Sprintf("%s answered %s", host, resp.Status)
	if q := quote(body, req.URL); q != "" {
		e.Message += ": " + q
	}
	return nil, e
}

func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return min(time.Duration(n)*time.Second, time.Hour)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return min(d, time.Hour)
		}
	}
	return 0
}

// quote is the printable start of a refusal body, one line.
func quote(body []byte, u *url.URL) string {
	s := strings.ToValidUTF8(string(body), "?")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxErrorBody {
		cut := maxErrorBody
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return scrubURL(s, u)
}

// scrubURL removes the URL's path, query and user info from s: a webhook
// URL's path is its secret.
func scrubURL(s string, u *url.URL) string {
	if u == nil {
		return s
	}
	for _, secret := range []string{u.String(), u.RawQuery, u.EscapedPath(), u.User.String()} {
		if len(secret) > 1 {
			s = strings.ReplaceAll(s, secret, "…")
		}
	}
	return s
}
