// Package clusterapi is cluster onboarding and the secured clusters' view:
// /v1/cluster-init/init-bundles generates init bundles (client certificates
// for a cluster's Sensor and admission control, issued by Central's cluster
// CA and rendered as Kubernetes Secrets), lists them and revokes them;
// /v1/clusters lists the clusters whose Sensors connected, with their
// health. Only a bundle's metadata and certificate serials are stored:
// its private keys are in the one response that generated it.
package clusterapi

import (
	"cmp"
	"context"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/certs"
	"github.com/stockade-dev/stockade/internal/central/deploymentapi"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/initbundle"
)

// BundleValidity is how long an init bundle's certificates are valid, as
// in ACS.
const BundleValidity = 365 * 24 * time.Hour

// Health thresholds: a cluster heard from within HealthyWithin over a
// connected Sensor is HEALTHY; within DegradedWithin, or recently but no
// longer connected, DEGRADED; otherwise UNHEALTHY.
const (
	HealthyWithin  = 90 * time.Second
	DegradedWithin = 5 * time.Minute
)

// Health statuses.
const (
	StatusHealthy   = "HEALTHY"
	StatusDegraded  = "DEGRADED"
	StatusUnhealthy = "UNHEALTHY"
)

// Store is what the cluster API needs from the store.
type Store interface {
	CreateInitBundle(ctx context.Context, b store.InitBundleRecord) error
	ListInitBundles(ctx context.Context) ([]store.InitBundleRecord, error)
	GetInitBundle(ctx context.Context, id string) (store.InitBundleRecord, error)
	RevokeInitBundle(ctx context.Context, id string, at time.Time) (store.InitBundleRecord, error)
	ListClusters(ctx context.Context) ([]store.ClusterRecord, error)
	GetCluster(ctx context.Context, id string) (store.ClusterRecord, error)
	ClusterStats(ctx context.Context) (map[string]store.PlaceStats, error)
	NamespaceStats(ctx context.Context, cluster string) (map[string]store.PlaceStats, error)
}

// Issuer issues client certificates (Central's cluster CA).
type Issuer interface {
	IssueClient(subject pkix.Name, now time.Time, validity time.Duration) (certs.ClientCert, error)
}

// Connections is what the Sensor connection knows that the store does
// not: which clusters are connected now and when they were last heard
// from; it is told when a bundle is revoked, to drop its Sensors.
type Connections interface {
	Connected(clusterID string) (lastContact time.Time, ok bool)
	BundleRevoked(bundleID string)
}

// API serves the cluster and init bundle routes.
type API struct {
	store     Store
	issuer    Issuer
	centralCA []byte
	conns     Connections
	log       *slog.Logger
	now       func() time.Time
}

// New returns the API. centralCA is the PEM of the CA that signed
// Central's server certificate, put into every bundle; empty when Central
// serves with an operator's certificate.
func New(st Store, issuer Issuer, centralCA []byte, conns Connections, log *slog.Logger) *API {
	return &API{store: st, issuer: issuer, centralCA: centralCA, conns: conns, log: log, now: time.Now}
}

// Routes are the cluster endpoints: reading needs Cluster read (Admin,
// Analyst), generating and revoking bundles Cluster write (Admin).
func (a *API) Routes() []httpapi.Route {
	read := auth.Need(auth.ResourceCluster, auth.Read)
	write := auth.Need(auth.ResourceCluster, auth.Write)
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/v1/cluster-init/init-bundles", Permission: write, MaxBody: 64 << 10, Handler: a.generate},
		{Method: http.MethodGet, Path: "/v1/cluster-init/init-bundles", Permission: read, Handler: a.listBundles},
		{Method: http.MethodDelete, Path: "/v1/cluster-init/init-bundles/{id}", Permission: write, Handler: a.deleteBundle},
		{Method: http.MethodPatch, Path: "/v1/cluster-init/init-bundles/revoke", Permission: write, MaxBody: 64 << 10, Handler: a.revokeBundles},
		{Method: http.MethodGet, Path: "/v1/clusters", Permission: read, Handler: a.listClusters},
		{Method: http.MethodGet, Path: "/v1/clusters/{id}", Permission: read, Handler: a.getCluster},
	}
}

