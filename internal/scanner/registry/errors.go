package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Kind classifies a registry error for the caller: the API edge maps it to
// a status code, the CLI to an exit message.
type Kind string

// The kinds of registry errors.
const (
	KindInvalid      Kind = "invalid"      // bad reference or integration
	KindUnreachable  Kind = "unreachable"  // no connection, or the registry failed (5xx)
	KindTLS          Kind = "tls"          // certificate or HTTP/HTTPS mismatch
	KindUnauthorized Kind = "unauthorized" // 401: credentials missing or rejected
	KindForbidden    Kind = "forbidden"    // 403: credentials lack access
	KindNotFound     Kind = "not found"    // 404: no such image, tag, platform or blob
	KindTimeout      Kind = "timeout"      // the context's deadline passed
	KindCorrupt      Kind = "corrupt"      // content did not match its digest or size
	KindOther        Kind = "error"
)

// Sentinels for errors.Is: errors.Is(err, registry.ErrNotFound) holds for an
// *Error of KindNotFound.
var (
	ErrInvalid      = errors.New("invalid registry request")
	ErrUnreachable  = errors.New("registry unreachable")
	ErrTLS          = errors.New("registry TLS failure")
	ErrUnauthorized = errors.New("registry credentials rejected")
	ErrForbidden    = errors.New("registry access denied")
	ErrNotFound     = errors.New("not found in registry")
	ErrTimeout      = errors.New("registry timed out")
	ErrCorrupt      = errors.New("registry content corrupt")
)

var kindSentinel = map[Kind]error{
	KindInvalid:      ErrInvalid,
	KindUnreachable:  ErrUnreachable,
	KindTLS:          ErrTLS,
	KindUnauthorized: ErrUnauthorized,
	KindForbidden:    ErrForbidden,
	KindNotFound:     ErrNotFound,
	KindTimeout:      ErrTimeout,
	KindCorrupt:      ErrCorrupt,
}

// Error is a registry failure said in plain words, naming the registry host
// and the image reference, with the underlying error kept for errors.As.
type Error struct {
	Kind Kind
	Host string // "127.0.0.1:5000"
	Ref  string // the reference as asked for, or the integration's endpoint
	// Msg is the plain-words part: "registry 127.0.0.1:5000 rejected the
	// credentials (integration "ci") for 127.0.0.1:5000/app:1".
	Msg string
	Err error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return e.Msg + ": " + cause(e.Err)
}

