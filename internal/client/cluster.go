package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// ClusterRef names a cluster.
type ClusterRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// InitBundleMeta describes an init bundle without its keys.
type InitBundleMeta struct {
	ID               string       `json:"id"`
	Name             string       `json:"name"`
	CreatedAt        time.Time    `json:"createdAt"`
	CreatedBy        string       `json:"createdBy"`
	ExpiresAt        time.Time    `json:"expiresAt"`
	Revoked          bool         `json:"revoked"`
	RevokedAt        *time.Time   `json:"revokedAt,omitempty"`
	ImpactedClusters []ClusterRef `json:"impactedClusters"`
}

// InitBundle is a newly generated init bundle: its metadata and the
// Kubernetes Secrets YAML holding its certificates and keys.
type InitBundle struct {
	Meta          InitBundleMeta `json:"meta"`
	KubectlBundle []byte         `json:"kubectlBundle"`
}

// GenerateInitBundle asks Central for a new init bundle named name.
func (c *Client) GenerateInitBundle(ctx context.Context, name string) (*InitBundle, error) {
	var out InitBundle
	// Not retried once sent: a second bundle of the same name is refused,
	// and the first one's keys would be lost.
	if err := c.do(ctx, request{method: http.MethodPost, path: "/v1/cluster-init/init-bundles", body: map[string]string{"name": name}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListInitBundles returns every init bundle, revoked ones too, oldest
// first.
func (c *Client) ListInitBundles(ctx context.Context) ([]InitBundleMeta, error) {
	var out struct {
		Items []InitBundleMeta `json:"items"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v1/cluster-init/init-bundles", idempotent: true}, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// RevokeInitBundle revokes the init bundle with id.
func (c *Client) RevokeInitBundle(ctx context.Context, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v1/cluster-init/init-bundles/" + url.PathEscape(id), idempotent: true}, nil)
}