// ClusterRef names a cluster.
type ClusterRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// InitBundleMeta describes a bundle without its keys, as ACS's
// InitBundleMeta does.
type InitBundleMeta struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"createdAt"`
	CreatedBy string     `json:"createdBy"`
	ExpiresAt time.Time  `json:"expiresAt"`
	Revoked   bool       `json:"revoked"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	// ImpactedClusters connected with the bundle's certificate last.
	ImpactedClusters []ClusterRef `json:"impactedClusters"`
}

// BundleCerts are a bundle's certificates and keys in PEM.
type BundleCerts struct {
	CA            string `json:"caCert"`
	SensorCert    string `json:"sensorCert"`
	SensorKey     string `json:"sensorKey"`
	AdmissionCert string `json:"admissionCert"`
	AdmissionKey  string `json:"admissionKey"`
}

// GenerateRequest names the new bundle.
type GenerateRequest struct {
	Name string `json:"name"`
}

// GenerateResponse is a new bundle: its metadata, its certificates and
// keys, and the same as Kubernetes Secret YAML (base64 in JSON, as ACS's
// kubectlBundle).
type GenerateResponse struct {
	Meta          InitBundleMeta `json:"meta"`
	Certs         BundleCerts    `json:"certs"`
	KubectlBundle []byte         `json:"kubectlBundle"`
}

// bundleName is what a bundle may be called: it names certificates and
// files.
var bundleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func (a *API) generate(w http.ResponseWriter, r *http.Request) error {
	var req GenerateRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if !bundleName.MatchString(req.Name) {
		return httpapi.Invalid("bad init bundle name",
			httpapi.Detail{Path: "name", Message: "want 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit"})
	}
	caller, _ := auth.FromContext(r.Context())
	now := a.now().UTC().Round(0)
	id := uuid.NewString()
	issue := func(service string) (certs.ClientCert, error) {
		return a.issuer.IssueClient(pkix.Name{
			CommonName:         service + ": " + req.Name,
			Organization:       []string{"Stockade"},
			OrganizationalUnit: []string{service, "INIT_BUNDLE: " + id},
		}, now, BundleValidity)
	}
	sensor, err := issue(initbundle.ServiceSensor)
	if err != nil {
		return err
	}
	admission, err := issue(initbundle.ServiceAdmission)
	if err != nil {
		return err
	}
	rec := store.InitBundleRecord{
		ID: id, Name: req.Name, CreatedBy: caller.Name, CreatedAt: now, ExpiresAt: sensor.NotAfter.UTC(),
		Certs: []store.InitBundleCert{
			{Serial: sensor.Serial, Service: initbundle.ServiceSensor},
			{Serial: admission.Serial, Service: initbundle.ServiceAdmission},
		},
	}
	if err := a.store.CreateInitBundle(r.Context(), rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return &httpapi.Error{Status: http.StatusConflict, Message: fmt.Sprintf("an init bundle named %q exists; revoke it or pick another name", req.Name), Err: err}
		}
		return err
	}
	b := initbundle.Bundle{ID: id, Name: req.Name, CreatedAt: now, ExpiresAt: rec.ExpiresAt, CA: a.centralCA,
		Sensor:    initbundle.KeyPair{Cert: sensor.CertPEM, Key: sensor.KeyPEM},
		Admission: initbundle.KeyPair{Cert: admission.CertPEM, Key: admission.KeyPEM}}
	yaml, err := b.Render()
	if err != nil {
		return err
	}
	a.log.Info("init bundle generated", "bundle", id, "name", req.Name, "by", caller.Name, "expires", rec.ExpiresAt)
	return httpapi.WriteJSON(w, http.StatusOK, GenerateResponse{
		Meta: meta(rec, nil),
		Certs: BundleCerts{CA: string(a.centralCA), SensorCert: string(sensor.CertPEM), SensorKey: string(sensor.KeyPEM),
			AdmissionCert: string(admission.CertPEM), AdmissionKey: string(admission.KeyPEM)},
		KubectlBundle: yaml,
	})
}

