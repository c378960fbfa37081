package admission

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stockade-dev/stockade/internal/policy"
)

// BenchmarkHandler is the handler's own cost for one review (no network):
// a Deployment review with every built-in DEPLOY policy enforced. The
// latency under load over HTTPS is measured by hack/bench/admission.sh.
func BenchmarkHandler(b *testing.B) {
	ps, err := policy.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range ps {
		if slices.Contains(p.LifecycleStages, policy.StageDeploy) {
			p.EnforcementActions = append(p.EnforcementActions, policy.EnforceFailDeploymentCreate)
		}
	}
	s, err := policy.NewSet(ps)
	if err != nil {
		b.Fatal(err)
	}
	h := New(Config{}, setPolicies{s}, &discardRecorder{}, nil)
	for _, name := range []string{"create-deployments-clean", "create-deployments-privileged"} {
		body, err := os.ReadFile(filepath.Join("testdata", "reviews", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
				rw := httptest.NewRecorder()
				h.ServeHTTP(rw, req)
				if rw.Code != http.StatusOK {
					b.Fatal(rw.Body.String())
				}
			}
		})
	}
}

type discardRecorder struct{}

func (*discardRecorder) Record(Event) {}
