package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
	"github.com/stockade-dev/stockade/internal/version"
)

// Message formats, the ACS messageFormat values.
const (
	FormatLegacy = "LEGACY"
	FormatCEF    = "CEF"
)

// Size limits of one message.
const (
	DefaultMaxUDP = 2048
	DefaultMaxTCP = 64 << 10
	// minMessageSize is what RFC 5424 says every receiver must accept.
	minMessageSize = 480
	// maxUDPPayload is the largest UDP payload over IPv4.
	maxUDPPayload = 65507
	maxTCPMessage = 1 << 20
)

// defaultFacility is LOCAL4, as in ACS.
const defaultFacility = 20

// Notifier sends to one syslog receiver over one connection. It is safe for
// concurrent use; Close releases the connection.
type Notifier struct {
	network  string // "tcp" or "udp"
	addr     string // host:port
	tls      *tls.Config
	facility int
	format   string
	maxSize  int
	audit    bool
	extra    []notifier.KeyValue
	hostname string
	ui       string
	version  string
	timeout  time.Duration

	mu   sync.Mutex
	conn net.Conn
}

// New checks the syslog block of cfg and returns a Notifier. It dials
// nothing until the first Send.
func New(cfg notifier.Config) (*Notifier, error) {
	s := cfg.Syslog
	if s == nil {
		return nil, notifier.Invalid("syslog", "required for type %q", notifier.TypeSyslog)
	}
	n := &Notifier{
		ui:       cfg.UIEndpoint,
		audit:    s.AuditLoggingEnabled,
		hostname: hostname(),
		version:  version.Version,
		timeout:  notifier.Timeout,
	}

	var field, host string
	var port int
	switch {
	case s.TCPConfig != nil && s.UDPConfig != nil:
		return nil, notifier.Invalid("syslog.udpConfig", "give tcpConfig or udpConfig, not both")
	case s.TCPConfig != nil:
		field, host, port = "syslog.tcpConfig", s.TCPConfig.Hostname, s.TCPConfig.Port
		n.network, n.maxSize = "tcp", DefaultMaxTCP
	case s.UDPConfig != nil:
		field, host, port = "syslog.udpConfig", s.UDPConfig.Hostname, s.UDPConfig.Port
		n.network, n.maxSize = "udp", DefaultMaxUDP
	default:
		return nil, notifier.Invalid("syslog.tcpConfig", "required (or udpConfig)")
	}
	host = strings.TrimSpace(host)
	if host == "" {
		return nil, notifier.Invalid(field+".hostname", "required")
	}
	if strings.ContainsAny(host, " /\r\n") || strings.Count(host, ":") == 1 {
		return nil, notifier.Invalid(field+".hostname", "want a host name or an IP address, got %q", host)
	}
	if port < 1 || port > 65535 {
		return nil, notifier.Invalid(field+".port", "want 1 to 65535, got %d", port)
	}
	n.addr = net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))

	if t := s.TCPConfig; t != nil && t.UseTLS {
		tc, err := notifier.TLSConfig(t.CACert, t.SkipTLSVerify)
		if err != nil {
			return nil, notifier.Invalid("syslog.tcpConfig.caCert", "no PEM certificate found")
		}
		tc.ServerName = strings.Trim(host, "[]")
		n.tls = tc
	}

	n.facility = defaultFacility
	if f := strings.ToUpper(strings.TrimSpace(s.LocalFacility)); f != "" {
		k, err := strconv.Atoi(strings.TrimPrefix(f, "LOCAL"))
		if !strings.HasPrefix(f, "LOCAL") || err != nil || k < 0 || k > 7 || len(f) != 6 {
			return nil, notifier.Invalid("syslog.localFacility", "want LOCAL0 to LOCAL7, got %q", s.LocalFacility)
		}
		n.facility = 16 + k
	}

	switch f := strings.ToUpper(strings.TrimSpace(s.MessageFormat)); f {
	case "", FormatLegacy:
		n.format = FormatLegacy
	case FormatCEF:
		n.format = FormatCEF
	default:
		return nil, notifier.Invalid("syslog.messageFormat", "want LEGACY or CEF, got %q", s.MessageFormat)
	}

	if m := s.MaxMessageSize; m != 0 {
		limit := maxTCPMessage
		if n.network == "udp" {
			limit = maxUDPPayload
		}
		if m < minMessageSize || m > limit {
			return nil, notifier.Invalid("syslog.maxMessageSize", "want %d to %d bytes over %s, got %d", minMessageSize, limit, strings.ToUpper(n.network), m)
		}
		n.maxSize = m
	}

	for i, kv := range s.ExtraFields {
		f := fmt.Sprintf("syslog.extraFields[%d].key", i)
		if kv.Key == "" {
			return nil, notifier.Invalid(f, "required")
		}
		if !validKey(kv.Key, n.format == FormatCEF) {
			if n.format == FormatCEF {
				return nil, notifier.Invalid(f, "a CEF extension key is letters and digits only, got %q", kv.Key)
			}
			return nil, notifier.Invalid(f, "want letters, digits, '_', '-' or '.', got %q", kv.Key)
		}
		if reservedKey(kv.Key) {
			return nil, notifier.Invalid(f, "%q is a field Stockade sets itself", kv.Key)
		}
		if len(kv.Key)+len(kv.Value) > 1024 {
			return nil, notifier.Invalid(fmt.Sprintf("syslog.extraFields[%d].value", i), "longer than 1 KiB")
		}
	}
	n.extra = append([]notifier.KeyValue(nil), s.ExtraFields...)
	return n, nil
}

