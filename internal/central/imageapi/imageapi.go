// Package imageapi is the /v1/images API: scan an image (POST
// /v1/images/scan, the path `roxctl image scan` and `stockade image scan`
// call), and list and read the images Central has scanned. Scanning itself,
// and the cache of scans by digest, are the imagescan service's.
package imageapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/csvexport"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/imagescan"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/central/vulnapi"
)

// Page sizes of GET /v1/images.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// maxScanBody bounds a scan request: a name and two flags.
const maxScanBody = 64 << 10

// Scanner scans images (imagescan.Service).
type Scanner interface {
	Scan(ctx context.Context, req imagescan.Request) (imagescan.Result, error)
}

// Store is where scans are read from.
type Store interface {
	ListImages(ctx context.Context, q store.ImageQuery) ([]store.ImageRecord, int, error)
	GetImage(ctx context.Context, digest string) (store.ImageRecord, error)
	ImageDeploymentCounts(ctx context.Context, digests []string) (map[string]int, error)
	ImageDeployments(ctx context.Context, digest string, max int) (int, []store.DeploymentRef, error)
}

// API serves the image routes.
type API struct {
	scanner Scanner
	store   Store
	log     *slog.Logger
}

// New returns the image API.
func New(sc Scanner, st Store, log *slog.Logger) *API { return &API{scanner: sc, store: st, log: log} }

// Routes are the image endpoints. Scanning stores its result, so it needs
// Image write (Admin, Continuous Integration: CI pipelines scan); reading
// needs Image read (every role).
func (a *API) Routes() []httpapi.Route {
	read := auth.Need(auth.ResourceImage, auth.Read)
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/v1/images/scan", Permission: auth.Need(auth.ResourceImage, auth.Write), MaxBody: maxScanBody, Handler: a.scan},
		{Method: http.MethodGet, Path: "/v1/images", Permission: read, Handler: a.list},
		{Method: http.MethodGet, Path: "/v1/images/{id}", Permission: read, Handler: a.get},
		{Method: http.MethodGet, Path: "/v1/images/{id}/deployments", Permission: auth.Need(auth.ResourceDeployment, auth.Read), Handler: a.deployments},
	}
}

// ScanRequest is ACS's ScanImageRequest, with the platform to pick from a
// multi-arch index.
type ScanRequest struct {
	ImageName string `json:"imageName"`
	// Force scans every layer again instead of answering from a stored scan
	// or the layer cache.
	Force    bool   `json:"force"`
	Platform string `json:"platform"`
}

// DecodeScanRequest reads a scan request, requiring an image name.
func DecodeScanRequest(r *http.Request) (ScanRequest, error) {
	var req ScanRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return req, err
	}
	req.ImageName = strings.TrimSpace(req.ImageName)
	if req.ImageName == "" {
		return req, httpapi.Invalid("nothing to scan", httpapi.Detail{Path: "imageName", Message: "is required"})
	}
	return req, nil
}

func (a *API) scan(w http.ResponseWriter, r *http.Request) error {
	req, err := DecodeScanRequest(r)
	if err != nil {
		return err
	}
	res, err := a.scanner.Scan(r.Context(), imagescan.Request{Ref: req.ImageName, Force: req.Force, Platform: req.Platform})
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, res.Image)
}

// Summary is a stored image in a list: names, counts, times.
type Summary struct {
	ID         string    `json:"id"` // the manifest digest
	Name       string    `json:"name"`
	Registry   string    `json:"registry"`
	Remote     string    `json:"remote"`
	Tag        string    `json:"tag,omitempty"`
	ScanTime   time.Time `json:"scanTime"`
	Components int       `json:"components"`
	// Vulns counts distinct vulnerabilities; the severities count each at
	// its highest severity; Fixable those with a fixed version.
	Vulns     int       `json:"vulns"`
	Critical  int       `json:"critical"`
	Important int       `json:"important"`
	Moderate  int       `json:"moderate"`
	Low       int       `json:"low"`
	Fixable   int       `json:"fixable"`
	CreatedAt time.Time `json:"createdAt"`
	// Deployments counts the deployments running the image.
	Deployments int `json:"deployments"`
}

// List is the answer of GET /v1/images.
type List struct {
	Images []Summary `json:"images"`
	Total  int       `json:"total"`
}

