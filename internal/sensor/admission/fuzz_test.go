package admission

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

// FuzzHandler feeds the handler arbitrary bodies, seeded with the real
// reviews in testdata/reviews: it must answer 200 with a v1 AdmissionReview
// for the request's uid, or 400 with a plain message, and never panic.
func FuzzHandler(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "reviews", "*.json"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed reviews: %v", err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"group":"apps","version":"v1","kind":"Deployment"},"object":null}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"UPDATE","subResource":"scale","resource":{"group":"apps","version":"v1","resource":"deployments"},"object":{"spec":{"replicas":-1}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CONNECT","resource":{"version":"v1","resource":"pods"},"subResource":"exec","object":{"command":"sh"}}}`))

	h := New(Config{MaxBody: 1 << 20}, setPolicies{testPolicies(f)}, &recorder{}, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rw := httptest.NewRecorder()
		h.ServeHTTP(rw, req)
		switch rw.Code {
		case http.StatusOK:
			var in, out admissionv1.AdmissionReview
			if err := json.Unmarshal(body, &in); err != nil || in.Request == nil {
				t.Fatalf("200 for a body that is no review: %v", err)
			}
			if err := json.Unmarshal(rw.Body.Bytes(), &out); err != nil || out.Response == nil {
				t.Fatalf("200 with a body that is no review: %v %q", err, rw.Body.String())
			}
			if out.APIVersion != reviewAPIVersion || out.Response.UID != in.Request.UID {
				t.Fatalf("response %s uid %q for request uid %q", out.APIVersion, out.Response.UID, in.Request.UID)
			}
			if !out.Response.Allowed && (out.Response.Result == nil || out.Response.Result.Code != http.StatusForbidden || out.Response.Result.Message == "") {
				t.Fatalf("denial without a 403 status and message: %+v", out.Response.Result)
			}
		case http.StatusBadRequest:
			if !strings.HasPrefix(rw.Body.String(), "admission webhook: ") {
				t.Fatalf("400 body %q", rw.Body.String())
			}
		default:
			t.Fatalf("status %d: %s", rw.Code, rw.Body.String())
		}
	})
}
