package email

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/stockade-dev/stockade/internal/notify/notifytest"
)

// peerOpts says how the test SMTP server behaves.
type peerOpts struct {
	mode       string   // "starttls", "implicit" or "plain" (no TLS at all)
	mechs      []string // AUTH mechanisms offered; none means no AUTH
	user, pass string
	rejectRcpt string // a recipient refused with 550
}

// smtpPeer is a real SMTP server (emersion/go-smtp) on a loopback port
// that records what it was told.
type smtpPeer struct {
	opts  peerOpts
	addr  string
	port  int
	caPEM string

	mu     sync.Mutex
	mails  []gotMail
	logins []gotLogin
}

type gotMail struct {
	from string
	to   []string
	data []byte
	tls  bool
	user string
}

type gotLogin struct {
	mech, user string
	tls, ok    bool
}

func startPeer(t *testing.T, opts peerOpts) *smtpPeer {
	t.Helper()
	p := &smtpPeer{opts: opts}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &session{p: p, c: c}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.MaxMessageBytes = 1 << 20
	s.ErrorLog = log.New(io.Discard, "", 0)
	var l net.Listener
	var err error
	switch opts.mode {
	case "starttls", "implicit":
		cert, caPEM := notifytest.SelfSigned(t, "smtp test peer")
		p.caPEM = caPEM
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if opts.mode == "implicit" {
			l, err = tls.Listen("tcp", "127.0.0.1:0", s.TLSConfig)
		} else {
			l, err = net.Listen("tcp", "127.0.0.1:0")
		}
	case "plain":
		// Lets the server take AUTH in plain text, so only the client's
		// own refusal keeps the password off the wire.
		s.AllowInsecureAuth = true
		l, err = net.Listen("tcp", "127.0.0.1:0")
	default:
		t.Fatalf("unknown peer mode %q", opts.mode)
	}
	if err != nil {
		t.Fatal(err)
	}
	p.addr = l.Addr().String()
	p.port = l.Addr().(*net.TCPAddr).Port
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return p
}

func (p *smtpPeer) server() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

func (p *smtpPeer) received() ([]gotMail, []gotLogin) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]gotMail(nil), p.mails...), append([]gotLogin(nil), p.logins...)
}

type session struct {
	p    *smtpPeer
	c    *gosmtp.Conn
	user string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string { return s.p.opts.mechs }

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		_, isTLS := s.c.TLSConnectionState()
		ok := user == s.p.opts.user && pass == s.p.opts.pass
		s.p.mu.Lock()
		s.p.logins = append(s.p.logins, gotLogin{mech: mech, user: user, tls: isTLS, ok: ok})
		s.p.mu.Unlock()
		if !ok {
			return gosmtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if len(s.p.opts.mechs) > 0 && s.user == "" {
		return gosmtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if to == s.p.opts.rejectRcpt {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox here"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.c.TLSConnectionState()
	s.p.mu.Lock()
	s.p.mails = append(s.p.mails, gotMail{from: s.from, to: s.to, data: b, tls: isTLS, user: s.user})
	s.p.mu.Unlock()
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN: it asks "Username:" and
// "Password:" (base64-encoded by go-smtp), or takes the user name as the
// initial response.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		if len(resp) > 0 {
			l.user, l.step = string(resp), 2
			return []byte("Password:"), false, nil
		}
		l.step = 1
		return []byte("Username:"), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}
