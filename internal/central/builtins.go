package central

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/stockade-dev/stockade/internal/central/policyset"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/policy"
)

// builtinSeenSetting lists the ids of every built-in policy this store has
// ever been given, so that a new release adds its new built-ins once and a
// built-in the user deleted stays deleted.
const builtinSeenSetting = "policy/builtin-ids-seen"

// builtinRecords returns the built-in policies as store records.
func builtinRecords() ([]store.PolicyRecord, error) {
	builtin, err := policy.Builtin()
	if err != nil {
		return nil, err
	}
	recs := make([]store.PolicyRecord, 0, len(builtin))
	for _, p := range builtin {
		p.IsDefault = true
		rec, err := policyset.Encode(p, true)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

func seenIDs(recs []store.PolicyRecord) (string, error) {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	slices.Sort(ids)
	b, err := json.Marshal(ids)
	return string(b), err
}

// addNewBuiltins installs the built-in policies that this binary has and the
// store was never given, in one transaction. A new built-in whose name a
// user policy already has is skipped with a warning and not retried.
func addNewBuiltins(ctx context.Context, st *store.Store, log *slog.Logger) error {
	recs, err := builtinRecords()
	if err != nil {
		return err
	}
	added := 0
	err = st.InTx(ctx, func(tx *store.Tx) error {
		var seen []string
		raw, ok, err := tx.GetSetting(ctx, builtinSeenSetting)
		if err != nil {
			return err
		}
		if ok {
			if err := json.Unmarshal([]byte(raw), &seen); err != nil {
				return fmt.Errorf("read %s: %w", builtinSeenSetting, err)
			}
		}
		for _, rec := range recs {
			if slices.Contains(seen, rec.ID) {
				continue
			}
			seen = append(seen, rec.ID)
			if !ok {
				// A store from before this setting existed: it was given
				// every built-in of its time; only record them.
				continue
			}
			err := tx.CreatePolicy(ctx, rec)
			switch {
			case errors.Is(err, store.ErrConflict):
				log.Warn("new built-in policy not added: a policy with its name or id exists", "policy", rec.Name, "id", rec.ID)
			case err != nil:
				return fmt.Errorf("add built-in policy %q: %w", rec.Name, err)
			default:
				added++
			}
		}
		slices.Sort(seen)
		b, err := json.Marshal(seen)
		if err != nil {
			return err
		}
		return tx.SetSetting(ctx, builtinSeenSetting, string(b))
	})
	if err != nil {
		return fmt.Errorf("add new built-in policies: %w", err)
	}
	if added > 0 {
		log.Info("new built-in policies added", "count", added)
	}
	return nil
}
