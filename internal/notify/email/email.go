package email

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"html/template"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// Authentication methods, the ACS startTLSAuthMethod values.
const (
	AuthDisabled = "DISABLED"
	AuthPlain    = "PLAIN"
	AuthLogin    = "LOGIN"
)

// tlsMode is how a connection gets encrypted.
type tlsMode int

const (
	tlsNone     tlsMode = iota // plain text all along (disableTLS, no STARTTLS)
	tlsStart                   // STARTTLS, required
	tlsImplicit                // TLS from the first byte (port 465)
	tlsDetect                  // implicit TLS when the server sends no greeting, else STARTTLS
)

// defaultGreetWait is how long a server on a port that is neither a known
// submission nor a known SMTPS port may stay silent before it is taken for
// an implicit TLS server waiting for the client's hello.
const defaultGreetWait = 3 * time.Second

// maxRecipients bounds the addresses one annotation or one SendMail call
// may name.
const maxRecipients = 100

// Notifier sends mail through one SMTP server. It holds no connection
// between messages and is safe for concurrent use.
type Notifier struct {
	server    string // host:port, for dialing and errors
	mode      tlsMode
	tls       *tls.Config
	mech      string // AuthPlain, AuthLogin or "" (no authentication)
	username  string
	password  string
	from      mail.Address // Address is also the envelope sender
	labelKey  string
	defaultTo []*mail.Address
	ui        string
	helo      string
	html      *template.Template
	greetWait time.Duration
	timeout   time.Duration
}

// New checks the email block of cfg and returns a Notifier. It dials
// nothing: the test message is what proves the server answers.
func New(cfg notifier.Config) (*Notifier, error) {
	e := cfg.Email
	if e == nil {
		return nil, notifier.Invalid("email", "required for type %q", notifier.TypeEmail)
	}
	n := &Notifier{
		labelKey:  strings.TrimSpace(cfg.LabelKey),
		ui:        cfg.UIEndpoint,
		helo:      heloName(),
		greetWait: defaultGreetWait,
		timeout:   notifier.Timeout,
	}

	host, port, err := splitServer(e.Server)
	if err != nil {
		return nil, err
	}
	n.server = net.JoinHostPort(host, strconv.Itoa(port))

	sender, err := mail.ParseAddress(strings.TrimSpace(e.Sender))
	if err != nil {
		if strings.TrimSpace(e.Sender) == "" {
			return nil, notifier.Invalid("email.sender", "required")
		}
		return nil, notifier.Invalid("email.sender", "not an email address: %v", err)
	}
	n.from = mail.Address{Name: headerSafe(sender.Name), Address: sender.Address}
	if name := headerSafe(e.From); name != "" {
		n.from.Name = name
	}
	if n.from.Name == "" {
		n.from.Name = "Stockade"
	}

	// The default recipient: labelDefault (the ACS place) wins over
	// email.recipient; both are checked when given.
	var to []*mail.Address
	if r := strings.TrimSpace(e.Recipient); r != "" {
		if to, err = parseRecipients(r); err != nil {
			return nil, notifier.Invalid("email.recipient", "%v", err)
		}
	}
	if r := strings.TrimSpace(cfg.LabelDefault); r != "" {
		if to, err = parseRecipients(r); err != nil {
			return nil, notifier.Invalid("labelDefault", "%v", err)
		}
	}
	if len(to) == 0 {
		return nil, notifier.Invalid("labelDefault", "required: the default recipient (or email.recipient)")
	}
	n.defaultTo = to

	method := strings.ToUpper(strings.TrimSpace(e.StartTLSAuthMethod))
	switch method {
	case "", AuthDisabled, AuthPlain, AuthLogin:
	default:
		return nil, notifier.Invalid("email.startTLSAuthMethod", "want DISABLED, PLAIN or LOGIN, got %q", e.StartTLSAuthMethod)
	}

	switch {
	case !e.DisableTLS && port == 465:
		n.mode = tlsImplicit
	case !e.DisableTLS && (port == 25 || port == 587 || port == 2525):
		n.mode = tlsStart
	case !e.DisableTLS:
		n.mode = tlsDetect
	case method == AuthPlain || method == AuthLogin:
		// ACS: disableTLS turns implicit TLS off; a STARTTLS auth method
		// still asks for STARTTLS.
		n.mode = tlsStart
	default:
		n.mode = tlsNone
	}

	if !e.AllowUnauthenticatedSMTP {
		if strings.TrimSpace(e.Username) == "" {
			return nil, notifier.Invalid("email.username", "required unless allowUnauthenticatedSmtp")
		}
		if e.Password == "" {
			return nil, notifier.Invalid("email.password", "required unless allowUnauthenticatedSmtp")
		}
		if n.mode == tlsNone {
			return nil, notifier.Invalid("email.disableTLS",
				"would send the password in plain text: keep TLS, set startTLSAuthMethod PLAIN or LOGIN, or allowUnauthenticatedSmtp")
		}
		n.username, n.password = e.Username, e.Password
		n.mech = AuthPlain
		if method == AuthLogin {
			n.mech = AuthLogin
		}
	}

	if n.mode != tlsNone {
		tc, err := notifier.TLSConfig(e.CACert, e.SkipTLSVerify)
		if err != nil {
			return nil, notifier.Invalid("email.caCert", "no PEM certificate found")
		}
		tc.ServerName = host
		n.tls = tc
	}

	n.html, err = template.New("html").Parse(htmlTemplate)
	if err != nil {
		return nil, fmt.Errorf("parse email html template: %w", err)
	}
	return n, nil
}

