package vulnapi

import (
	"net/http"
	"strconv"

	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/store"
)

// FixableImage is an image with its fixable critical and important CVEs.
type FixableImage struct {
	Digest    string `json:"digest"`
	Name      string `json:"name"`
	Critical  int    `json:"critical"`
	Important int    `json:"important"`
}

// FixableImageList is the answer of GET /v1/vulns/images/fixable.
type FixableImageList struct {
	Images []FixableImage `json:"images"`
}

// listFixableImages answers GET /v1/vulns/images/fixable: the images with
// the most fixable critical and important CVEs (the dashboard's tile),
// within a cluster and namespace when given.
func (a *API) listFixableImages(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := params(q, "cluster", "namespace", "limit"); err != nil {
		return err
	}
	limit, err := intParam(q, "limit", 10)
	if err != nil {
		return err
	}
	if limit < 1 || limit > store.MaxTopFixable {
		return httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "limit", Message: "want 1 to " + strconv.Itoa(store.MaxTopFixable)})
	}
	fs, err := a.store.TopFixableImages(r.Context(), q.Get("cluster"), q.Get("namespace"), limit)
	if err != nil {
		return Invalid(err, "cluster")
	}
	out := FixableImageList{Images: make([]FixableImage, 0, len(fs))}
	for _, f := range fs {
		out.Images = append(out.Images, FixableImage{Digest: f.Digest, Name: f.FullName, Critical: f.Critical, Important: f.Important})
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}
