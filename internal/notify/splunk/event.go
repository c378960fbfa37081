package splunk

import (
	"encoding/json"
	"fmt"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// alertEvent is the "event" of an alert or a test message.
type alertEvent struct {
	Kind       notifier.Kind   `json:"kind"`
	Event      notifier.Event  `json:"event,omitempty"`
	Test       bool            `json:"test,omitempty"`
	DeliveryID string          `json:"deliveryId"`
	Message    string          `json:"message"`
	Alert      *notifier.Alert `json:"alert"`
	// Truncated says the alert was shortened to fit splunk.truncate.
	Truncated         bool `json:"truncated,omitempty"`
	ViolationsOmitted int  `json:"violationsOmitted,omitempty"`
}

// summaryEvent is the "event" of an alert storm summary.
type summaryEvent struct {
	Kind               notifier.Kind     `json:"kind"`
	DeliveryID         string            `json:"deliveryId"`
	Message            string            `json:"message"`
	Summary            *notifier.Summary `json:"summary"`
	Truncated          bool              `json:"truncated,omitempty"`
	TopPoliciesOmitted int               `json:"topPoliciesOmitted,omitempty"`
}

// auditEvent is the "event" of a change made through Central's API.
type auditEvent struct {
	Kind       notifier.Kind   `json:"kind"`
	DeliveryID string          `json:"deliveryId"`
	Message    string          `json:"message"`
	Audit      *notifier.Audit `json:"audit"`
	Truncated  bool            `json:"truncated,omitempty"`
}

func (n *Notifier) encodeAlert(m *notifier.Message, a *notifier.Alert) ([]byte, error) {
	ev := alertEvent{Kind: m.Kind, DeliveryID: m.ID, Alert: a}
	if m.Kind == notifier.KindTest {
		ev.Test = true
		ev.Message = "Test message from Stockade: " + headline(a)
	} else {
		ev.Event = m.Event
		ev.Message = eventWord(m.Event) + ": " + headline(a)
	}
	if ev.Alert.Link == "" && m.Kind == notifier.KindAlert {
		c := *a
		c.Link = notifier.AlertLink(n.uiEndpoint, a.ID)
		ev.Alert = &c
	}
	return n.fitAlert(ev)
}

// fitAlert serializes ev within n.truncate bytes: first as it is, then with
// violation messages cut and as many leading violations as fit, then also
// without the policy's prose and the deployment's labels and annotations.
func (n *Notifier) fitAlert(ev alertEvent) ([]byte, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("splunk: encode alert %s: %w", ev.Alert.ID, err)
	}
	if len(b) <= n.truncate {
		return b, nil
	}
	a := *ev.Alert
	ev.Alert = &a
	ev.Truncated = true
	all := make([]notifier.Violation, len(a.Violations))
	perMessage := max(n.truncate/8, 64)
	for i, v := range a.Violations {
		all[i] = notifier.Violation{Message: notifier.Shorten(v.Message, perMessage)}
	}
	size := func(keep int) ([]byte, error) {
		a.Violations = all[:keep]
		ev.ViolationsOmitted = len(all) - keep
		return json.Marshal(ev)
	}
	if b, ok, err := n.fitCount(len(all), size); err != nil || ok {
		return b, err
	}
	prose := max(n.truncate/16, 64)
	a.Policy.Description = notifier.Shorten(a.Policy.Description, prose)
	a.Policy.Rationale = notifier.Shorten(a.Policy.Rationale, prose)
	a.Policy.Remediation = notifier.Shorten(a.Policy.Remediation, prose)
	if a.Deployment != nil {
		d := *a.Deployment
		d.Labels, d.Annotations, d.NamespaceAnnotations = nil, nil, nil
		if len(d.Containers) > 8 {
			d.Containers = d.Containers[:8]
		}
		a.Deployment = &d
	}
	if b, ok, err := n.fitCount(len(all), size); err != nil || ok {
		return b, err
	}
	return nil, notifier.Fail("splunk: alert %s does not fit in %d bytes (splunk.truncate) even without its violations", a.ID, n.truncate)
}

// fitCount finds the largest keep in [0, total] whose encoding fits in
// n.truncate bytes; ok is false when not even keep = 0 fits. Encodings grow
// with keep, so a binary search needs log2(total) encodings.
func (n *Notifier) fitCount(total int, encode func(keep int) ([]byte, error)) ([]byte, bool, error) {
	b, err := encode(0)
	if err != nil {
		return nil, false, fmt.Errorf("splunk: encode event: %w", err)
	}
	if len(b) > n.truncate {
		return nil, false, nil
	}
	lo, hi := 0, total+1 // keep = lo fits; keep = hi does not (or is out of range)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		mb, err := encode(mid)
		if err != nil {
			return nil, false, fmt.Errorf("splunk: encode event: %w", err)
		}
		if len(mb) <= n.truncate {
			lo = mid
		} else {
			hi = mid
		}
	}
	b, err = encode(lo)
	if err != nil {
		return nil, false, fmt.Errorf("splunk: encode event: %w", err)
	}
	return b, true, nil
}

func (n *Notifier) encodeSummary(m *notifier.Message) ([]byte, error) {
	s := *m.Summary
	if s.Link == "" {
		s.Link = notifier.ViolationsLink(n.uiEndpoint)
	}
	ev := summaryEvent{
		Kind:       notifier.KindSummary,
		DeliveryID: m.ID,
		Message:    fmt.Sprintf("%d more alerts folded during an alert storm", s.Count),
		Summary:    &s,
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("splunk: encode summary: %w", err)
	}
	if len(b) <= n.truncate {
		return b, nil
	}
	ev.Truncated = true
	all := s.TopPolicies
	b, ok, err := n.fitCount(len(all), func(keep int) ([]byte, error) {
		s.TopPolicies = all[:keep]
		ev.TopPoliciesOmitted = len(all) - keep
		return json.Marshal(ev)
	})
	if err != nil || ok {
		return b, err
	}
	return nil, notifier.Fail("splunk: summary does not fit in %d bytes (splunk.truncate)", n.truncate)
}

func (n *Notifier) encodeAudit(m *notifier.Message) ([]byte, error) {
	au := *m.Audit
	ev := auditEvent{
		Kind:       notifier.KindAudit,
		DeliveryID: m.ID,
		Message:    fmt.Sprintf("%s %s %s by %s from %s: %d", au.Interaction, au.Method, au.Path, au.User, au.SourceIP, au.Status),
		Audit:      &au,
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("splunk: encode audit event: %w", err)
	}
	if len(b) <= n.truncate {
		return b, nil
	}
	ev.Truncated = true
	au.Path = notifier.Shorten(au.Path, n.truncate/8)
	au.User = notifier.Shorten(au.User, n.truncate/16)
	ev.Message = notifier.Shorten(ev.Message, n.truncate/8)
	if b, err = json.Marshal(ev); err != nil {
		return nil, fmt.Errorf("splunk: encode audit event: %w", err)
	}
	if len(b) > n.truncate {
		return nil, notifier.Fail("splunk: audit event does not fit in %d bytes (splunk.truncate)", n.truncate)
	}
	return b, nil
}

// headline is an alert in one line for people.
func headline(a *notifier.Alert) string {
	return fmt.Sprintf("%s severity policy %q violated by %s", notifier.SeverityTitle(a.Policy.Severity), a.Policy.Name, notifier.Entity(a))
}

func eventWord(e notifier.Event) string {
	switch e {
	case notifier.EventResolved:
		return "Alert resolved"
	case notifier.EventReopened:
		return "Alert reopened"
	}
	return "New alert"
}
