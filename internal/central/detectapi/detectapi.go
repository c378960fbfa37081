// Package detectapi is detection over the API, answering in the shape
// `roxctl deployment check` prints. POST /v1/detect/deploy/yaml checks
// Kubernetes YAML against the enabled DEPLOY policies; image criteria are
// evaluated for containers whose image Central has scanned already (that
// path never scans). With record=true every violated policy becomes an
// ACTIVE alert and the deployments are remembered for policy dry runs.
// POST /v1/detect/build scans an image (or takes its stored scan) and
// checks it against the enabled BUILD policies.
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
	"github.com/stockade-dev/stockade/internal/central/imagescan"
	"github.com/stockade-dev/stockade/internal/central/outbox"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/deploycheck"
	"github.com/stockade-dev/stockade/internal/manifest"
	"github.com/stockade-dev/stockade/internal/notify/notifier"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
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

// Notifications queues alert notifications inside the recording
// transaction (the outbox) and wakes delivery once it committed.
type Notifications interface {
	EnqueueAlerts(ctx context.Context, tx *store.Tx, changes []outbox.AlertChange) error
	Kick()
}

// Images scans images and finds stored scans (imagescan.Service).
type Images interface {
	Scan(ctx context.Context, req imagescan.Request) (imagescan.Result, error)
	Lookup(ctx context.Context, im workload.Image) (*scan.Image, error)
}

// API serves detection.
type API struct {
	policies  Policies
	store     Store
	inventory Inventory
	images    Images
	recorded  Counter
	notify    Notifications
	log       *slog.Logger
	now       func() time.Time
}

// New returns the detection API. images may be nil: deploy checks then
// skip image criteria and the build check is not served. notify may be
// nil: recorded alerts are then not forwarded.
func New(policies Policies, st Store, inv Inventory, images Images, recorded Counter, notify Notifications, log *slog.Logger) *API {
	return &API{policies: policies, store: st, inventory: inv, images: images, recorded: recorded, notify: notify, log: log, now: time.Now}
}

// recordPermission is needed on top of the route's permission to record
// alerts: a check that writes is not a read.
func recordPermission() auth.Permission { return auth.Need(auth.ResourceAlert, auth.Write) }

// Routes are the detection endpoints. Checking needs Detection read (the CI
// role has it); recording alerts additionally needs Alert write, checked in
// the handler because it depends on the request body.
//
// The build check also needs only Detection read, as in ACS, although it
// may scan and store the image: checking an image cannot be done without
// its scan.
func (a *API) Routes() []httpapi.Route {
	routes := []httpapi.Route{
		{Method: http.MethodPost, Path: "/v1/detect/deploy/yaml", Permission: auth.Need(auth.ResourceDetection, auth.Read),
			MaxBody: MaxYAMLBody, Handler: a.deployYAML},
	}
	if a.images != nil {
		routes = append(routes, httpapi.Route{Method: http.MethodPost, Path: "/v1/detect/build",
			Permission: auth.Need(auth.ResourceDetection, auth.Read), MaxBody: maxBuildBody, Handler: a.build})
	}
	return routes
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
	evaluate, err := a.deployEvaluator(r.Context(), res.Deployments, set, now)
	if err != nil {
		return err
	}
	report := deploycheck.CheckFunc(res.Deployments, evaluate)
	if req.Record {
		if err := a.record(r.Context(), res.Deployments, evaluate, now); err != nil {
			return err
		}
	}
	return httpapi.WriteJSON(w, http.StatusOK, report)
}

// deployEvaluator returns how a deployment is checked: with the stored
// scans of its containers' images when Central has any (an unscanned
// image is nil to the image criteria), else from the deployment alone.
// Each distinct image is looked up once.
func (a *API) deployEvaluator(ctx context.Context, deployments []*workload.Deployment, set *policy.Set, now time.Time) (func(*workload.Deployment) []policy.Alert, error) {
	if a.images == nil {
		return func(d *workload.Deployment) []policy.Alert { return set.EvaluateDeployment(d, now) }, nil
	}
	scans := map[workload.Image]*scan.Image{}
	for _, d := range deployments {
		for _, c := range d.Containers {
			if _, ok := scans[c.Image]; ok {
				continue
			}
			img, err := a.images.Lookup(ctx, c.Image)
			if err != nil {
				return nil, err
			}
			scans[c.Image] = img
		}
	}
	lookup := func(c *workload.Container) *scan.Image { return scans[c.Image] }
	return func(d *workload.Deployment) []policy.Alert { return set.EvaluateDeploymentWithImages(d, lookup, now) }, nil
}

// maxBuildBody bounds a build check request.
const maxBuildBody = 64 << 10

// BuildRequest is ACS's BuildDetectionRequest: the image to check, the
// policy categories to check it against (none means all), and whether to
// scan it again rather than use its stored scan.
type BuildRequest struct {
	ImageName        string   `json:"imageName"`
	PolicyCategories []string `json:"policyCategories"`
	Force            bool     `json:"force"`
	// Platform picks from a multi-arch index; empty means linux/amd64.
	Platform string `json:"platform"`
}

