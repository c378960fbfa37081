// Package webhook is the "generic" notifier: it POSTs each message as JSON
// to an endpoint the user runs, in the shape ACS's generic webhook uses, so
// receivers written for ACS keep working.
//
// The request: `POST <generic.endpoint>` with `Content-Type:
// application/json`, `X-Stockade-Delivery: <delivery ID>` (stable across
// retries of one delivery: the receiver's deduplication key), basic auth
// when generic.username is set, and each generic.headers entry. TLS uses the
// system roots plus generic.caCert, or no verification when
// generic.skipTLSVerify. Any 2xx is success.
//
// The body is one JSON object. Exactly one of these keys carries the
// message, and each generic.extraFields entry is merged beside it as a
// top-level string (New refuses extra fields named alert, audit or summary):
//
//	{"alert": {…Alert…, "event": "NEW", "test": true}, "<extra key>": "<extra value>"}
//	{"summary": {…Summary…}, …}
//	{"audit": {…Audit…}, …}
//
// "alert" is the notifier.Alert JSON (id, state, lifecycleStage, policy,
// deployment, image, violations, enforcement, firstOccurred, time, link)
// with two more keys inside it: "event" (NEW, RESOLVED or REOPENED; NEW for
// a test message) and "test" (true only on the test button's sample alert,
// absent otherwise). "summary" is the notifier.Summary JSON (count, from,
// to, bySeverity, topPolicies, link); "audit" is the notifier.Audit JSON
// (time, user, role, method, path, status, sourceIp, interaction).
//
// The webhook takes test messages, every alert event and storm summaries;
// audit events only when generic.auditLoggingEnabled is set.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// Notifier delivers to one generic webhook. It is safe for concurrent use.
type Notifier struct {
	uiEndpoint string
	endpoint   *url.URL
	username   string
	password   string
	headers    []notifier.KeyValue
	extra      []notifier.KeyValue
	audit      bool
	// secrets are scrubbed from every error text: the remote may echo them.
	secrets []string
	client  *http.Client
}

// New checks cfg (a "generic" notifier, block cfg.Generic) and returns a
// ready Notifier. Errors name the JSON field at fault.
func New(cfg notifier.Config) (*Notifier, error) {
	if cfg.Type != "" && cfg.Type != notifier.TypeGeneric {
		return nil, notifier.Invalid("type", "want %q, got %q", notifier.TypeGeneric, cfg.Type)
	}
	g := cfg.Generic
	if g == nil {
		return nil, notifier.Invalid("generic", "required for a notifier of type %q", notifier.TypeGeneric)
	}
	u, err := notifier.CheckURL("generic.endpoint", g.Endpoint)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(g.CACert) != "" {
		if _, err := notifier.TLSConfig(g.CACert, false); err != nil {
			return nil, notifier.Invalid("generic.caCert", "no PEM certificate found")
		}
	}
	tlsCfg, err := notifier.TLSConfig(g.CACert, g.SkipTLSVerify)
	if err != nil {
		return nil, notifier.Invalid("generic.caCert", "no PEM certificate found")
	}
	if g.Password != "" && g.Username == "" {
		return nil, notifier.Invalid("generic.username", "required when a password is set")
	}
	if strings.Contains(g.Username, ":") {
		return nil, notifier.Invalid("generic.username", "basic auth user names cannot hold ':'")
	}
	if err := checkHeaders(g.Headers, g.Username != ""); err != nil {
		return nil, err
	}
	if err := checkExtraFields(g.ExtraFields); err != nil {
		return nil, err
	}
	n := &Notifier{
		uiEndpoint: cfg.UIEndpoint,
		endpoint:   u,
		username:   g.Username,
		password:   g.Password,
		headers:    append([]notifier.KeyValue(nil), g.Headers...),
		extra:      append([]notifier.KeyValue(nil), g.ExtraFields...),
		audit:      g.AuditLoggingEnabled,
		client:     notifier.HTTPClient(tlsCfg),
	}
	secrets := []string{g.Password}
	for _, h := range g.Headers {
		secrets = append(secrets, h.Value)
	}
	for _, s := range secrets {
		// Very short values would garble the text; they are no secret worth the name.
		if len(s) >= 4 {
			n.secrets = append(n.secrets, s)
		}
	}
	return n, nil
}

