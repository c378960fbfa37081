package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/stockade-dev/stockade/internal/deploycheck"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/scanner/vulnfeed"
)

// ScanImageRequest is the body of POST /v1/images/scan.
type ScanImageRequest struct {
	ImageName string `json:"imageName"`
	// Force rescans even when Central has a scan of the image's digest.
	Force bool `json:"force"`
	// Platform selects from a multi-arch index ("linux/arm64"); empty
	// means Central's default (linux/amd64).
	Platform string `json:"platform"`
}

// ScanImage asks Central to scan an image (pulling it with Central's image
// integrations) and returns the scan, with its components and their
// vulnerabilities.
func (c *Client) ScanImage(ctx context.Context, req ScanImageRequest) (*scan.Image, error) {
	var img scan.Image
	// A repeated scan returns the cached result or scans again: safe to retry.
	if err := c.do(ctx, request{method: http.MethodPost, path: "/v1/images/scan", body: req, idempotent: true}, &img); err != nil {
		return nil, err
	}
	if img.Components == nil {
		img.Components = []scan.Component{}
	}
	return &img, nil
}

// DetectBuildRequest is the body of POST /v1/detect/build.
type DetectBuildRequest struct {
	ImageName        string   `json:"imageName"`
	PolicyCategories []string `json:"policyCategories,omitempty"`
	Force            bool     `json:"force"`
}

// DetectBuild asks Central to scan an image and check it against its BUILD
// policies (limited to the categories, when any are given). The report has
// the deployment check's shape, with one result for the image when it
// violates a policy.
func (c *Client) DetectBuild(ctx context.Context, req DetectBuildRequest) (*deploycheck.Report, error) {
	var r deploycheck.Report
	if err := c.do(ctx, request{method: http.MethodPost, path: "/v1/detect/build", body: req, idempotent: true}, &r); err != nil {
		return nil, err
	}
	if r.Results == nil {
		r.Results = []deploycheck.Result{}
	}
	return &r, nil
}

// ImportVulnDB sends one feed file (OSV JSON, JSON Lines or zip, Debian
// tracker JSON, Alpine secdb, NVD JSON) to Central's vulnerability
// database. name is the file's name, from which Central, like a local
// import, tells the format by its extension; the content decides otherwise.
func (c *Client) ImportVulnDB(ctx context.Context, name string, feed []byte) (*vulnfeed.ImportResult, error) {
	var q url.Values
	if name != "" {
		q = url.Values{"name": {name}}
	}
	var res vulnfeed.ImportResult
	// Importing the same file twice leaves the database as one import does.
	if err := c.do(ctx, request{method: http.MethodPost, path: "/v1/vulndb/import", query: q, body: feed, idempotent: true}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// VulnDBStatus returns what Central's vulnerability database holds and how
// fresh it is.
func (c *Client) VulnDBStatus(ctx context.Context) (*vulnfeed.Status, error) {
	var st vulnfeed.Status
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v1/vulndb/status", idempotent: true}, &st); err != nil {
		return nil, err
	}
	return &st, nil
}
