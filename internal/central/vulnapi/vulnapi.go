// Package vulnapi is vulnerability management's API: the CVEs found in
// scanned images across the system (GET /v1/cves, /v1/cves/{id}) and the
// deployments with the CVEs of the images they run (GET
// /v1/vulns/deployments). The lists filter, sort and page on the server and
// export as CSV (format=csv). The store keeps the index they read (see
// store.ListCVEs); this package shapes it for the dashboard.
package vulnapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/csvexport"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// Page sizes of the lists.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Store is what the API reads.
type Store interface {
	ListCVEs(ctx context.Context, q store.CVEQuery) ([]store.CVESummary, int, error)
	EachCVE(ctx context.Context, q store.CVEQuery, fn func(store.CVESummary) error) error
	GetCVE(ctx context.Context, id string) (store.CVEDetail, error)
	GetImage(ctx context.Context, digest string) (store.ImageRecord, error)
	ListDeploymentVulns(ctx context.Context, q store.DeploymentVulnQuery) ([]store.DeploymentVulns, int, error)
	TopFixableImages(ctx context.Context, cluster, namespace string, limit int) ([]store.FixableImage, error)
}

// API serves the vulnerability routes.
type API struct {
	store Store
	log   *slog.Logger
}

// New returns the vulnerability API.
func New(st Store, log *slog.Logger) *API { return &API{store: st, log: log} }

// Routes are the vulnerability endpoints. CVEs are findings in images, so
// reading them needs Image read; the deployments list needs Deployment read.
// Every role reads both (Analyst included).
func (a *API) Routes() []httpapi.Route {
	images := auth.Need(auth.ResourceImage, auth.Read)
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/cves", Permission: images, Handler: a.listCVEs},
		{Method: http.MethodGet, Path: "/v1/cves/{id}", Permission: images, Handler: a.getCVE},
		{Method: http.MethodGet, Path: "/v1/vulns/deployments", Permission: auth.Need(auth.ResourceDeployment, auth.Read), Handler: a.listDeployments},
		{Method: http.MethodGet, Path: "/v1/vulns/images/fixable", Permission: images, Handler: a.listFixableImages},
	}
}

// CVE is one CVE in a list.
type CVE struct {
	ID          string        `json:"id"`
	Severity    scan.Severity `json:"severity"`
	CVSS        float64       `json:"cvss"`
	CVSSVersion string        `json:"cvssVersion,omitempty"`
	Fixable     bool          `json:"fixable"`
	Images      int           `json:"images"`
	Deployments int           `json:"deployments"`
	FirstSeen   time.Time     `json:"firstSeen,omitzero"`
	Summary     string        `json:"summary,omitempty"`
}

// CVEList is the answer of GET /v1/cves.
type CVEList struct {
	Total int   `json:"total"`
	CVEs  []CVE `json:"cves"`
}

func cveOf(c store.CVESummary) CVE {
	return CVE{ID: c.ID, Severity: c.Severity, CVSS: c.CVSS, CVSSVersion: c.CVSSVersion, Fixable: c.Fixable,
		Images: c.Images, Deployments: c.Deployments, FirstSeen: c.FirstSeen, Summary: c.Summary}
}

// params checks q against the parameters a list accepts.
func params(q url.Values, allowed ...string) error {
	for k := range q {
		known := false
		for _, a := range allowed {
			known = known || k == a
		}
		if !known {
			return httpapi.Invalid("unknown query parameter", httpapi.Detail{Path: k, Message: "unknown query parameter; want one of " + strings.Join(allowed, ", ")})
		}
	}
	return nil
}

func intParam(q url.Values, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, httpapi.Invalid("bad query parameter", httpapi.Detail{Path: name, Message: "want a non-negative integer, got " + strconv.Quote(v)})
	}
	return n, nil
}

// page reads offset and limit; limit is ignored by exports, which are
// bounded by csvexport.MaxRows instead.
func page(q url.Values) (offset, limit int, err error) {
	if offset, err = intParam(q, "offset", 0); err != nil {
		return 0, 0, err
	}
	if limit, err = intParam(q, "limit", DefaultLimit); err != nil {
		return 0, 0, err
	}
	if limit == 0 || limit > MaxLimit {
		return 0, 0, httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "limit", Message: "want 1 to " + strconv.Itoa(MaxLimit)})
	}
	return offset, limit, nil
}