// build scans the image (or takes its stored scan) and checks it against
// the enabled BUILD policies, as `stockade image check --local` does: the
// report has the image's Result (type "Image") when it violates a policy;
// failingCheck marks the violated policies with FAIL_BUILD enforcement,
// which make `image check` fail.
func (a *API) build(w http.ResponseWriter, r *http.Request) error {
	var req BuildRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	req.ImageName = strings.TrimSpace(req.ImageName)
	if req.ImageName == "" {
		return httpapi.Invalid("nothing to check", httpapi.Detail{Path: "imageName", Message: "is required"})
	}
	set, err := a.policies.Set(r.Context())
	if err != nil {
		return err
	}
	if len(req.PolicyCategories) > 0 {
		if set, err = filter(set, req.PolicyCategories, false); err != nil {
			return err
		}
	}
	res, err := a.images.Scan(r.Context(), imagescan.Request{Ref: req.ImageName, Force: req.Force, Platform: req.Platform})
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, deploycheck.CheckImage(res.Image, set, a.now()))
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
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	ClusterName string            `json:"clusterName"`
	Type        string            `json:"type"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Containers  []AlertContainer  `json:"containers"`
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
	// FailingCheck says whether the policy enforces at the alert's stage.
	FailingCheck bool `json:"failingCheck"`
	// BreakGlass says admission control let the deployment in because of
	// its break-glass annotation although the policy denies it.
	BreakGlass bool `json:"breakGlass,omitempty"`
}

// AlertInput is what a recorded alert is made of.
type AlertInput struct {
	Deployment *workload.Deployment
	Policy     *policy.Compiled
	Stage      policy.LifecycleStage
	Violations []policy.Violation
	// State is ACTIVE, RESOLVED or ATTEMPTED.
	State string
	// Enforced says the violation was enforced (admission denied it).
	Enforced   bool
	BreakGlass bool
	Time       time.Time
}

// NewAlert builds the stored alert of in, with a new id, and the change to
// queue for its policy's notifiers (nil when the policy has none). Every
// recorder of alerts (this API, the Sensor connection) goes through it, so
// that stored documents and notifications look alike whatever their source.
func NewAlert(in AlertInput) (store.AlertRecord, *outbox.AlertChange, error) {
	d, p := in.Deployment, in.Policy.Policy
	dep := AlertDeployment{ID: d.ID, Name: d.Name, Namespace: d.Namespace, ClusterName: d.ClusterName, Type: d.Kind,
		Labels: d.Labels, Annotations: d.Annotations, Containers: []AlertContainer{}}
	for _, c := range d.Containers {
		dep.Containers = append(dep.Containers, AlertContainer{Name: c.Name, Image: c.Image.FullName})
	}
	violations := in.Violations
	if violations == nil {
		violations = []policy.Violation{}
	}
	doc, err := json.Marshal(Alert{
		Policy: AlertPolicy{ID: p.ID, Name: p.Name, Severity: p.Severity, Description: p.Description, Rationale: p.Rationale,
			Remediation: p.Remediation, Categories: p.Categories, LifecycleStages: p.LifecycleStages, EnforcementActions: p.EnforcementActions},
		LifecycleStage: string(in.Stage),
		Deployment:     dep,
		Violations:     violations,
		FailingCheck:   in.Policy.EnforcedAt(in.Stage),
		BreakGlass:     in.BreakGlass,
	})
	if err != nil {
		return store.AlertRecord{}, nil, fmt.Errorf("encode alert: %w", err)
	}
	at := in.Time.UTC().Round(0)
	rec := store.AlertRecord{
		ID: uuid.NewString(), PolicyID: p.ID, PolicyName: p.Name, Severity: string(p.Severity),
		LifecycleStage: string(in.Stage), State: in.State, ClusterName: d.ClusterName,
		Namespace: d.Namespace, DeploymentID: d.ID, DeploymentName: d.Name, EntityType: "DEPLOYMENT",
		Enforced: in.Enforced, CreatedAt: at, UpdatedAt: at, JSON: doc,
	}
	if len(p.Notifiers) == 0 {
		return rec, nil, nil
	}
	na, err := outbox.AlertFromRecord(rec)
	if err != nil {
		return store.AlertRecord{}, nil, err
	}
	return rec, &outbox.AlertChange{Notifiers: p.Notifiers, Event: notifier.EventNew, Alert: na}, nil
}

func (a *API) record(ctx context.Context, deployments []*workload.Deployment, evaluate func(*workload.Deployment) []policy.Alert, now time.Time) error {
	var (
		recs    []store.AlertRecord
		changes []outbox.AlertChange
	)
	for _, d := range deployments {
		for _, al := range evaluate(d) {
			rec, change, err := NewAlert(AlertInput{Deployment: d, Policy: al.Policy, Stage: policy.StageDeploy,
				Violations: al.Violations, State: store.AlertActive, Time: now})
			if err != nil {
				return err
			}
			recs = append(recs, rec)
			if a.notify != nil && change != nil {
				changes = append(changes, *change)
			}
		}
	}
	err := a.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.AddAlerts(ctx, recs); err != nil {
			return err
		}
		if len(changes) > 0 {
			if err := a.notify.EnqueueAlerts(ctx, tx, changes); err != nil {
				return err
			}
		}
		return a.inventory.Record(ctx, tx, deployments)
	})
	if err != nil {
		return err
	}
	if len(changes) > 0 {
		a.notify.Kick()
	}
	if a.recorded != nil {
		a.recorded.Add(float64(len(recs)))
	}
	a.log.Info("detection recorded", "deployments", len(deployments), "alerts", len(recs))
	return nil
}
