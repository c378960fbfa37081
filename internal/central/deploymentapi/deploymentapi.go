// Package deploymentapi is the /v1/deployments API: the deployments Central
// knows of — streamed by each secured cluster's Sensor, or recorded by
// deploy-time detection — listed with filters, their open violations and
// their risk,
// and read one by one with the normalized workload document (containers,
// exposure, network-policy coverage, service account and its RBAC level)
// and the scans of its images.
package deploymentapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/workload"
)

// Page sizes of GET /v1/deployments.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Store is where deployments, their open violations and their images' scans
// are read from.
type Store interface {
	ListDeploymentsWithRisk(ctx context.Context, q store.DeploymentQuery) ([]store.DeploymentRecord, map[string]store.Risk, int, error)
	GetDeployment(ctx context.Context, id string) (store.DeploymentRecord, error)
	DeploymentRisks(ctx context.Context, ids []string) (map[string]store.Risk, error)
	ImagesByName(ctx context.Context, names, digests []string) (byName, byDigest map[string]store.ImageRecord, err error)
}

// API serves the deployment routes.
type API struct {
	store Store
}

// New returns the deployment API.
func New(st Store) *API { return &API{store: st} }

// Routes are the deployment endpoints; both need Deployment read (Admin,
// Analyst).
func (a *API) Routes() []httpapi.Route {
	read := auth.Need(auth.ResourceDeployment, auth.Read)
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/deployments", Permission: read, Handler: a.list},
		{Method: http.MethodGet, Path: "/v1/deployments/{id}", Permission: read, Handler: a.get},
	}
}

// Violations counts open (ACTIVE) violations by severity.
type Violations struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Total    int `json:"total"`
}

// ViolationsOf turns the store's counts into the API's.
func ViolationsOf(v store.ViolationCounts) Violations {
	return Violations{Critical: v.Critical, High: v.High, Medium: v.Medium, Low: v.Low, Total: v.Total()}
}

// CVECounts count the distinct CVEs of the images a deployment runs, each
// at its highest severity; Fixable those with a fixed version.
type CVECounts struct {
	Total     int `json:"total"`
	Critical  int `json:"critical"`
	Important int `json:"important"`
	Moderate  int `json:"moderate"`
	Low       int `json:"low"`
	Fixable   int `json:"fixable"`
}

// Risk is a deployment's risk score (store.RiskOf), its two factors and
// what they were computed from, so that a reader can see why.
type Risk struct {
	Score           float64    `json:"score"`
	ViolationFactor float64    `json:"violationFactor"`
	VulnFactor      float64    `json:"vulnFactor"`
	Violations      Violations `json:"violations"`
	CVEs            CVECounts  `json:"cves"`
}

// RiskOf turns the store's risk into the API's.
func RiskOf(r store.Risk) Risk {
	c := r.CVEs
	return Risk{Score: r.Score, ViolationFactor: r.ViolationFactor, VulnFactor: r.VulnFactor, Violations: ViolationsOf(r.Violations),
		CVEs: CVECounts{Total: c.CVEs, Critical: c.Critical, Important: c.Important, Moderate: c.Moderate, Low: c.Low, Fixable: c.Fixable}}
}

// Summary is a deployment in a list.
type Summary struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Cluster   string `json:"cluster"`
	Kind      string `json:"kind"`
	// Source is who reported it: "sensor" or "api" (detection).
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Images are the distinct images of its containers (init containers
	// included), in container order.
	Images     []string   `json:"images"`
	Violations Violations `json:"violations"`
	Risk       Risk       `json:"risk"`
}

// List is the answer of GET /v1/deployments.
type List struct {
	Deployments []Summary `json:"deployments"`
	Total       int       `json:"total"`
}

// ImageScan is one image of a deployment with what Central's scan of it
// found; Scanned is false (and the counts zero) when Central has no scan
// of the image.
type ImageScan struct {
	Name       string   `json:"name"`
	Containers []string `json:"containers"`
	Scanned    bool     `json:"scanned"`
	// ID is the scanned image's manifest digest, the key of
	// /v1/images/{id}.
	ID        string     `json:"id,omitempty"`
	ScanTime  *time.Time `json:"scanTime,omitempty"`
	Vulns     int        `json:"vulns"`
	Critical  int        `json:"critical"`
	Important int        `json:"important"`
	Moderate  int        `json:"moderate"`
	Low       int        `json:"low"`
	Fixable   int        `json:"fixable"`
}

// Deployment is the answer of GET /v1/deployments/{id}: the summary, the
// RBAC level of its service account by name, its images' scans and the
// workload document as stored.
type Deployment struct {
	Summary
	RBACLevel  string          `json:"rbacLevel"`
	ImageScans []ImageScan     `json:"imageScans"`
	Deployment json.RawMessage `json:"deployment"`
}

// containers is the part of the workload document the list reads.
type containers struct {
	Containers []struct {
		Name  string
		Image workload.Image
	}
}