// Severities parses severity parameters: repeated or comma-separated ACS
// severity names (CRITICAL, IMPORTANT, MODERATE, LOW; UNKNOWN when allowed),
// any case.
func Severities(q url.Values, unknownOK bool) ([]scan.Severity, error) {
	var out []scan.Severity
	for _, v := range q["severity"] {
		for _, s := range strings.Split(v, ",") {
			sev := scan.Severity(strings.ToUpper(strings.TrimSpace(s)))
			switch {
			case sev == "":
			case sev.Rank() > 0 || (unknownOK && sev == scan.SeverityUnknown):
				out = append(out, sev)
			default:
				want := "CRITICAL, IMPORTANT, MODERATE or LOW"
				if unknownOK {
					want = "CRITICAL, IMPORTANT, MODERATE, LOW or UNKNOWN"
				}
				return nil, httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "severity", Message: "want " + want + ", got " + strconv.Quote(s)})
			}
		}
	}
	return out, nil
}

// Fixable parses the fixable parameter: true, false or absent.
func Fixable(q url.Values) (*bool, error) {
	switch v := q.Get("fixable"); v {
	case "":
		return nil, nil
	case "true", "false":
		b := v == "true"
		return &b, nil
	default:
		return nil, httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "fixable", Message: "want true or false, got " + strconv.Quote(v)})
	}
}

// Invalid turns the store's ErrInvalid on a list query into a 400 naming
// the parameter the message is about (def when none is named).
func Invalid(err error, def string) error {
	if !errors.Is(err, store.ErrInvalid) {
		return err
	}
	msg := err.Error()
	param := def
	for _, p := range []struct{ word, param string }{
		{"sort", "sort"}, {"offset", "offset"}, {"severity", "severity"}, {"query text", "query"}, {"cluster", "cluster"}, {"namespace", "namespace"},
	} {
		if strings.Contains(msg, p.word) {
			param = p.param
			break
		}
	}
	return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: param, Message: msg})
}