// Wants says the email notifier takes test messages, new alerts and storm
// summaries; a mailbox is no place for every state change or audit event.
func (n *Notifier) Wants(kind notifier.Kind, event notifier.Event) bool {
	return notifier.Takes(kind, event, notifier.EventNew)
}

// Send mails m to its recipients.
func (n *Notifier) Send(ctx context.Context, m *notifier.Message) error {
	if m == nil {
		return notifier.Fail("email: no message to send")
	}
	now := m.Time
	if now.IsZero() {
		now = time.Now()
	}
	var (
		c   content
		to  = n.defaultTo
		err error
	)
	switch m.Kind {
	case notifier.KindTest:
		a := m.Alert
		if a == nil {
			a = notifier.SampleAlert(now, n.ui)
		}
		if to, err = n.recipients(a); err != nil {
			return err
		}
		c, err = n.renderAlert(a, notifier.EventNew, true)
	case notifier.KindAlert:
		if m.Alert == nil {
			return notifier.Fail("email: alert message %s carries no alert", m.ID)
		}
		if to, err = n.recipients(m.Alert); err != nil {
			return err
		}
		c, err = n.renderAlert(m.Alert, m.Event, false)
	case notifier.KindSummary:
		if m.Summary == nil {
			return notifier.Fail("email: summary message %s carries no summary", m.ID)
		}
		c, err = n.renderSummary(m.Summary)
	default:
		return notifier.Fail("email notifier does not take %q messages", m.Kind)
	}
	if err != nil {
		return err
	}
	raw, err := n.compose(header{to: to, subject: c.subject, date: now, id: messageID(m.ID)}, c.text, c.html)
	if err != nil {
		return err
	}
	return n.deliver(ctx, to, raw)
}

// SendMail mails subject with a plain-text body and, when html is not
// empty, an HTML alternative to the addresses in to. It is the way for other
// parts of Central (scheduled reports) to send through a configured
// notifier; each call is a new message with its own Message-ID.
func (n *Notifier) SendMail(ctx context.Context, to []string, subject, text, html string) error {
	if len(to) == 0 {
		return notifier.Fail("email: no recipient")
	}
	if len(to) > maxRecipients {
		return notifier.Fail("email: %d recipients, at most %d", len(to), maxRecipients)
	}
	addrs := make([]*mail.Address, 0, len(to))
	for i, s := range to {
		a, err := mail.ParseAddress(strings.TrimSpace(s))
		if err != nil {
			return notifier.Fail("email: recipient %d (%q): %v", i+1, headerSafe(s), err)
		}
		a.Name = headerSafe(a.Name)
		addrs = append(addrs, a)
	}
	raw, err := n.compose(header{to: addrs, subject: subject, date: time.Now(), id: messageID("")}, text, html)
	if err != nil {
		return err
	}
	return n.deliver(ctx, addrs, raw)
}

// recipients is the annotation's addresses when the alert's deployment or
// namespace names them, else the default recipients.
func (n *Notifier) recipients(a *notifier.Alert) ([]*mail.Address, error) {
	v := notifier.Annotation(a, n.labelKey)
	if v == "" {
		return n.defaultTo, nil
	}
	to, err := parseRecipients(v)
	if err != nil {
		return nil, notifier.Fail("email: annotation %s: %v", n.labelKey, err)
	}
	return to, nil
}

// parseRecipients parses a comma-separated address list ("a@x, Ops <b@y>").
func parseRecipients(s string) ([]*mail.Address, error) {
	list, err := mail.ParseAddressList(s)
	if err != nil {
		return nil, fmt.Errorf("not an email address list: %w", err)
	}
	if len(list) > maxRecipients {
		return nil, fmt.Errorf("%d addresses, at most %d", len(list), maxRecipients)
	}
	for _, a := range list {
		a.Name = headerSafe(a.Name)
	}
	return list, nil
}

// splitServer checks email.server is host:port.
func splitServer(s string) (string, int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", 0, notifier.Invalid("email.server", "required")
	}
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, notifier.Invalid("email.server", "want host:port, e.g. smtp.example.com:587, got %q", s)
	}
	if host == "" || strings.ContainsAny(host, " /\r\n") {
		return "", 0, notifier.Invalid("email.server", "no host in %q", s)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, notifier.Invalid("email.server", "port %q is not a number from 1 to 65535", p)
	}
	return host, port, nil
}

// messageID is <id@stockade> with id reduced to the characters a
// Message-ID's left part may hold, or a random id when none is given.
func messageID(id string) string {
	var b strings.Builder
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= 200 {
			break
		}
	}
	s := strings.Trim(b.String(), ".")
	if s == "" {
		var r [16]byte
		_, _ = rand.Read(r[:])
		s = hex.EncodeToString(r[:])
	}
	return "<" + s + "@stockade>"
}

// heloName is the name the client gives in EHLO: the host name when it is
// a plausible domain, else localhost.
func heloName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || len(h) > 253 {
		return "localhost"
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
		default:
			return "localhost"
		}
	}
	return h
}