// cause is err's text without the refused plain-HTTP attempt
// go-containerregistry makes after HTTPS failed for a loopback or private
// address: the HTTPS failure is the one that matters.
func cause(err error) string {
	s := err.Error()
	if errors.Is(err, errPlainHTTP) {
		if i := strings.Index(s, `; Get "http://`); i > 0 && strings.Contains(s[i:], errPlainHTTP.Error()) {
			return s[:i]
		}
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of the error's kind.
func (e *Error) Is(target error) bool {
	s, ok := kindSentinel[e.Kind]
	return ok && s == target
}

// errPlainHTTP is what the transport answers when asked to speak plain HTTP
// for a registry whose integration is not marked insecure.
var errPlainHTTP = errors.New("plain HTTP refused: the registry is not marked insecure")

// failure says what went wrong talking to host about ref; who names the
// credentials used ("anonymous", `integration "ci"`).
type failure struct {
	host, ref, who string
	anonymous      bool
}

// classify turns an error from go-containerregistry or net/http into an
// *Error. what is the object being fetched ("image …", "layer sha256:…").
func (f failure) classify(err error, what string) *Error {
	if err == nil {
		return nil
	}
	var re *Error
	if errors.As(err, &re) {
		return re
	}
	e := &Error{Host: f.host, Ref: f.ref, Err: err}
	var te *transport.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || isNetTimeout(err):
		e.Kind = KindTimeout
		e.Msg = fmt.Sprintf("registry %s did not answer in time for %s", f.host, what)
	case errors.Is(err, context.Canceled):
		e.Kind = KindOther
		e.Msg = fmt.Sprintf("request to registry %s for %s was canceled", f.host, what)
	case isRefused(err):
		e.Kind = KindUnreachable
		e.Msg = fmt.Sprintf("registry %s is not reachable", f.host)
	case isCertificateError(err):
		e.Kind = KindTLS
		e.Msg = fmt.Sprintf("registry %s failed TLS verification (trust its CA, or mark the integration to skip TLS verification)", f.host)
	case errors.Is(err, errPlainHTTP) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		e.Kind = KindTLS
		e.Msg = fmt.Sprintf("registry %s does not serve HTTPS; plain HTTP is used only when the integration is marked insecure", f.host)
	case errors.As(err, &te):
		f.classifyStatus(e, te, what)
	case isJSONError(err):
		e.Kind = KindCorrupt
		e.Msg = fmt.Sprintf("%s from registry %s is malformed", what, f.host)
	case isCorrupt(err):
		e.Kind = KindCorrupt
		e.Msg = fmt.Sprintf("%s from registry %s is truncated or corrupted", what, f.host)
	case isNetError(err):
		e.Kind = KindUnreachable
		e.Msg = fmt.Sprintf("registry %s is not reachable", f.host)
	default:
		e.Kind = KindOther
		e.Msg = fmt.Sprintf("registry %s: %s", f.host, what)
	}
	return e
}

func (f failure) classifyStatus(e *Error, te *transport.Error, what string) {
	codes := map[transport.ErrorCode]bool{}
	for _, d := range te.Errors {
		codes[d.Code] = true
	}
	switch {
	case codes[transport.ManifestUnknownErrorCode] || codes[transport.NameUnknownErrorCode] ||
		codes[transport.BlobUnknownErrorCode] || te.StatusCode == http.StatusNotFound:
		e.Kind = KindNotFound
		e.Msg = fmt.Sprintf("%s not found in registry %s", what, f.host)
	case te.StatusCode == http.StatusUnauthorized && f.anonymous:
		e.Kind = KindUnauthorized
		e.Msg = fmt.Sprintf("registry %s requires credentials for %s and none are configured", f.host, f.ref)
	case te.StatusCode == http.StatusUnauthorized:
		e.Kind = KindUnauthorized
		e.Msg = fmt.Sprintf("registry %s rejected the credentials (%s) for %s", f.host, f.who, f.ref)
	case te.StatusCode == http.StatusForbidden || codes[transport.DeniedErrorCode]:
		e.Kind = KindForbidden
		e.Msg = fmt.Sprintf("registry %s denied access to %s (%s)", f.host, f.ref, f.who)
	case te.StatusCode == http.StatusTooManyRequests || codes[transport.TooManyRequestsErrorCode]:
		e.Kind = KindUnreachable
		e.Msg = fmt.Sprintf("registry %s is rate limiting requests for %s", f.host, what)
	case te.StatusCode >= 500:
		e.Kind = KindUnreachable
		e.Msg = fmt.Sprintf("registry %s failed (HTTP %d) for %s", f.host, te.StatusCode, what)
	default:
		e.Kind = KindOther
		e.Msg = fmt.Sprintf("registry %s answered HTTP %d for %s", f.host, te.StatusCode, what)
	}
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isRefused(err error) bool {
	var dns *net.DNSError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.As(err, &dns)
}

func isNetError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}

func isCertificateError(err error) bool {
	var (
		unknown   x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
		verifyErr *tls.CertificateVerificationError
	)
	return errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &hostname) || errors.As(err, &verifyErr)
}

func isJSONError(err error) bool {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	return errors.As(err, &syntax) || errors.As(err, &typ)
}

// isCorrupt recognizes go-containerregistry's digest and size verification
// failures, which it reports as plain errors.
func isCorrupt(err error) bool {
	s := err.Error()
	return strings.Contains(s, "error verifying") || strings.Contains(s, "does not match requested digest") ||
		strings.Contains(s, "does not match expected size") || strings.Contains(s, "unexpected EOF")
}
