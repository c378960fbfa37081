// Package inventory is the set of deployments Central knows of, kept in the
// store's deployments table: those shown to deploy-time detection with
// record=true now, and those each cluster's Sensor streams later. Policies
// are dry-run against it.
//
// The inventory can hold tens of thousands of deployments, so it is never
// read whole: Each decodes and hands out one deployment at a time while the
// store reads bounded pages underneath.
package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/workload"
)

// MaxDocument is the largest deployment, in bytes of JSON, the inventory
// keeps. Real workloads are a few kilobytes; one past this is skipped and
// logged rather than failing the detection that recorded it.
const MaxDocument = 4 << 20

// Sources of the inventory's deployments: the detection API, and a
// cluster's Sensor (sensorconn).
const (
	SourceAPI    = "api"
	SourceSensor = "sensor"
)

// Store is what the inventory reads its deployments from.
type Store interface {
	EachDeployment(ctx context.Context, fn func(store.DeploymentRecord) error) error
}

// Inventory is the set of deployments seen.
type Inventory struct {
	st  Store
	log *slog.Logger
}

// New keeps the inventory in st.
func New(st Store, log *slog.Logger) *Inventory { return &Inventory{st: st, log: log} }

// Record remembers deployments inside tx, replacing earlier versions with the
// same id (which keep their first-seen time). A deployment whose JSON is
// larger than MaxDocument is skipped and logged.
func (inv *Inventory) Record(ctx context.Context, tx *store.Tx, deployments []*workload.Deployment) error {
	recs := make([]store.DeploymentRecord, 0, len(deployments))
	for _, d := range deployments {
		doc, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("record deployments: encode deployment %q: %w", d.ID, err)
		}
		if len(doc) > MaxDocument {
			inv.log.Warn("deployment too large for the inventory", "deployment", d.Name, "namespace", d.Namespace,
				"cluster", d.ClusterName, "bytes", len(doc), "max", MaxDocument)
			continue
		}
		recs = append(recs, store.DeploymentRecord{
			ID: d.ID, Cluster: d.ClusterName, Namespace: d.Namespace, Name: d.Name, Kind: d.Kind,
			Source: SourceAPI, JSON: doc,
		})
	}
	if err := tx.UpsertDeployments(ctx, recs); err != nil {
		return fmt.Errorf("record deployments: %w", err)
	}
	return nil
}

// Each calls fn with every deployment in the inventory, in id order, one at a
// time, and stops at fn's first error, which it returns as is. A stored
// document that no longer decodes is skipped and logged.
func (inv *Inventory) Each(ctx context.Context, fn func(*workload.Deployment) error) error {
	var fnErr error
	err := inv.st.EachDeployment(ctx, func(rec store.DeploymentRecord) error {
		d := new(workload.Deployment)
		if err := json.Unmarshal(rec.JSON, d); err != nil {
			inv.log.Warn("unreadable deployment in the inventory", "id", rec.ID, "source", rec.Source, "err", err)
			return nil
		}
		fnErr = fn(d)
		return fnErr
	})
	if err != nil && fnErr == nil {
		return fmt.Errorf("read inventory: %w", err)
	}
	return err
}