func summary(r store.ImageRecord) Summary {
	return Summary{ID: r.Digest, Name: r.FullName, Registry: r.Registry, Remote: r.Remote, Tag: r.Tag, ScanTime: r.ScanTime,
		Components: r.Components, Vulns: r.Vulns, Critical: r.Critical, Important: r.Important, Moderate: r.Moderate, Low: r.Low,
		Fixable: r.Fixable, CreatedAt: r.CreatedAt}
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

func (a *API) list(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "query", "severity", "fixable", "sort", "offset", "limit", "format":
		default:
			return httpapi.Invalid("unknown query parameter", httpapi.Detail{Path: k,
				Message: "unknown query parameter; want query, severity, fixable, sort, offset, limit or format"})
		}
	}
	asCSV, err := csvexport.Requested(q)
	if err != nil {
		return err
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
	sevs, err := vulnapi.Severities(q, false)
	if err != nil {
		return err
	}
	fix, err := vulnapi.Fixable(q)
	if err != nil {
		return err
	}
	iq := store.ImageQuery{Text: q.Get("query"), Severities: sevs, Fixable: fix, Sort: q.Get("sort"), Offset: offset, Limit: limit}
	if asCSV {
		iq.Offset, iq.Limit = 0, csvexport.MaxRows
	}
	recs, total, err := a.store.ListImages(r.Context(), iq)
	if err != nil {
		return vulnapi.Invalid(err, "sort")
	}
	digests := make([]string, len(recs))
	for i, rec := range recs {
		digests[i] = rec.Digest
	}
	deps, err := a.store.ImageDeploymentCounts(r.Context(), digests)
	if err != nil {
		return err
	}
	if asCSV {
		return a.export(w, r, recs, deps)
	}
	out := List{Images: make([]Summary, 0, len(recs)), Total: total}
	for _, rec := range recs {
		s := summary(rec)
		s.Deployments = deps[rec.Digest]
		out.Images = append(out.Images, s)
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

// export writes the images as CSV.
func (a *API) export(w http.ResponseWriter, r *http.Request, recs []store.ImageRecord, deps map[string]int) error {
	out, err := csvexport.New(w, "images.csv", "Image", "Digest", "Scan time", "Components", "CVEs", "Critical", "Important", "Moderate", "Low",
		"Fixable", "Deployments")
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if err = out.Row(rec.FullName, rec.Digest, rec.ScanTime.UTC().Format(time.RFC3339), strconv.Itoa(rec.Components), strconv.Itoa(rec.Vulns),
			strconv.Itoa(rec.Critical), strconv.Itoa(rec.Important), strconv.Itoa(rec.Moderate), strconv.Itoa(rec.Low), strconv.Itoa(rec.Fixable),
			strconv.Itoa(deps[rec.Digest])); err != nil {
			break
		}
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		a.log.WarnContext(r.Context(), "export cut short", "export", "images.csv", "err", err)
	}
	return nil
}

// MaxImageDeployments bounds the deployments GET /v1/images/{id}/deployments lists.
const MaxImageDeployments = 1000

// Deployment is a deployment running an image.
type Deployment struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Cluster   string `json:"cluster"`
}

// Deployments is the answer of GET /v1/images/{id}/deployments: at most
// MaxImageDeployments of them, by cluster, namespace and name, and how many
// there are.
type Deployments struct {
	Total       int          `json:"total"`
	Deployments []Deployment `json:"deployments"`
}

func (a *API) deployments(w http.ResponseWriter, r *http.Request) error {
	digest := r.PathValue("id")
	if _, err := a.store.GetImage(r.Context(), digest); err != nil {
		return err
	}
	total, refs, err := a.store.ImageDeployments(r.Context(), digest, MaxImageDeployments)
	if err != nil {
		return err
	}
	out := Deployments{Total: total, Deployments: make([]Deployment, 0, len(refs))}
	for _, d := range refs {
		out.Deployments = append(out.Deployments, Deployment{ID: d.ID, Name: d.Name, Namespace: d.Namespace, Cluster: d.Cluster})
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	rec, err := a.store.GetImage(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	// The stored document is a scan.Image as encoded; it is sent as is.
	return httpapi.WriteJSON(w, http.StatusOK, json.RawMessage(rec.JSON))
}
