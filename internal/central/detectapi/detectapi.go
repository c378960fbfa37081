// Package detectapi is deploy-time detection over the API:
// POST /v1/detect/deploy/yaml checks Kubernetes YAML against the enabled
// stored policies and answers in the shape `roxctl deployment check` prints.
// With record=true every violated policy becomes an ACTIVE alert and the
// deployments are remembered for policy dry runs.
package detectapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/deploycheck"
	"github.com/stockade-dev/stockade/internal/manifest"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

// MaxYAMLBody bounds a detection request: YAML of many workloads, escaped
// into a JSON string.
const MaxYAMLBody = 20 << 20

// Policies gives the compiled set of stored policies.
type Policies interface {
	Set(ctx context.Context) (*policy.Set, error)
}

// Store runs the transaction that records alerts and deployments together.
type Store interface {
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error
}

// Inventory remembers recorded deployments.
type Inventory interface {
	Record(ctx context.Context, tx *store.Tx, deployments []*workload.Deployment) error
}

// Counter counts recorded alerts (a Prometheus counter in Central).
type Counter interface {
	Add(float64)
}

// API serves detection.
type API struct {
	policies  Policies
	store     Store
	inventory Inventory
	recorded  Counter
	log       *slog.Logger
	now       func() time.Time
}

// New returns the detection API.
func New(policies Policies, st Store, inv Inventory, recorded Counter, log *slog.Logger) *API {
	return &API{policies: policies, store: st, inventory: inv, recorded: recorded, log: log, now: time.Now}
}

// recordPermission is needed on top of the route's permission to record
// alerts: a check that writes is not a read.
func recordPermission() auth.Permission { return auth.Need(auth.ResourceAlert, auth.Write) }

// Routes are the detection endpoints. Checking needs Detection read (the CI
// role has it); recording alerts additionally needs Alert write, checked in
// the handler because it depends on the request body.
func (a *API) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/v1/detect/deploy/yaml", Permission: auth.Need(auth.ResourceDetection, auth.Read),
			MaxBody: MaxYAMLBody, Handler: a.deployYAML},
	}
}

// DeployYAMLRequest is ACS's DeployYAMLDetectionRequest plus record.
type DeployYAMLRequest struct {
	YAML             string   `json:"yaml"`
	PolicyCategories []string `json:"policyCategories"`
	// Record stores an alert per violated policy and remembers the deployments.
	Record bool `json:"record"`
	// Cluster names the cluster of recorded alerts and deployments.
	Cluster string `json:"cluster"`
	// EnforcementOnly evaluates only policies that enforce at deploy time.
	EnforcementOnly bool `json:"enforcementOnly"`
	// NoExternalMetadata is accepted for ACS clients; this check never
	// fetches image metadata from registries, so it changes nothing.
	NoExternalMetadata bool `json:"noExternalMetadata"`
}

func (a *API) deployYAML(w http.ResponseWriter, r *http.Request) error {
	var req DeployYAMLRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if req.Record {
		if id, _ := auth.FromContext(r.Context()); !id.Role.Allows(recordPermission()) {
			return httpapi.Forbidden(fmt.Sprintf("role %q may check deployments but not record alerts (%s)", id.Role, recordPermission()))
		}
	}
	if strings.TrimSpace(req.YAML) == "" {
		return httpapi.Invalid("nothing to check", httpapi.Detail{Path: "yaml", Message: "is required"})
	}
	res, err := manifest.Parse("yaml", []byte(req.YAML))
	if err != nil {
		return err
	}
	set, err := a.policies.Set(r.Context())
	if err != nil {
		return err
	}
	if len(req.PolicyCategories) > 0 || req.EnforcementOnly {
		if set, err = filter(set, req.PolicyCategories, req.EnforcementOnly); err != nil {
			return err
		}
	}
	if req.Cluster != "" {
		for _, d := range res.Deployments {
			if d.ClusterName == "" {
				d.ClusterName = req.Cluster
			}
		}
	}
	now := a.now()
	report := deploycheck.Check(res.Deployments, set, now)
	if req.Record {
		if err := a.record(r.Context(), res.Deployments, set, now); err != nil {
			return err
		}
	}
	return httpapi.WriteJSON(w, http.StatusOK, report)
}

