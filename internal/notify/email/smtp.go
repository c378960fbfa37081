package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// deliver runs one SMTP session: connect, secure, authenticate, send raw
// to every address in to, quit. The whole session is bounded by ctx and by
// n.timeout: the connection's deadline is set once and the connection is
// closed when ctx ends, so no step can hang.
func (n *Notifier) deliver(ctx context.Context, to []*mail.Address, raw []byte) error {
	limit := n.timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < limit {
		limit = time.Until(dl).Round(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	fail := func(step string, err error) error { return n.failure(ctx, limit, step, err) }

	conn, err := n.connect(ctx)
	if err != nil {
		return fail("connect", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer func() { _ = conn.Close() }()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return fail("connect", err)
		}
	}

	host, _, _ := net.SplitHostPort(n.server)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fail("read greeting", err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Hello(n.helo); err != nil {
		return fail("say EHLO", err)
	}
	if _, isTLS := conn.(*tls.Conn); !isTLS && n.mode != tlsNone {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return notifier.Fail("send mail via %s: the server does not offer STARTTLS, and TLS is required (disableTLS with startTLSAuthMethod DISABLED sends in plain text)", n.server)
		}
		if err := c.StartTLS(n.tls); err != nil {
			return fail("STARTTLS", err)
		}
	}
	if n.mech != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return notifier.Fail("send mail via %s: the server offers no authentication (set allowUnauthenticatedSmtp if it needs none)", n.server)
		}
		if !hasWord(mechs, n.mech) {
			return notifier.Fail("send mail via %s: the server offers AUTH %s, not %s (set startTLSAuthMethod)", n.server, mechs, n.mech)
		}
		var a smtp.Auth = plainAuth{user: n.username, pass: n.password}
		if n.mech == AuthLogin {
			a = &loginAuth{user: n.username, pass: n.password}
		}
		if err := c.Auth(a); err != nil {
			return fail("log in as "+n.username, err)
		}
	}
	if err := c.Mail(n.from.Address); err != nil {
		return fail("MAIL FROM "+n.from.Address, err)
	}
	for _, a := range to {
		if err := c.Rcpt(a.Address); err != nil {
			return fail("RCPT TO "+a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := io.Copy(w, bytes.NewReader(raw)); err != nil {
		return fail("send message", err)
	}
	if err := w.Close(); err != nil {
		return fail("send message", err)
	}
	// The message is accepted; a failed QUIT changes nothing about that.
	_ = c.Quit()
	return nil
}

// connect dials the server and, for implicit TLS, completes the handshake.
// In detect mode it waits n.greetWait for the server's greeting: an SMTP
// server in plain text speaks first, an implicit TLS server waits for the
// client hello.
func (n *Notifier) connect(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", n.server)
	if err != nil {
		return nil, err
	}
	switch n.mode {
	case tlsImplicit:
		return n.handshake(ctx, raw, "")
	case tlsDetect:
		wait := time.Now().Add(n.greetWait)
		if dl, ok := ctx.Deadline(); ok && dl.Before(wait) {
			wait = dl
		}
		if err := raw.SetReadDeadline(wait); err != nil {
			_ = raw.Close()
			return nil, err
		}
		var first [1]byte
		k, err := raw.Read(first[:])
		if k == 1 {
			if err := raw.SetReadDeadline(time.Time{}); err != nil {
				_ = raw.Close()
				return nil, err
			}
			return &peekedConn{Conn: raw, r: io.MultiReader(bytes.NewReader(first[:]), raw)}, nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
			if err := raw.SetReadDeadline(time.Time{}); err != nil {
				_ = raw.Close()
				return nil, err
			}
			return n.handshake(ctx, raw, fmt.Sprintf(" (no SMTP greeting within %s, so the port was taken for implicit TLS)", n.greetWait))
		}
		_ = raw.Close()
		if err == nil || errors.Is(err, io.EOF) {
			return nil, errors.New("the server closed the connection before its greeting")
		}
		return nil, err
	}
	return raw, nil
}

func (n *Notifier) handshake(ctx context.Context, raw net.Conn, why string) (net.Conn, error) {
	tc := tls.Client(raw, n.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("TLS handshake: %w%s", err, why)
	}
	return tc, nil
}

// peekedConn gives back the byte read while waiting for the greeting.
type peekedConn struct {
	net.Conn
	r io.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// failure turns a session error into plain words naming the server and the
// step: permanent when the server refused the sender, a recipient or the
// message for good (5xx), retryable otherwise — a refused login included,
// since fixed credentials make the retry pass. The password never appears.
func (n *Notifier) failure(ctx context.Context, limit time.Duration, step string, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		msg = "canceled"
	case ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
		msg = fmt.Sprintf("gave up after %s without an answer", limit)
	}
	msg = n.scrub(fmt.Sprintf("send mail via %s: %s: %s", n.server, step, msg))
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && ctx.Err() == nil {
		switch {
		case strings.HasPrefix(step, "MAIL"), strings.HasPrefix(step, "RCPT"), step == "send message", step == "DATA":
			return notifier.Fail("%s", msg)
		}
	}
	return &notifier.Error{Message: msg}
}

// scrub removes the password, and the base64 forms a server could echo,
// from s.
func (n *Notifier) scrub(s string) string {
	if n.password == "" {
		return s
	}
	for _, secret := range []string{
		n.password,
		base64.StdEncoding.EncodeToString([]byte(n.password)),
		base64.StdEncoding.EncodeToString([]byte("\x00" + n.username + "\x00" + n.password)),
	} {
		s = strings.ReplaceAll(s, secret, "…")
	}
	return s
}

func hasWord(list, w string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, w) {
			return true
		}
	}
	return false
}

// errNoTLS is what both authenticators say before they would send a
// credential over a connection that is not encrypted.
var errNoTLS = errors.New("refusing to send credentials over a connection without TLS")

// plainAuth is SASL PLAIN (RFC 4616) with an empty authorization identity.
// Unlike net/smtp's PlainAuth it does not trust localhost without TLS.
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	if !s.TLS {
		return "", nil, errNoTLS
	}
	return AuthPlain, []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge after AUTH PLAIN")
	}
	return nil, nil
}

// loginAuth is the LOGIN mechanism (draft-murchison-sasl-login): the
// server asks "Username:" then "Password:"; no initial response is sent,
// which every server that offers LOGIN accepts.
type loginAuth struct {
	user, pass string
	step       int
}

func (a *loginAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	if !s.TLS {
		return "", nil, errNoTLS
	}
	a.step = 0
	return AuthLogin, nil, nil
}

func (a *loginAuth) Next(challenge []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	if a.step > 2 {
		return nil, errors.New("the server asked for more than a user name and a password")
	}
	c := strings.ToLower(strings.TrimSpace(strings.TrimRight(string(challenge), "\x00")))
	switch {
	case strings.HasPrefix(c, "user"):
		return []byte(a.user), nil
	case strings.HasPrefix(c, "pass"):
		return []byte(a.pass), nil
	case c == "" && a.step == 1:
		return []byte(a.user), nil
	case c == "" && a.step == 2:
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected LOGIN challenge %q", headerSafe(truncateRunes(string(challenge), 40)))
}
