// Package splunk sends Stockade alerts, storm summaries and audit events to a
// Splunk HTTP Event Collector (HEC).
//
// HEC expects a POST to /services/collector/event carrying the header
// "Authorization: Splunk <token>" and a JSON envelope
//
//	{"time": 1700000000.123, "host": "…", "source": "stockade", "sourcetype": "stockade:alert", "event": {…}}
//
// and answers {"text":"Success","code":0}. A refusal has the same shape
// ({"text":"Invalid token","code":4}); Send turns it into plain words quoting
// HEC's text. Alerts, tests and summaries go out under sourceTypes["alert"]
// (default stockade:alert), audit events under sourceTypes["audit"] (default
// stockade:audit).
//
// splunk.truncate (bytes, default 10000 as in ACS) bounds the serialized
// "event" object. A larger alert is shortened until it fits and stays valid
// JSON: long violation messages are cut, trailing violations are dropped
// (counted in "violationsOmitted"), and as a last resort the policy's prose
// and the deployment's labels and annotations go; the event then says
// "truncated": true.
//
// HEC has no deduplication key, so the delivery ID travels as "deliveryId"
// in the event and in the X-Stockade-Delivery header. Every request carries
// an X-Splunk-Request-Channel, which HEC requires when indexer
// acknowledgement is on for the token and ignores otherwise.
package splunk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

const (
	// DefaultTruncate is the event size bound when splunk.truncate is 0.
	DefaultTruncate = 10000
	// MinTruncate is the smallest bound a full alert can be shortened to.
	MinTruncate = 1024

	// DefaultAlertSourceType and DefaultAuditSourceType apply when
	// splunk.sourceTypes does not name one.
	DefaultAlertSourceType = "stockade:alert"
	DefaultAuditSourceType = "stockade:audit"

	collectorPath = "/services/collector/event"
	source        = "stockade"
)

// Notifier posts events to one HEC endpoint. It is safe for concurrent use.
type Notifier struct {
	endpoint   string
	host       string // the HTTP host, for error messages
	token      string
	origin     string // the envelope's "host"
	alertType  string
	auditType  string
	truncate   int
	audit      bool
	uiEndpoint string
	channel    string
	client     *http.Client
}

// New checks cfg.Splunk and returns a ready Notifier.
func New(cfg notifier.Config) (*Notifier, error) {
	s := cfg.Splunk
	if s == nil {
		return nil, notifier.Invalid("splunk", "required for a notifier of type %q", notifier.TypeSplunk)
	}
	if err := notifier.CheckToken("splunk.httpToken", s.HTTPToken); err != nil {
		return nil, err
	}
	u, err := notifier.CheckURL("splunk.httpEndpoint", s.HTTPEndpoint)
	if err != nil {
		return nil, err
	}
	if u.Path == "" || u.Path == "/" {
		u.Path, u.RawPath = collectorPath, ""
	}
	truncate := int(s.Truncate)
	switch {
	case s.Truncate == 0:
		truncate = DefaultTruncate
	case s.Truncate < MinTruncate:
		return nil, notifier.Invalid("splunk.truncate", "%d bytes is too small for an alert, want at least %d (or 0 for %d)", s.Truncate, MinTruncate, DefaultTruncate)
	case s.Truncate > 1<<30:
		return nil, notifier.Invalid("splunk.truncate", "%d bytes is more than HEC takes", s.Truncate)
	}
	keys := make([]string, 0, len(s.SourceTypes))
	for k := range s.SourceTypes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k != "alert" && k != "audit" {
			return nil, notifier.Invalid("splunk.sourceTypes", "unknown key %q, want \"alert\" or \"audit\"", k)
		}
	}
	tlsCfg, err := notifier.TLSConfig("", s.Insecure)
	if err != nil {
		return nil, err
	}
	return &Notifier{
		endpoint:   u.String(),
		host:       u.Host,
		token:      s.HTTPToken,
		origin:     notifier.Origin(cfg.UIEndpoint),
		alertType:  orDefault(s.SourceTypes["alert"], DefaultAlertSourceType),
		auditType:  orDefault(s.SourceTypes["audit"], DefaultAuditSourceType),
		truncate:   truncate,
		audit:      s.AuditLoggingEnabled,
		uiEndpoint: cfg.UIEndpoint,
		channel:    newChannel(),
		client:     notifier.HTTPClient(tlsCfg),
	}, nil
}

// Wants takes tests, every alert event, summaries, and audit events when
// splunk.auditLoggingEnabled is set.
func (n *Notifier) Wants(kind notifier.Kind, event notifier.Event) bool {
	if kind == notifier.KindAudit {
		return n.audit
	}
	return notifier.Takes(kind, event, notifier.EventNew, notifier.EventResolved, notifier.EventReopened)
}