func meta(b store.InitBundleRecord, impacted []ClusterRef) InitBundleMeta {
	if impacted == nil {
		impacted = []ClusterRef{}
	}
	return InitBundleMeta{ID: b.ID, Name: b.Name, CreatedAt: b.CreatedAt, CreatedBy: b.CreatedBy, ExpiresAt: b.ExpiresAt,
		Revoked: b.RevokedAt != nil, RevokedAt: b.RevokedAt, ImpactedClusters: impacted}
}

// impacted groups the clusters by the bundle they last connected with.
func (a *API) impacted(ctx context.Context) (map[string][]ClusterRef, error) {
	cs, err := a.store.ListClusters(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]ClusterRef{}
	for _, c := range cs {
		out[c.InitBundleID] = append(out[c.InitBundleID], ClusterRef{ID: c.ID, Name: c.Name})
	}
	return out, nil
}

func (a *API) listBundles(w http.ResponseWriter, r *http.Request) error {
	bs, err := a.store.ListInitBundles(r.Context())
	if err != nil {
		return err
	}
	imp, err := a.impacted(r.Context())
	if err != nil {
		return err
	}
	items := make([]InitBundleMeta, 0, len(bs))
	for _, b := range bs {
		items = append(items, meta(b, imp[b.ID]))
	}
	return httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

// revoke revokes the bundle with id and drops the Sensors connected with
// it.
func (a *API) revoke(ctx context.Context, id string) (store.InitBundleRecord, error) {
	b, err := a.store.RevokeInitBundle(ctx, id, a.now().UTC().Round(0))
	if err != nil {
		return store.InitBundleRecord{}, err
	}
	if a.conns != nil {
		a.conns.BundleRevoked(id)
	}
	caller, _ := auth.FromContext(ctx)
	a.log.Info("init bundle revoked", "bundle", id, "name", b.Name, "by", caller.Name)
	return b, nil
}

func (a *API) deleteBundle(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.revoke(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// RevokeRequest is ACS's InitBundleRevokeRequest: the bundles to revoke,
// and the clusters that use them, confirmed.
type RevokeRequest struct {
	IDs                       []string `json:"ids"`
	ConfirmImpactedClusterIDs []string `json:"confirmImpactedClustersIds"`
}

// RevocationError says why one bundle was not revoked.
type RevocationError struct {
	ID               string       `json:"id"`
	Error            string       `json:"error"`
	ImpactedClusters []ClusterRef `json:"impactedClusters"`
}

// RevokeResponse is ACS's InitBundleRevokeResponse.
type RevokeResponse struct {
	RevocationErrors []RevocationError `json:"initBundleRevocationErrors"`
	RevokedIDs       []string          `json:"initBundleRevokedIds"`
}

// maxRevoke bounds the bundles one request revokes.
const maxRevoke = 1000

func (a *API) revokeBundles(w http.ResponseWriter, r *http.Request) error {
	var req RevokeRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if len(req.IDs) == 0 || len(req.IDs) > maxRevoke {
		return httpapi.Invalid("nothing to revoke", httpapi.Detail{Path: "ids", Message: fmt.Sprintf("want 1 to %d init bundle ids", maxRevoke)})
	}
	imp, err := a.impacted(r.Context())
	if err != nil {
		return err
	}
	resp := RevokeResponse{RevocationErrors: []RevocationError{}, RevokedIDs: []string{}}
	for _, id := range req.IDs {
		var unconfirmed []ClusterRef
		for _, c := range imp[id] {
			if !slices.Contains(req.ConfirmImpactedClusterIDs, c.ID) {
				unconfirmed = append(unconfirmed, c)
			}
		}
		if len(unconfirmed) > 0 {
			resp.RevocationErrors = append(resp.RevocationErrors, RevocationError{ID: id, ImpactedClusters: imp[id],
				Error: "clusters use this init bundle; confirm them in confirmImpactedClustersIds to revoke it"})
			continue
		}
		if _, err := a.revoke(r.Context(), id); err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			resp.RevocationErrors = append(resp.RevocationErrors, RevocationError{ID: id, Error: "no such init bundle", ImpactedClusters: []ClusterRef{}})
			continue
		}
		resp.RevokedIDs = append(resp.RevokedIDs, id)
	}
	return httpapi.WriteJSON(w, http.StatusOK, resp)
}

// Cluster is a secured cluster with its health and what it holds.
type Cluster struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	CreatedAt         time.Time `json:"createdAt"`
	InitBundleID      string    `json:"initBundleId"`
	SensorVersion     string    `json:"sensorVersion"`
	KubernetesVersion string    `json:"kubernetesVersion"`
	Capabilities      []string  `json:"capabilities"`
	// Connected says a Sensor of the cluster is connected now.
	Connected   bool      `json:"connected"`
	LastContact time.Time `json:"lastContact"`
	// Status is HEALTHY, DEGRADED or UNHEALTHY (see HealthyWithin).
	Status string `json:"status"`
	// Deployments and Namespaces count the cluster's deployments and the
	// namespaces they are in; Violations its open violations.
	Deployments int                      `json:"deployments"`
	Namespaces  int                      `json:"namespaces"`
	Violations  deploymentapi.Violations `json:"violations"`
}

// view merges the stored record with the live connection and the stats.
func (a *API) view(c store.ClusterRecord, st store.PlaceStats, now time.Time) Cluster {
	out := Cluster{ID: c.ID, Name: c.Name, CreatedAt: c.CreatedAt, InitBundleID: c.InitBundleID, SensorVersion: c.SensorVersion,
		KubernetesVersion: c.KubernetesVersion, Capabilities: c.Capabilities, LastContact: c.LastContact,
		Deployments: st.Deployments, Namespaces: st.Namespaces, Violations: deploymentapi.ViolationsOf(st.Violations)}
	if out.Capabilities == nil {
		out.Capabilities = []string{}
	}
	if a.conns != nil {
		if last, ok := a.conns.Connected(c.ID); ok {
			out.Connected = true
			if last.After(out.LastContact) {
				out.LastContact = last
			}
		}
	}
	out.Status = Health(out.Connected, now.Sub(out.LastContact))
	return out
}

// Health is the status of a cluster last heard from age ago.
func Health(connected bool, age time.Duration) string {
	switch {
	case age <= HealthyWithin && connected:
		return StatusHealthy
	case age <= DegradedWithin:
		return StatusDegraded
	}
	return StatusUnhealthy
}

// statusRank orders statuses, healthy first.
func statusRank(s string) int {
	switch s {
	case StatusHealthy:
		return 0
	case StatusDegraded:
		return 1
	}
	return 2
}

// Page sizes of GET /v1/clusters.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// clusterOrder compares two clusters by a sort key of GET /v1/clusters
// (without its "-"); ok is false for an unknown key. Every order ends with
// the name, then the id.
func clusterOrder(key string) (func(a, b Cluster) int, bool) {
	var first func(a, b Cluster) int
	switch key {
	case "name":
		first = func(Cluster, Cluster) int { return 0 }
	case "status":
		first = func(a, b Cluster) int { return statusRank(a.Status) - statusRank(b.Status) }
	case "lastContact":
		first = func(a, b Cluster) int { return a.LastContact.Compare(b.LastContact) }
	case "deployments":
		first = func(a, b Cluster) int { return b.Deployments - a.Deployments }
	case "violations":
		// Most first, by critical, then high, medium and low.
		first = func(a, b Cluster) int {
			for _, d := range [][2]int{
				{a.Violations.Critical, b.Violations.Critical}, {a.Violations.High, b.Violations.High},
				{a.Violations.Medium, b.Violations.Medium}, {a.Violations.Low, b.Violations.Low},
			} {
				if d[0] != d[1] {
					return d[1] - d[0]
				}
			}
			return 0
		}
	default:
		return nil, false
	}
	return func(a, b Cluster) int {
		if c := first(a, b); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	}, true
}

// ClusterList is the answer of GET /v1/clusters.
type ClusterList struct {
	Clusters []Cluster `json:"clusters"`
	Total    int       `json:"total"`
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

// listClusters filters, sorts and pages in memory: a Central has few
// clusters, and their health is known only here (the live connections).
func (a *API) listClusters(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "query", "status", "sort", "offset", "limit":
		default:
			return httpapi.Invalid("unknown query parameter", httpapi.Detail{Path: k,
				Message: "unknown query parameter; want query, status, sort, offset or limit"})
		}
	}
	sortKey := q.Get("sort")
	desc := strings.HasPrefix(sortKey, "-")
	order, ok := clusterOrder(cmp.Or(strings.TrimPrefix(sortKey, "-"), "name"))
	if !ok || sortKey == "-" {
		return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "sort",
			Message: "want name, status, lastContact, deployments or violations, optionally prefixed with -, got " + strconv.Quote(sortKey)})
	}
	status := q.Get("status")
	switch status {
	case "", StatusHealthy, StatusDegraded, StatusUnhealthy:
	default:
		return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "status",
			Message: "want HEALTHY, DEGRADED or UNHEALTHY, got " + strconv.Quote(status)})
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
	cs, err := a.store.ListClusters(r.Context())
	if err != nil {
		return err
	}
	stats, err := a.store.ClusterStats(r.Context())
	if err != nil {
		return err
	}
	text := strings.ToLower(q.Get("query"))
	now := a.now()
	all := make([]Cluster, 0, len(cs))
	for _, c := range cs {
		v := a.view(c, stats[c.Name], now)
		if (status != "" && v.Status != status) || !strings.Contains(strings.ToLower(v.Name), text) {
			continue
		}
		all = append(all, v)
	}
	slices.SortStableFunc(all, order)
	if desc {
		slices.Reverse(all)
	}
	out := ClusterList{Clusters: all[min(offset, len(all)):min(offset+limit, len(all))], Total: len(all)}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