// Wants says syslog takes every kind of message: test, every alert event,
// summaries, and audit events when the config enables them.
func (n *Notifier) Wants(kind notifier.Kind, _ notifier.Event) bool {
	switch kind {
	case notifier.KindTest, notifier.KindAlert, notifier.KindSummary:
		return true
	case notifier.KindAudit:
		return n.audit
	}
	return false
}

// Send formats m and writes it to the receiver.
func (n *Notifier) Send(ctx context.Context, m *notifier.Message) error {
	if m == nil {
		return notifier.Fail("syslog: no message to send")
	}
	r, err := n.record(m)
	if err != nil {
		return err
	}
	return n.write(ctx, n.encode(r))
}

// Close closes the connection; the next Send dials again.
func (n *Notifier) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		return nil
	}
	err := n.conn.Close()
	n.conn = nil
	return err
}

// write sends one message, framed for TCP. A connection that fails is
// dropped and, when it was not fresh, the message goes once more over a
// new one: the receiver may have closed an idle connection.
func (n *Notifier) write(ctx context.Context, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	if n.network == "tcp" {
		frame := make([]byte, 0, len(msg)+8)
		frame = strconv.AppendInt(frame, int64(len(msg)), 10)
		frame = append(frame, ' ')
		msg = append(frame, msg...)
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	for attempt := 0; ; attempt++ {
		fresh := false
		if n.conn != nil && n.network == "tcp" && !alive(n.conn) {
			n.dropLocked()
		}
		if n.conn == nil {
			c, err := n.dial(ctx)
			if err != nil {
				return n.failure(ctx, "connect to", err)
			}
			n.conn, fresh = c, true
		}
		err := n.writeLocked(ctx, msg)
		if err == nil {
			return nil
		}
		n.dropLocked()
		if fresh || attempt > 0 || ctx.Err() != nil {
			return n.failure(ctx, "write to", err)
		}
	}
}

func (n *Notifier) writeLocked(ctx context.Context, msg []byte) error {
	dl, _ := ctx.Deadline()
	if err := n.conn.SetWriteDeadline(dl); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = n.conn.SetWriteDeadline(time.Now()) })
	defer stop()
	_, err := n.conn.Write(msg)
	return err
}

func (n *Notifier) dropLocked() {
	if n.conn != nil {
		_ = n.conn.Close()
		n.conn = nil
	}
}

func (n *Notifier) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{KeepAlive: 30 * time.Second}
	if n.tls != nil {
		return (&tls.Dialer{NetDialer: d, Config: n.tls}).DialContext(ctx, "tcp", n.addr)
	}
	return d.DialContext(ctx, n.network, n.addr)
}

// alive says whether the peer has not closed c. A syslog receiver never
// sends, so a read that ends before its short deadline means the peer hung
// up (or broke the protocol).
func alive(c net.Conn) bool {
	if err := c.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		return false
	}
	var b [1]byte
	_, err := c.Read(b[:])
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// failure is a delivery error in plain words naming the receiver.
// Retryable: the receiver may come back.
func (n *Notifier) failure(ctx context.Context, what string, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		msg = "canceled"
	case ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
		msg = "timed out"
	}
	proto := strings.ToUpper(n.network)
	if n.tls != nil {
		proto = "TLS"
	}
	return &notifier.Error{Message: fmt.Sprintf("syslog: %s %s %s: %s", what, proto, n.addr, msg)}
}

// hostname is the RFC 5424 HOSTNAME: this host's name in printable ASCII
// without spaces, at most 255 characters, or "-".
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" || len(h) > 255 {
		return "-"
	}
	for i := 0; i < len(h); i++ {
		if h[i] < 33 || h[i] > 126 {
			return "-"
		}
	}
	return h
}

func validKey(k string, cef bool) bool {
	if len(k) > 64 {
		return false
	}
	for _, r := range k {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case !cef && (r == '_' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// reservedKey says whether k is a CEF extension or LEGACY key the
// messages already carry; an extra field must not repeat one.
func reservedKey(k string) bool {
	switch strings.TrimSuffix(k, "Label") {
	case "rt", "start", "end", "externalId", "cat", "act", "msg", "dvchost", "cnt",
		"cs1", "cs2", "cs3", "cs4", "cs5", "cs6", "cn1", "flexString1", "flexString2",
		"suser", "spriv", "requestMethod", "request", "src", "shost",
		"time", "firstOccurred", "alertId", "event", "policyId", "policy", "severity", "state",
		"lifecycleStage", "enforcement", "cluster", "namespace", "deployment", "categories", "image",
		"violations", "link", "deliveryId", "from", "to", "count", "bySeverity", "topPolicies",
		"interaction", "user", "role", "method", "path", "status", "sourceIp":
		return true
	}
	return false
}