func (a *API) listCVEs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := params(q, "query", "severity", "fixable", "cluster", "namespace", "sort", "offset", "limit", "format"); err != nil {
		return err
	}
	asCSV, err := csvexport.Requested(q)
	if err != nil {
		return err
	}
	offset, limit, err := page(q)
	if err != nil {
		return err
	}
	sevs, err := Severities(q, true)
	if err != nil {
		return err
	}
	fix, err := Fixable(q)
	if err != nil {
		return err
	}
	cq := store.CVEQuery{Text: q.Get("query"), Severities: sevs, Fixable: fix, Cluster: q.Get("cluster"), Namespace: q.Get("namespace"),
		Sort: q.Get("sort"), Offset: offset, Limit: limit}
	if asCSV {
		return a.exportCVEs(w, r, cq)
	}
	cves, total, err := a.store.ListCVEs(r.Context(), cq)
	if err != nil {
		return Invalid(err, "sort")
	}
	out := CVEList{Total: total, CVEs: make([]CVE, 0, len(cves))}
	for _, c := range cves {
		out.CVEs = append(out.CVEs, cveOf(c))
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

func (a *API) exportCVEs(w http.ResponseWriter, r *http.Request, cq store.CVEQuery) error {
	cq.Offset, cq.Limit = 0, csvexport.MaxRows
	// The store checks the query before the first row, so a bad one is
	// answered with an error rather than an empty download.
	var out *csvexport.Writer
	err := a.store.EachCVE(r.Context(), cq, func(c store.CVESummary) error {
		if out == nil {
			var err error
			if out, err = csvexport.New(w, "cves.csv", cveHeader...); err != nil {
				return err
			}
		}
		return out.Row(c.ID, string(c.Severity), formatScore(c.CVSS), c.CVSSVersion, strconv.FormatBool(c.Fixable),
			strconv.Itoa(c.Images), strconv.Itoa(c.Deployments), formatTime(c.FirstSeen), c.Summary)
	})
	return a.finish(r, w, out, "cves.csv", cveHeader, err)
}

var cveHeader = []string{"CVE", "Severity", "CVSS", "CVSS version", "Fixable", "Images", "Deployments", "First seen", "Summary"}

// finish closes an export, starting it when no row came, and logs an
// error that cut it short (the status is sent by then).
func (a *API) finish(r *http.Request, w http.ResponseWriter, out *csvexport.Writer, name string, header []string, err error) error {
	if out == nil {
		if err != nil && !errors.Is(err, csvexport.ErrFull) {
			return Invalid(err, "sort")
		}
		var herr error
		if out, herr = csvexport.New(w, name, header...); herr != nil {
			return herr
		}
	}
	if errors.Is(err, csvexport.ErrFull) {
		err = nil
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		a.log.WarnContext(r.Context(), "export cut short", "export", name, "err", err)
	}
	return nil
}

func formatScore(f float64) string {
	if f == 0 {
		return ""
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Component is one affected component of one image.
type Component struct {
	Image     string        `json:"image"` // digest
	ImageName string        `json:"imageName,omitempty"`
	Name      string        `json:"name"`
	Version   string        `json:"version"`
	Type      string        `json:"type,omitempty"`
	Layer     string        `json:"layer,omitempty"`
	FixedBy   string        `json:"fixedBy,omitempty"`
	Severity  scan.Severity `json:"severity"`
	CVSS      float64       `json:"cvss,omitempty"`
}

// Image is an affected image.
type Image struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	ScanTime  time.Time `json:"scanTime"`
	Vulns     int       `json:"vulns"`
	Critical  int       `json:"critical"`
	Important int       `json:"important"`
	Fixable   int       `json:"fixable"`
}

// Deployment is an affected deployment and which affected images it runs.
type Deployment struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Namespace string   `json:"namespace"`
	Cluster   string   `json:"cluster"`
	Images    []string `json:"images"`
}

// Detail is the answer of GET /v1/cves/{id}.
type Detail struct {
	CVE
	CVSSVector string    `json:"cvssVector,omitempty"`
	Published  time.Time `json:"published,omitzero"`
	Aliases    []string  `json:"aliases,omitempty"`
	// Link is the advisory's own page; References add the databases that
	// know the id (NVD for CVEs, GitHub for GHSAs, Go for GO- ids).
	Link                string       `json:"link,omitempty"`
	References          []string     `json:"references"`
	Components          []Component  `json:"components"`
	AffectedImages      []Image      `json:"affectedImages"`
	AffectedDeployments []Deployment `json:"affectedDeployments"`
}

// references are the well-known pages of a vulnerability id and its
// aliases, after link.
func references(link string, ids ...string) []string {
	out := []string{}
	add := func(u string) {
		for _, o := range out {
			if o == u {
				return
			}
		}
		out = append(out, u)
	}
	if link != "" {
		add(link)
	}
	for _, id := range ids {
		switch {
		case strings.HasPrefix(id, "CVE-"):
			add("https://nvd.nist.gov/vuln/detail/" + url.PathEscape(id))
		case strings.HasPrefix(id, "GHSA-"):
			add("https://github.com/advisories/" + url.PathEscape(id))
		case strings.HasPrefix(id, "GO-"):
			add("https://pkg.go.dev/vuln/" + url.PathEscape(id))
		}
	}
	return out
}

func (a *API) getCVE(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	d, err := a.store.GetCVE(r.Context(), id)
	if err != nil {
		return err
	}
	out := Detail{CVE: cveOf(d.CVESummary), Components: []Component{}, AffectedImages: []Image{}, AffectedDeployments: []Deployment{}}
	names := map[string]string{}
	for _, im := range d.AffectedImages {
		names[im.Digest] = im.FullName
		out.AffectedImages = append(out.AffectedImages, Image{ID: im.Digest, Name: im.FullName, ScanTime: im.ScanTime, Vulns: im.Vulns,
			Critical: im.Critical, Important: im.Important, Fixable: im.Fixable})
	}
	for _, c := range d.Components {
		out.Components = append(out.Components, Component{Image: c.Digest, ImageName: names[c.Digest], Name: c.Component, Version: c.Version,
			Type: c.Type, Layer: c.Layer, FixedBy: c.FixedBy, Severity: c.Severity, CVSS: c.CVSS})
	}
	for _, dep := range d.AffectedDeployments {
		out.AffectedDeployments = append(out.AffectedDeployments, Deployment{ID: dep.ID, Name: dep.Name, Namespace: dep.Namespace,
			Cluster: dep.Cluster, Images: dep.Digests})
	}
	// The advisory's own words come from a scan document that has it.
	if len(d.AffectedImages) > 0 {
		if v, ok := a.vulnFromScan(r.Context(), d.AffectedImages[0].Digest, id); ok {
			out.CVSSVector, out.Published, out.Aliases, out.Link = v.CVSSVector, v.Published, v.Aliases, v.Link
			if out.Summary == "" {
				out.Summary = v.Summary
			}
		}
	}
	out.References = references(out.Link, append([]string{id}, out.Aliases...)...)
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

// vulnFromScan finds vulnerability id in the stored scan of digest.
func (a *API) vulnFromScan(ctx context.Context, digest, id string) (scan.Vuln, bool) {
	rec, err := a.store.GetImage(ctx, digest)
	if err != nil {
		a.log.WarnContext(ctx, "read scan for CVE detail", "digest", digest, "err", err)
		return scan.Vuln{}, false
	}
	var img scan.Image
	if err := json.Unmarshal(rec.JSON, &img); err != nil {
		a.log.WarnContext(ctx, "decode scan for CVE detail", "digest", digest, "err", err)
		return scan.Vuln{}, false
	}
	for _, c := range img.Components {
		for _, v := range c.Vulns {
			if v.ID == id {
				return v, true
			}
		}
	}
	return scan.Vuln{}, false
}

// DeploymentImage is an image a deployment runs; Digest is empty until it
// is scanned.
type DeploymentImage struct {
	Name   string `json:"name"`
	Digest string `json:"digest,omitempty"`
}

// DeploymentVulns is a deployment with the CVE counts of its images.
type DeploymentVulns struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Cluster   string            `json:"cluster"`
	Images    []DeploymentImage `json:"images"`
	CVEs      int               `json:"cves"`
	Critical  int               `json:"critical"`
	Important int               `json:"important"`
	Moderate  int               `json:"moderate"`
	Low       int               `json:"low"`
	Fixable   int               `json:"fixable"`
}

// DeploymentList is the answer of GET /v1/vulns/deployments.
type DeploymentList struct {
	Total       int               `json:"total"`
	Deployments []DeploymentVulns `json:"deployments"`
}

func deploymentOf(d store.DeploymentVulns) DeploymentVulns {
	out := DeploymentVulns{ID: d.ID, Name: d.Name, Namespace: d.Namespace, Cluster: d.Cluster, Images: make([]DeploymentImage, 0, len(d.Images)),
		CVEs: d.CVEs, Critical: d.Critical, Important: d.Important, Moderate: d.Moderate, Low: d.Low, Fixable: d.Fixable}
	for _, im := range d.Images {
		out.Images = append(out.Images, DeploymentImage{Name: im.Name, Digest: im.Digest})
	}
	return out
}

var deploymentHeader = []string{"Deployment", "Namespace", "Cluster", "Images", "CVEs", "Critical", "Important", "Moderate", "Low", "Fixable"}

func (a *API) listDeployments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := params(q, "query", "cluster", "namespace", "sort", "offset", "limit", "format"); err != nil {
		return err
	}
	asCSV, err := csvexport.Requested(q)
	if err != nil {
		return err
	}
	offset, limit, err := page(q)
	if err != nil {
		return err
	}
	dq := store.DeploymentVulnQuery{Text: q.Get("query"), Cluster: q.Get("cluster"), Namespace: q.Get("namespace"), Sort: q.Get("sort"),
		Offset: offset, Limit: limit}
	if asCSV {
		dq.Offset, dq.Limit = 0, csvexport.MaxRows
	}
	ds, total, err := a.store.ListDeploymentVulns(r.Context(), dq)
	if err != nil {
		return Invalid(err, "sort")
	}
	if asCSV {
		out, err := csvexport.New(w, "deployment-vulnerabilities.csv", deploymentHeader...)
		if err != nil {
			return err
		}
		for _, d := range ds {
			names := make([]string, len(d.Images))
			for i, im := range d.Images {
				names[i] = im.Name
			}
			if err = out.Row(d.Name, d.Namespace, d.Cluster, strings.Join(names, " "), strconv.Itoa(d.CVEs), strconv.Itoa(d.Critical),
				strconv.Itoa(d.Important), strconv.Itoa(d.Moderate), strconv.Itoa(d.Low), strconv.Itoa(d.Fixable)); err != nil {
				break
			}
		}
		return a.finish(r, w, out, "deployment-vulnerabilities.csv", deploymentHeader, err)
	}
	out := DeploymentList{Total: total, Deployments: make([]DeploymentVulns, 0, len(ds))}
	for _, d := range ds {
		out.Deployments = append(out.Deployments, deploymentOf(d))
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}
