// Package notifier is what every notifier shares: the notifier configuration
// in the ACS notifier JSON shape (so teams can move their integrations), the
// messages Central delivers (alerts, audit events, storm summaries, tests),
// the Sender contract each integration implements, and the HTTP delivery
// helper that turns a remote's refusal into plain words without leaking the
// secret URL it was sent to.
//
// The one idea: a Sender only formats and sends. Routing, retries, rate
// limits and the durable outbox live in Central; a Sender's error says
// whether trying again can help (Permanent).
package notifier

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Types of notifier, the ACS `type` values.
const (
	TypeSlack     = "slack"
	TypeTeams     = "teams"
	TypeGeneric   = "generic"
	TypeEmail     = "email"
	TypeSplunk    = "splunk"
	TypeSumoLogic = "sumologic"
	TypeSyslog    = "syslog"
	TypePagerDuty = "pagerduty"
	TypeJira      = "jira"
)

// Config is a notifier integration as the API stores and returns it. Exactly
// the block for Type is set; Slack and Teams keep their webhook URL in
// LabelDefault and the annotation that overrides it per namespace or
// deployment in LabelKey.
type Config struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	UIEndpoint   string `json:"uiEndpoint,omitempty"`
	LabelKey     string `json:"labelKey,omitempty"`
	LabelDefault string `json:"labelDefault,omitempty"`

	Generic   *Generic   `json:"generic,omitempty"`
	Email     *Email     `json:"email,omitempty"`
	Splunk    *Splunk    `json:"splunk,omitempty"`
	SumoLogic *SumoLogic `json:"sumologic,omitempty"`
	Syslog    *Syslog    `json:"syslog,omitempty"`
	PagerDuty *PagerDuty `json:"pagerduty,omitempty"`
	Jira      *Jira      `json:"jira,omitempty"`
}

// KeyValue is one header or extra field.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Generic is a JSON webhook: {"alert": …} (or {"audit": …}) POSTed to
// Endpoint, with optional basic auth, extra headers, a custom CA and extra
// static fields merged into the body.
type Generic struct {
	Endpoint            string     `json:"endpoint"`
	SkipTLSVerify       bool       `json:"skipTLSVerify,omitempty"`
	CACert              string     `json:"caCert,omitempty"`
	Username            string     `json:"username,omitempty"`
	Password            string     `json:"password,omitempty"`
	Headers             []KeyValue `json:"headers,omitempty"`
	ExtraFields         []KeyValue `json:"extraFields,omitempty"`
	AuditLoggingEnabled bool       `json:"auditLoggingEnabled,omitempty"`
}

// Email sends over SMTP. Server is host:port; port 465 (or DisableTLS false
// with a server that speaks TLS at once) is implicit TLS, otherwise STARTTLS
// unless DisableTLS. StartTLSAuthMethod is DISABLED, PLAIN or LOGIN.
type Email struct {
	Server                   string `json:"server"`
	Sender                   string `json:"sender"`
	From                     string `json:"from,omitempty"`
	Username                 string `json:"username,omitempty"`
	Password                 string `json:"password,omitempty"`
	DisableTLS               bool   `json:"disableTLS,omitempty"`
	StartTLSAuthMethod       string `json:"startTLSAuthMethod,omitempty"`
	AllowUnauthenticatedSMTP bool   `json:"allowUnauthenticatedSmtp,omitempty"`
	// Recipient is the default To address; LabelKey on the Config names an
	// annotation that overrides it per namespace or deployment.
	Recipient     string `json:"recipient,omitempty"`
	SkipTLSVerify bool   `json:"skipTLSVerify,omitempty"`
	CACert        string `json:"caCert,omitempty"`
}

// Splunk sends to an HTTP Event Collector.
type Splunk struct {
	HTTPToken           string            `json:"httpToken"`
	HTTPEndpoint        string            `json:"httpEndpoint"`
	Insecure            bool              `json:"insecure,omitempty"`
	Truncate            int64             `json:"truncate,omitempty"`
	AuditLoggingEnabled bool              `json:"auditLoggingEnabled,omitempty"`
	SourceTypes         map[string]string `json:"sourceTypes,omitempty"`
}

// SumoLogic posts to an HTTP source.
type SumoLogic struct {
	HTTPSourceAddress string `json:"httpSourceAddress"`
	SkipTLSVerify     bool   `json:"skipTLSVerify,omitempty"`
}