// NamespaceStats is one namespace of a cluster: its deployments and open
// violations.
type NamespaceStats struct {
	Name        string                   `json:"name"`
	Deployments int                      `json:"deployments"`
	Violations  deploymentapi.Violations `json:"violations"`
}

// ClusterDetail is the answer of GET /v1/clusters/{id}: the cluster and
// its namespaces by name.
type ClusterDetail struct {
	Cluster    Cluster          `json:"cluster"`
	Namespaces []NamespaceStats `json:"namespaces"`
}

func (a *API) getCluster(w http.ResponseWriter, r *http.Request) error {
	c, err := a.store.GetCluster(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	byNS, err := a.store.NamespaceStats(r.Context(), c.Name)
	if err != nil {
		return err
	}
	var total store.PlaceStats
	out := ClusterDetail{Namespaces: make([]NamespaceStats, 0, len(byNS))}
	for name, st := range byNS {
		out.Namespaces = append(out.Namespaces, NamespaceStats{Name: name, Deployments: st.Deployments, Violations: deploymentapi.ViolationsOf(st.Violations)})
		total.Deployments += st.Deployments
		if st.Deployments > 0 {
			total.Namespaces++
		}
		total.Violations.Critical += st.Violations.Critical
		total.Violations.High += st.Violations.High
		total.Violations.Medium += st.Violations.Medium
		total.Violations.Low += st.Violations.Low
	}
	slices.SortFunc(out.Namespaces, func(a, b NamespaceStats) int { return strings.Compare(a.Name, b.Name) })
	out.Cluster = a.view(c, total, a.now())
	return httpapi.WriteJSON(w, http.StatusOK, out)
}