// checkHeaders refuses header names HTTP does not allow, values that would
// split the request, and headers Stockade sets itself.
func checkHeaders(hs []notifier.KeyValue, basicAuth bool) error {
	for i, h := range hs {
		field := fmt.Sprintf("generic.headers[%d]", i)
		if h.Key == "" {
			return notifier.Invalid(field+".key", "required")
		}
		if !isToken(h.Key) {
			return notifier.Invalid(field+".key", "%q is not a valid HTTP header name", h.Key)
		}
		switch http.CanonicalHeaderKey(h.Key) {
		case "Content-Type", "Content-Length", "Host", "Transfer-Encoding", "Connection", "X-Stockade-Delivery":
			return notifier.Invalid(field+".key", "%s is set by Stockade", http.CanonicalHeaderKey(h.Key))
		case "Authorization":
			if basicAuth {
				return notifier.Invalid(field+".key", "Authorization conflicts with generic.username (basic auth)")
			}
		}
		// The value is a secret: say what is wrong, never what it is.
		for _, r := range h.Value {
			if (r < 0x20 && r != '\t') || r == 0x7f {
				return notifier.Invalid(field+".value", "holds a control character (a line break?)")
			}
		}
	}
	return nil
}

// isToken says whether s is an RFC 9110 token, what a header name must be.
func isToken(s string) bool {
	for i := range len(s) {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return s != ""
}

// checkExtraFields refuses empty and duplicate keys and the keys that carry
// the message itself.
func checkExtraFields(fs []notifier.KeyValue) error {
	seen := make(map[string]int, len(fs))
	for i, f := range fs {
		field := fmt.Sprintf("generic.extraFields[%d].key", i)
		if strings.TrimSpace(f.Key) == "" {
			return notifier.Invalid(field, "required")
		}
		switch strings.ToLower(f.Key) {
		case "alert", "audit", "summary":
			return notifier.Invalid(field, "%q is where the message goes; pick another key", f.Key)
		}
		if j, ok := seen[f.Key]; ok {
			return notifier.Invalid(field, "%q is already extraFields[%d]", f.Key, j)
		}
		seen[f.Key] = i
	}
	return nil
}

// Wants says the webhook takes tests, every alert event, summaries, and
// audit events when audit logging is enabled.
func (n *Notifier) Wants(kind notifier.Kind, event notifier.Event) bool {
	if kind == notifier.KindAudit {
		return n.audit
	}
	return notifier.Takes(kind, event, notifier.EventNew, notifier.EventResolved, notifier.EventReopened)
}

// alertBody is the "alert" object: the alert with its event beside its fields.
type alertBody struct {
	*notifier.Alert
	Event notifier.Event `json:"event"`
	Test  bool           `json:"test,omitempty"`
}

// Send POSTs m to the endpoint.
func (n *Notifier) Send(ctx context.Context, m *notifier.Message) error {
	if m == nil {
		return notifier.Fail("generic webhook: no message")
	}
	if !n.Wants(m.Kind, m.Event) {
		if m.Kind == notifier.KindAudit {
			return notifier.Fail("generic webhook: audit logging is not enabled (generic.auditLoggingEnabled)")
		}
		return notifier.Fail("generic webhook does not take %s messages (event %q)", m.Kind, m.Event)
	}
	body := make(map[string]any, len(n.extra)+1)
	for _, f := range n.extra {
		body[f.Key] = f.Value
	}
	switch m.Kind {
	case notifier.KindTest:
		a := m.Alert
		if a == nil {
			a = notifier.SampleAlert(m.Time, n.uiEndpoint)
		}
		body["alert"] = alertBody{Alert: a, Event: notifier.EventNew, Test: true}
	case notifier.KindAlert:
		if m.Alert == nil {
			return notifier.Fail("generic webhook: alert message %s carries no alert", m.ID)
		}
		body["alert"] = alertBody{Alert: m.Alert, Event: m.Event}
	case notifier.KindSummary:
		if m.Summary == nil {
			return notifier.Fail("generic webhook: summary message %s carries no summary", m.ID)
		}
		body["summary"] = m.Summary
	case notifier.KindAudit:
		if m.Audit == nil {
			return notifier.Fail("generic webhook: audit message %s carries no audit event", m.ID)
		}
		body["audit"] = m.Audit
	}
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode generic webhook body: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.endpoint.String(), bytes.NewReader(data))
	if err != nil {
		return notifier.Fail("generic webhook: build request to %s: %v", n.endpoint.Host, err)
	}
	for _, h := range n.headers {
		req.Header.Add(h.Key, h.Value)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "stockade-notifier")
	req.Header.Set("X-Stockade-Delivery", m.ID)
	if n.username != "" {
		req.SetBasicAuth(n.username, n.password)
	}
	if _, err := notifier.Do(ctx, n.client, req, notifier.MaxAnswer); err != nil {
		return fmt.Errorf("post to generic webhook: %w", n.explain(err))
	}
	return nil
}

// explain scrubs the configured secrets from a delivery error (a receiver
// may echo the password or a header it refused) and adds what to do about
// an untrusted certificate.
func (n *Notifier) explain(err error) error {
	var e *notifier.Error
	if !errors.As(err, &e) {
		return err
	}
	e.Scrub(n.secrets...)
	if e.Status == 0 && strings.Contains(e.Message, "certificate signed by unknown authority") {
		e.Message += " (the endpoint's certificate is not trusted: put the CA that signed it in generic.caCert)"
	}
	return e
}