// images lists the distinct images of a stored document's containers; a
// document that does not decode has none.
func images(doc []byte) (containers, []string) {
	var c containers
	if err := json.Unmarshal(doc, &c); err != nil {
		return containers{}, []string{}
	}
	out := []string{}
	for _, ct := range c.Containers {
		if name := imageName(ct.Image); name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return c, out
}

// imageName is how a container's image is shown: its normalized name, else
// what the manifest said.
func imageName(im workload.Image) string {
	if im.FullName != "" {
		return im.FullName
	}
	return im.Raw
}

// summary is r with its risk, whose inputs include its open violations.
func summary(r store.DeploymentRecord, risk store.Risk) Summary {
	_, ims := images(r.JSON)
	return Summary{ID: r.ID, Name: r.Name, Namespace: r.Namespace, Cluster: r.Cluster, Kind: r.Kind, Source: r.Source,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Images: ims, Violations: ViolationsOf(risk.Violations), Risk: RiskOf(risk)}
}

func intParam(q map[string][]string, name string, def int) (int, error) {
	vs := q[name]
	if len(vs) == 0 || vs[0] == "" {
		return def, nil
	}
	n, err := strconv.Atoi(vs[0])
	if err != nil || n < 0 {
		return 0, httpapi.Invalid("bad query parameter", httpapi.Detail{Path: name, Message: "want a non-negative integer, got " + strconv.Quote(vs[0])})
	}
	return n, nil
}

// severities are the values of the severity filter.
var severities = []string{"LOW_SEVERITY", "MEDIUM_SEVERITY", "HIGH_SEVERITY", "CRITICAL_SEVERITY"}

func (a *API) list(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "cluster", "namespace", "name", "kind", "source", "query", "violated", "severity", "sort", "offset", "limit":
		default:
			return httpapi.Invalid("unknown query parameter", httpapi.Detail{Path: k,
				Message: "unknown query parameter; want cluster, namespace, name, kind, source, query, violated, severity, sort, offset or limit"})
		}
	}
	switch s := q.Get("sort"); s {
	case "", "name", "-name", "namespace", "-namespace", "cluster", "-cluster", "updated", "-updated", "violations", "-violations", "risk", "-risk":
	default:
		return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "sort",
			Message: "want name, namespace, cluster, updated, violations or risk, optionally prefixed with -, got " + strconv.Quote(s)})
	}
	var violated *bool
	switch v := q.Get("violated"); v {
	case "":
	case "true", "false":
		b := v == "true"
		violated = &b
	default:
		return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "violated", Message: "want true or false, got " + strconv.Quote(v)})
	}
	if s := q.Get("severity"); s != "" && !slices.Contains(severities, s) {
		return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "severity",
			Message: "want LOW_SEVERITY, MEDIUM_SEVERITY, HIGH_SEVERITY or CRITICAL_SEVERITY, got " + strconv.Quote(s)})
	}
	offset, err := intParam(q, "offset", 0)
	if err != nil {
		return err
	}
	limit, err := intParam(q, "limit", DefaultLimit)
	if err != nil {
		return err
	}
	if limit == 0 || limit > MaxLimit {
		return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "limit", Message: "want 1 to " + strconv.Itoa(MaxLimit)})
	}
	recs, risks, total, err := a.store.ListDeploymentsWithRisk(r.Context(), store.DeploymentQuery{
		Cluster: q.Get("cluster"), Namespace: q.Get("namespace"), Name: q.Get("name"), Kind: q.Get("kind"), Source: q.Get("source"),
		Text: q.Get("query"), Violated: violated, Severity: q.Get("severity"), Sort: q.Get("sort"), Offset: offset, Limit: limit,
	})
	if err != nil {
		return err
	}
	out := List{Deployments: make([]Summary, 0, len(recs)), Total: total}
	for _, rec := range recs {
		out.Deployments = append(out.Deployments, summary(rec, risks[rec.ID]))
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rec, err := a.store.GetDeployment(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	risks, err := a.store.DeploymentRisks(ctx, []string{rec.ID})
	if err != nil {
		return err
	}
	var doc struct{ RBAC workload.PermissionLevel }
	if err := json.Unmarshal(rec.JSON, &doc); err != nil {
		return fmt.Errorf("decode deployment %q: %w", rec.ID, err)
	}
	scans, err := a.imageScans(ctx, rec.JSON)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, Deployment{Summary: summary(rec, risks[rec.ID]), RBACLevel: doc.RBAC.String(),
		ImageScans: scans, Deployment: json.RawMessage(rec.JSON)})
}

// imageScans looks up the scans of a deployment's images: by digest when
// the container pins one, else by the name the image was last scanned
// under.
func (a *API) imageScans(ctx context.Context, doc []byte) ([]ImageScan, error) {
	c, _ := images(doc)
	var (
		out            []ImageScan
		at             = map[string]int{}
		names, digests []string
	)
	for _, ct := range c.Containers {
		name := imageName(ct.Image)
		if name == "" {
			continue
		}
		if i, ok := at[name]; ok {
			out[i].Containers = append(out[i].Containers, ct.Name)
			continue
		}
		at[name] = len(out)
		out = append(out, ImageScan{Name: name, Containers: []string{ct.Name}})
		if ct.Image.Digest != "" {
			digests = append(digests, ct.Image.Digest)
		} else {
			names = append(names, name)
		}
	}
	if len(out) == 0 {
		return []ImageScan{}, nil
	}
	byName, byDigest, err := a.store.ImagesByName(ctx, names, digests)
	if err != nil {
		return nil, err
	}
	for _, ct := range c.Containers {
		i, ok := at[imageName(ct.Image)]
		if !ok || out[i].Scanned {
			continue
		}
		im, found := byName[imageName(ct.Image)]
		if ct.Image.Digest != "" {
			im, found = byDigest[ct.Image.Digest]
		}
		if !found {
			continue
		}
		scanned := im.ScanTime
		out[i].Scanned, out[i].ID, out[i].ScanTime = true, im.Digest, &scanned
		out[i].Vulns, out[i].Critical, out[i].Important, out[i].Moderate, out[i].Low, out[i].Fixable =
			im.Vulns, im.Critical, im.Important, im.Moderate, im.Low, im.Fixable
	}
	return out, nil
}
