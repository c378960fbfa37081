// Package inventory remembers the deployments Central has been shown through
// deploy-time detection with record=true, so that a policy can be dry-run
// against them before it is saved.
//
// Deployments are kept in store settings: one setting per deployment
// (inventory/deployment/<id>, its JSON) and an index of ids, most recent
// last, bounded in size so the inventory never grows without limit.
package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"

	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/workload"
)

const (
	indexKey  = "inventory/index"
	entryKey  = "inventory/deployment/"
	maxIndex  = 60 << 10 // bytes of the index JSON: settings hold at most 64 KiB
	maxRecord = 60 << 10 // bytes of one deployment's JSON
)

// Store is what the inventory reads its state from.
type Store interface {
	GetSetting(ctx context.Context, key string) (string, bool, error)
}

// Inventory is the set of deployments seen.
type Inventory struct {
	st  Store
	log *slog.Logger
}

// New keeps the inventory in st.
func New(st Store, log *slog.Logger) *Inventory { return &Inventory{st: st, log: log} }

// Record remembers deployments inside tx, replacing earlier versions with
// the same id and forgetting the oldest ones when the index is full. A
// deployment too large to keep is skipped and logged.
func (inv *Inventory) Record(ctx context.Context, tx *store.Tx, deployments []*workload.Deployment) error {
	if len(deployments) == 0 {
		return nil
	}
	err := func() error {
		ids, err := readIndex(ctx, tx.GetSetting)
		if err != nil {
			return err
		}
		for _, d := range deployments {
			doc, err := json.Marshal(d)
			if err != nil {
				return fmt.Errorf("encode deployment %q: %w", d.ID, err)
			}
			if len(doc) > maxRecord {
				inv.log.Warn("deployment too large for the inventory", "deployment", d.Name, "namespace", d.Namespace, "bytes", len(doc))
				continue
			}
			if err := tx.SetSetting(ctx, entryKey+d.ID, string(doc)); err != nil {
				return err
			}
			ids = slices.DeleteFunc(ids, func(id string) bool { return id == d.ID })
			ids = append(ids, d.ID)
		}
		var evicted []string
		for {
			idx, err := json.Marshal(ids)
			if err != nil {
				return fmt.Errorf("encode inventory index: %w", err)
			}
			if len(idx) <= maxIndex {
				if err := tx.SetSetting(ctx, indexKey, string(idx)); err != nil {
					return err
				}
				break
			}
			evicted = append(evicted, ids[0])
			ids = ids[1:]
		}
		for _, id := range evicted {
			if err := tx.DeleteSetting(ctx, entryKey+id); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		return fmt.Errorf("record deployments: %w", err)
	}
	return nil
}

// List returns the deployments seen, most recent first.
func (inv *Inventory) List(ctx context.Context) ([]*workload.Deployment, error) {
	ids, err := readIndex(ctx, inv.st.GetSetting)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	out := make([]*workload.Deployment, 0, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		v, ok, err := inv.st.GetSetting(ctx, entryKey+ids[i])
		if err != nil {
			return nil, fmt.Errorf("list deployments: %w", err)
		}
		if !ok || v == "" {
			continue
		}
		d := new(workload.Deployment)
		if err := json.Unmarshal([]byte(v), d); err != nil {
			inv.log.Warn("unreadable deployment in the inventory", "id", ids[i], "err", err)
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

func readIndex(ctx context.Context, get func(context.Context, string) (string, bool, error)) ([]string, error) {
	v, ok, err := get(ctx, indexKey)
	if err != nil || !ok {
		return nil, err
	}
	var ids []string
	if err := json.Unmarshal([]byte(v), &ids); err != nil {
		return nil, fmt.Errorf("read inventory index: %w", err)
	}
	return ids, nil
}
