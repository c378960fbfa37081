package outbox

import (
	"encoding/json"
	"fmt"

	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// AlertFromRecord is a stored alert as notifiers see it. The stored
// document (detectapi.Alert) shares notifier.Alert's field names; the
// record's columns win for what changes without rewriting the document.
func AlertFromRecord(rec store.AlertRecord) (*notifier.Alert, error) {
	var a notifier.Alert
	if err := json.Unmarshal(rec.JSON, &a); err != nil {
		return nil, fmt.Errorf("alert %q: read document: %w", rec.ID, err)
	}
	a.ID, a.State, a.LifecycleStage = rec.ID, rec.State, rec.LifecycleStage
	a.Policy.ID, a.Policy.Name, a.Policy.Severity = rec.PolicyID, rec.PolicyName, rec.Severity
	a.FirstOccurred, a.Time = rec.CreatedAt, rec.UpdatedAt
	if rec.Enforced {
		a.Enforcement = "enforced"
	}
	if a.Violations == nil {
		a.Violations = []notifier.Violation{}
	}
	return &a, nil
}

// StateEvent is the notification event of an alert moving from one state
// to another, or "" when there is nothing to tell.
func StateEvent(from, to string) notifier.Event {
	switch {
	case from == to:
		return ""
	case to == store.AlertResolved:
		return notifier.EventResolved
	case from == store.AlertResolved:
		return notifier.EventReopened
	}
	return ""
}