// Syslog sends RFC 5424 messages over TCP (optionally TLS) or UDP.
// MessageFormat is LEGACY or CEF; LocalFacility LOCAL0 … LOCAL7.
type Syslog struct {
	LocalFacility       string     `json:"localFacility,omitempty"`
	TCPConfig           *SyslogTCP `json:"tcpConfig,omitempty"`
	UDPConfig           *SyslogUDP `json:"udpConfig,omitempty"`
	ExtraFields         []KeyValue `json:"extraFields,omitempty"`
	MessageFormat       string     `json:"messageFormat,omitempty"`
	MaxMessageSize      int        `json:"maxMessageSize,omitempty"`
	AuditLoggingEnabled bool       `json:"auditLoggingEnabled,omitempty"`
}

// SyslogTCP is a TCP syslog receiver.
type SyslogTCP struct {
	Hostname      string `json:"hostname"`
	Port          int    `json:"port"`
	UseTLS        bool   `json:"useTls,omitempty"`
	SkipTLSVerify bool   `json:"skipTlsVerify,omitempty"`
	CACert        string `json:"caCert,omitempty"`
}

// SyslogUDP is a UDP syslog receiver.
type SyslogUDP struct {
	Hostname string `json:"hostname"`
	Port     int    `json:"port"`
}

// PagerDuty uses the Events API v2; APIKey is the integration (routing) key.
type PagerDuty struct {
	APIKey string `json:"apiKey"`
	// Endpoint overrides https://events.pagerduty.com/v2/enqueue (a proxy,
	// or a test peer).
	Endpoint string `json:"endpoint,omitempty"`
}

// Jira creates one issue per alert.
type Jira struct {
	URL               string            `json:"url"`
	Username          string            `json:"username"`
	Password          string            `json:"password"`
	IssueType         string            `json:"issueType"`
	Project           string            `json:"project,omitempty"`
	PriorityMappings  []PriorityMapping `json:"priorityMappings,omitempty"`
	DefaultFieldsJSON string            `json:"defaultFieldsJson,omitempty"`
	SkipTLSVerify     bool              `json:"skipTLSVerify,omitempty"`
	CACert            string            `json:"caCert,omitempty"`
}

// PriorityMapping maps a policy severity to a Jira priority name.
type PriorityMapping struct {
	Severity     string `json:"severity"`
	PriorityName string `json:"priorityName"`
}

// Types lists every notifier type in a stable order.
func Types() []string {
	return []string{TypeSlack, TypeTeams, TypeGeneric, TypeEmail, TypeSplunk, TypeSumoLogic, TypeSyslog, TypePagerDuty, TypeJira}
}

// SecretField is one secret of a configuration: its JSON path and where
// its value is.
type SecretField struct {
	Path  string
	Value *string
}

// Secrets returns every secret field of c: what the store encrypts and the
// API masks. Header values of the generic webhook count as secrets (they
// usually carry a token) and are named by header key.
func Secrets(c *Config) []SecretField {
	var s []SecretField
	add := func(path string, v *string) { s = append(s, SecretField{Path: path, Value: v}) }
	switch c.Type {
	case TypeSlack, TypeTeams:
		add("labelDefault", &c.LabelDefault)
	}
	if g := c.Generic; g != nil {
		add("generic.password", &g.Password)
		for i := range g.Headers {
			add("generic.headers["+g.Headers[i].Key+"]", &g.Headers[i].Value)
		}
	}
	if e := c.Email; e != nil {
		add("email.password", &e.Password)
	}
	if sp := c.Splunk; sp != nil {
		add("splunk.httpToken", &sp.HTTPToken)
	}
	if sl := c.SumoLogic; sl != nil {
		add("sumologic.httpSourceAddress", &sl.HTTPSourceAddress)
	}
	if p := c.PagerDuty; p != nil {
		add("pagerduty.apiKey", &p.APIKey)
	}
	if j := c.Jira; j != nil {
		add("jira.password", &j.Password)
	}
	return s
}

// ErrInvalid marks a configuration the API refuses (HTTP 400).
var ErrInvalid = errors.New("invalid notifier")

// FieldError is an invalid configuration field: its JSON path (such as
// generic.headers[0].key) and what is wrong with it. It is an ErrInvalid.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message + ": " + ErrInvalid.Error() }

// Unwrap makes a FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Invalid returns an ErrInvalid error naming the field (a *FieldError).
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// CheckURL checks that field holds an absolute http(s) URL and returns it
// parsed. It never repeats the value in its error: URLs can be secrets.
func CheckURL(field, raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, Invalid(field, "required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, Invalid(field, "not a URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, Invalid(field, "want an http:// or https:// URL, got scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, Invalid(field, "URL has no host")
	}
	return u, nil
}

// CheckToken checks that field holds a token fit for an HTTP header: set,
// and without spaces or control characters. Like CheckURL it never repeats
// the value.
func CheckToken(field, token string) error {
	if strings.TrimSpace(token) == "" {
		return Invalid(field, "required")
	}
	if strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return Invalid(field, "contains spaces or control characters")
	}
	return nil
}
