package central

import (
	"net/http"

	"github.com/stockade-dev/stockade/internal/central/uiserve"
	"github.com/stockade-dev/stockade/ui"
)

// mountDashboard serves the embedded dashboard on every path no API route
// claims; unknown API paths get a JSON 404 from it. It is mounted beside
// the API routes, not among them: the dashboard's files need no
// credentials (the API calls it makes do) and are not part of the API
// document.
func (s *Server) mountDashboard(mux *http.ServeMux) error {
	dist, err := ui.Dist()
	if err != nil {
		return err
	}
	h, err := uiserve.New(dist, s.log.With("component", "uiserve"))
	if err != nil {
		return err
	}
	mux.Handle("/", h)
	return nil
}