// filter keeps the enabled policies of set in one of categories
// (case-insensitively; none means all) and, with enforcementOnly, those
// that enforce at deploy time.
func filter(set *policy.Set, categories []string, enforcementOnly bool) (*policy.Set, error) {
	var keep []*policy.Policy
	for _, c := range set.Policies() {
		p := c.Policy
		if p.Disabled || (enforcementOnly && !c.EnforcedAt(policy.StageDeploy)) {
			continue
		}
		if len(categories) > 0 && !slices.ContainsFunc(p.Categories, func(pc string) bool {
			return slices.ContainsFunc(categories, func(want string) bool { return strings.EqualFold(strings.TrimSpace(want), pc) })
		}) {
			continue
		}
		keep = append(keep, p)
	}
	return policy.NewSet(keep)
}

// AlertPolicy is the policy part of a recorded alert.
type AlertPolicy struct {
	ID                 string                     `json:"id"`
	Name               string                     `json:"name"`
	Severity           policy.Severity            `json:"severity"`
	Description        string                     `json:"description,omitempty"`
	Rationale          string                     `json:"rationale,omitempty"`
	Remediation        string                     `json:"remediation,omitempty"`
	Categories         []string                   `json:"categories,omitempty"`
	LifecycleStages    []policy.LifecycleStage    `json:"lifecycleStages,omitempty"`
	EnforcementActions []policy.EnforcementAction `json:"enforcementActions,omitempty"`
}

// AlertDeployment is the deployment part of a recorded alert.
type AlertDeployment struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	Namespace   string           `json:"namespace"`
	ClusterName string           `json:"clusterName"`
	Type        string           `json:"type"`
	Containers  []AlertContainer `json:"containers"`
}

// AlertContainer names a container and its image.
type AlertContainer struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

// Alert is the document stored for a recorded alert, close to ACS's Alert.
type Alert struct {
	Policy         AlertPolicy        `json:"policy"`
	LifecycleStage string             `json:"lifecycleStage"`
	Deployment     AlertDeployment    `json:"deployment"`
	Violations     []policy.Violation `json:"violations"`
	// FailingCheck says whether the policy enforces at deploy time.
	FailingCheck bool `json:"failingCheck"`
}

func (a *API) record(ctx context.Context, deployments []*workload.Deployment, set *policy.Set, now time.Time) error {
	var recs []store.AlertRecord
	for _, d := range deployments {
		dep := AlertDeployment{ID: d.ID, Name: d.Name, Namespace: d.Namespace, ClusterName: d.ClusterName, Type: d.Kind, Containers: []AlertContainer{}}
		for _, c := range d.Containers {
			dep.Containers = append(dep.Containers, AlertContainer{Name: c.Name, Image: c.Image.FullName})
		}
		for _, al := range set.EvaluateDeployment(d, now) {
			p := al.Policy.Policy
			doc, err := json.Marshal(Alert{
				Policy: AlertPolicy{ID: p.ID, Name: p.Name, Severity: p.Severity, Description: p.Description, Rationale: p.Rationale,
					Remediation: p.Remediation, Categories: p.Categories, LifecycleStages: p.LifecycleStages, EnforcementActions: p.EnforcementActions},
				LifecycleStage: string(policy.StageDeploy),
				Deployment:     dep,
				Violations:     al.Violations,
				FailingCheck:   al.Policy.EnforcedAt(policy.StageDeploy),
			})
			if err != nil {
				return fmt.Errorf("encode alert: %w", err)
			}
			recs = append(recs, store.AlertRecord{
				ID: uuid.NewString(), PolicyID: p.ID, PolicyName: p.Name, Severity: string(p.Severity),
				LifecycleStage: string(policy.StageDeploy), State: store.AlertActive, ClusterName: d.ClusterName,
				Namespace: d.Namespace, DeploymentID: d.ID, DeploymentName: d.Name, EntityType: "DEPLOYMENT",
				CreatedAt: now.UTC().Round(0), JSON: doc,
			})
		}
	}
	err := a.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.AddAlerts(ctx, recs); err != nil {
			return err
		}
		return a.inventory.Record(ctx, tx, deployments)
	})
	if err != nil {
		return err
	}
	if a.recorded != nil {
		a.recorded.Add(float64(len(recs)))
	}
	a.log.Info("detection recorded", "deployments", len(deployments), "alerts", len(recs))
	return nil
}