// Send posts m to HEC as one event.
func (n *Notifier) Send(ctx context.Context, m *notifier.Message) error {
	if m == nil {
		return notifier.Fail("splunk: no message to send")
	}
	at := m.Time
	if at.IsZero() {
		at = time.Now()
	}
	var (
		event      []byte
		sourcetype = n.alertType
		err        error
	)
	switch m.Kind {
	case notifier.KindTest:
		a := m.Alert
		if a == nil {
			a = notifier.SampleAlert(at, n.uiEndpoint)
		}
		event, err = n.encodeAlert(m, a)
	case notifier.KindAlert:
		if m.Alert == nil {
			return notifier.Fail("splunk: alert message %s carries no alert", m.ID)
		}
		if !n.Wants(m.Kind, m.Event) {
			return notifier.Fail("splunk: alert event %q is not one Splunk takes", m.Event)
		}
		event, err = n.encodeAlert(m, m.Alert)
	case notifier.KindSummary:
		if m.Summary == nil {
			return notifier.Fail("splunk: summary message %s carries no summary", m.ID)
		}
		event, err = n.encodeSummary(m)
	case notifier.KindAudit:
		if !n.audit {
			return notifier.Fail("splunk: audit logging is off for this notifier (splunk.auditLoggingEnabled)")
		}
		if m.Audit == nil {
			return notifier.Fail("splunk: audit message %s carries no audit event", m.ID)
		}
		sourcetype = n.auditType
		event, err = n.encodeAudit(m)
	default:
		return notifier.Fail("splunk: unknown message kind %q", m.Kind)
	}
	if err != nil {
		return err
	}
	body, err := json.Marshal(envelope{
		Time:       epoch(at),
		Host:       n.origin,
		Source:     source,
		Sourcetype: sourcetype,
		Event:      event,
	})
	if err != nil {
		return fmt.Errorf("splunk: encode event: %w", err)
	}
	return n.post(ctx, m.ID, body)
}

type envelope struct {
	Time       json.Number     `json:"time"`
	Host       string          `json:"host"`
	Source     string          `json:"source"`
	Sourcetype string          `json:"sourcetype"`
	Event      json.RawMessage `json:"event"`
}

// hecAnswer is what HEC says, on success and on refusal.
type hecAnswer struct {
	Text string `json:"text"`
	Code *int   `json:"code"`
}

func (n *Notifier) post(ctx context.Context, id string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.endpoint, bytes.NewReader(body))
	if err != nil {
		return notifier.Fail("splunk: build request for %s: %v", n.host, err)
	}
	req.Header.Set("Authorization", "Splunk "+n.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Splunk-Request-Channel", n.channel)
	if id != "" {
		req.Header.Set("X-Stockade-Delivery", id)
	}
	answer, err := notifier.Do(ctx, n.client, req, notifier.MaxAnswer)
	if err != nil {
		return n.refused(err)
	}
	var a hecAnswer
	if json.Unmarshal(answer, &a) == nil && a.Code != nil && *a.Code != 0 {
		return fmt.Errorf("splunk: HEC at %s did not take the event: %s", n.host,
			notifier.Scrub(describe(a), n.token))
	}
	return nil
}

// refused puts a failed delivery in plain words with HEC's own reason.
func (n *Notifier) refused(err error) error {
	var de *notifier.Error
	if !errors.As(err, &de) {
		return fmt.Errorf("splunk: send event: %w", err)
	}
	body := de.Body // HEC's answer as written; what is quoted from it is scrubbed below
	de.Scrub(n.token)
	if de.Status == 0 {
		return fmt.Errorf("splunk: send event: %w", err)
	}
	var a hecAnswer
	if json.Unmarshal(body, &a) != nil || a.Text == "" {
		return fmt.Errorf("splunk: send event: %w", err)
	}
	msg := fmt.Sprintf("splunk: HEC at %s refused the event (%d %s): %s", n.host, de.Status,
		http.StatusText(de.Status), describe(a))
	if a.Code != nil {
		switch *a.Code {
		case 1:
			msg += "; enable the token in Splunk or set splunk.httpToken to an enabled one"
		case 2, 3, 4:
			msg += "; check splunk.httpToken"
		case 7:
			msg += "; the token's index does not exist or the token may not write to it"
		}
	}
	return de.WithMessage(notifier.Scrub(msg, n.token))
}

func describe(a hecAnswer) string {
	s := notifier.PlainLine(a.Text)
	if s == "" {
		s = "no reason given"
	}
	if a.Code != nil {
		s += fmt.Sprintf(" (HEC code %d)", *a.Code)
	}
	return s
}

// epoch is t in seconds since 1970 with milliseconds, as HEC's "time".
func epoch(t time.Time) json.Number {
	ms := t.UnixMilli()
	return json.Number(fmt.Sprintf("%d.%03d", ms/1000, ms%1000))
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}

// newChannel is a random GUID naming this notifier's HEC data channel.
func newChannel() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
