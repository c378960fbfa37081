// Package sumologic sends Stockade alerts to a Sumo Logic hosted collector's
// HTTP source.
//
// What Sumo Logic expects: a POST of the log data to the source's unique
// address (sumologic.httpSourceAddress, e.g.
// https://endpoint1.collection.sumologic.com/receiver/v1/http/<token>; the
// token in the path is the secret). Stockade sends one JSON object per
// request with `Content-Type: application/json`, names itself with
// `X-Sumo-Name: stockade` and files the message under `X-Sumo-Category`:
// `stockade/alert` for alerts and test messages, `stockade/summary` for
// storm summaries. `X-Stockade-Delivery` carries the delivery ID (Sumo Logic
// has no field for it; it keeps the header out of the log). The source
// answers 200 with an empty body; 429 when it throttles.
//
// The JSON object is the message itself, flat, so Sumo's JSON operator
// reaches every field (`| json "policy.name"`):
//   - an alert: the notifier.Alert JSON plus "event" (NEW, RESOLVED,
//     REOPENED; NEW for a test) and "test": true on the test button's
//     sample alert;
//   - a summary: the notifier.Summary JSON.
//
// Sumo Logic takes at most 1 MB per request. An alert whose JSON would be
// larger keeps as many of its first violations as fit and says how many it
// left out in "violationsOmitted".
//
// Sumo Logic takes test messages, every alert event and storm summaries;
// not audit events.
package sumologic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// Header values and limits.
const (
	categoryAlert   = "stockade/alert"
	categorySummary = "stockade/summary"
	sourceName      = "stockade"
	maxBody         = 1_000_000
)

// Notifier delivers to one Sumo Logic HTTP source. It is safe for
// concurrent use.
type Notifier struct {
	uiEndpoint string
	source     *url.URL
	client     *http.Client
}

// New checks cfg (a "sumologic" notifier, block cfg.SumoLogic) and returns a
// ready Notifier.
func New(cfg notifier.Config) (*Notifier, error) {
	if cfg.Type != "" && cfg.Type != notifier.TypeSumoLogic {
		return nil, notifier.Invalid("type", "want %q, got %q", notifier.TypeSumoLogic, cfg.Type)
	}
	s := cfg.SumoLogic
	if s == nil {
		return nil, notifier.Invalid("sumologic", "required for a notifier of type %q", notifier.TypeSumoLogic)
	}
	u, err := notifier.CheckURL("sumologic.httpSourceAddress", s.HTTPSourceAddress)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := notifier.TLSConfig("", s.SkipTLSVerify)
	if err != nil {
		return nil, fmt.Errorf("sumo logic TLS configuration: %w", err)
	}
	return &Notifier{uiEndpoint: cfg.UIEndpoint, source: u, client: notifier.HTTPClient(tlsCfg)}, nil
}

// Wants says Sumo Logic takes tests, every alert event and summaries.
func (n *Notifier) Wants(kind notifier.Kind, event notifier.Event) bool {
	return notifier.Takes(kind, event, notifier.EventNew, notifier.EventResolved, notifier.EventReopened)
}

// alertBody is an alert as Sumo Logic receives it.
type alertBody struct {
	*notifier.Alert
	Event             notifier.Event `json:"event"`
	Test              bool           `json:"test,omitempty"`
	ViolationsOmitted int            `json:"violationsOmitted,omitempty"`
}

// Send POSTs m to the HTTP source.
func (n *Notifier) Send(ctx context.Context, m *notifier.Message) error {
	if m == nil {
		return notifier.Fail("sumo logic: no message")
	}
	if !n.Wants(m.Kind, m.Event) {
		return notifier.Fail("sumo logic does not take %s messages (event %q)", m.Kind, m.Event)
	}
	var (
		body     []byte
		err      error
		category = categoryAlert
	)
	switch m.Kind {
	case notifier.KindTest:
		a := m.Alert
		if a == nil {
			a = notifier.SampleAlert(m.Time, n.uiEndpoint)
		}
		body, err = n.encodeAlert(alertBody{Alert: a, Event: notifier.EventNew, Test: true})
	case notifier.KindAlert:
		if m.Alert == nil {
			return notifier.Fail("sumo logic: alert message %s carries no alert", m.ID)
		}
		body, err = n.encodeAlert(alertBody{Alert: m.Alert, Event: m.Event})
	case notifier.KindSummary:
		if m.Summary == nil {
			return notifier.Fail("sumo logic: summary message %s carries no summary", m.ID)
		}
		category = categorySummary
		body, err = json.Marshal(m.Summary)
		if err == nil && len(body) > maxBody {
			err = notifier.Fail("sumo logic: summary is %d bytes, over the %d a request may carry", len(body), maxBody)
		}
	}
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.source.String(), bytes.NewReader(body))
	if err != nil {
		return notifier.Fail("sumo logic: build request to %s: %v", n.source.Host, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Sumo-Category", category)
	req.Header.Set("X-Sumo-Name", sourceName)
	req.Header.Set("X-Stockade-Delivery", m.ID)
	if _, err := notifier.Do(ctx, n.client, req, notifier.MaxAnswer); err != nil {
		return fmt.Errorf("post to Sumo Logic: %w", err)
	}
	return nil
}

// encodeAlert is b's JSON, leaving out trailing violations until it fits
// in one request.
func (n *Notifier) encodeAlert(b alertBody) ([]byte, error) {
	data, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode alert %s: %w", b.ID, err)
	}
	if len(data) <= maxBody {
		return data, nil
	}
	all := b.Violations
	a := *b.Alert
	b.Alert = &a
	// Binary search for the longest run of leading violations that fits.
	lo, hi := 0, len(all)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		a.Violations = all[:mid]
		b.ViolationsOmitted = len(all) - mid
		d, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode alert %s: %w", b.ID, err)
		}
		if len(d) <= maxBody {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	a.Violations = all[:lo]
	b.ViolationsOmitted = len(all) - lo
	data, err = json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode alert %s: %w", b.ID, err)
	}
	if len(data) > maxBody {
		return nil, notifier.Fail("sumo logic: alert %s is %d bytes without its violations, over the %d a request may carry", b.ID, len(data), maxBody)
	}
	return data, nil
}
