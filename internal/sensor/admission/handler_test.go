package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/stockade-dev/stockade/internal/policy"
)

// The reviews in testdata/reviews were sent by a real kube-apiserver (see
// TestCaptureReviews); tests change them only where a case needs it.

func loadReview(t testing.TB, name string) *admissionv1.AdmissionReview {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "reviews", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var r admissionv1.AdmissionReview
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &r
}

// editObject decodes a review's object as generic JSON, lets fn change it
// and stores it back.
func editObject(t testing.TB, raw *[]byte, fn func(obj map[string]any)) {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal(*raw, &obj); err != nil {
		t.Fatal(err)
	}
	fn(obj)
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	*raw = b
}

func field(obj map[string]any, path ...string) map[string]any {
	for _, p := range path {
		next, ok := obj[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[p] = next
		}
		obj = next
	}
	return obj
}

func setNamespace(t testing.TB, r *admissionv1.AdmissionReview, ns string) {
	t.Helper()
	r.Request.Namespace = ns
	for _, raw := range []*[]byte{&r.Request.Object.Raw, &r.Request.OldObject.Raw} {
		if len(*raw) > 0 && string(*raw) != "null" {
			editObject(t, raw, func(obj map[string]any) { field(obj, "metadata")["namespace"] = ns })
		}
	}
}

// post sends a review to the handler and returns the HTTP status and, for
// 200, the response it decoded.
func post(t testing.TB, h http.Handler, r *admissionv1.AdmissionReview) (int, *admissionv1.AdmissionResponse, string) {
	t.Helper()
	body, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return postRaw(t, h, body)
}

func postRaw(t testing.TB, h http.Handler, body []byte) (int, *admissionv1.AdmissionResponse, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/validate?timeout=10s", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return rec.Code, nil, rec.Body.String()
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("decode response: %v\n%s", err, rec.Body.String())
	}
	if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil {
		t.Fatalf("response is not an admission.k8s.io/v1 AdmissionReview: %s", rec.Body.String())
	}
	return rec.Code, out.Response, rec.Body.String()
}

// newTestHandler is a handler on the test policies with a fixed clock.
func newTestHandler(t testing.TB, cfg Config) (*Handler, *recorder) {
	t.Helper()
	rec := &recorder{}
	if cfg.ClusterName == "" {
		cfg.ClusterName = "test-cluster"
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	}
	return New(cfg, setPolicies{testPolicies(t)}, rec, nil), rec
}

var workloadResources = []string{"pods", "deployments", "daemonsets", "statefulsets", "replicasets", "replicationcontrollers", "jobs", "cronjobs"}

func TestWorkloadsOfEveryKind(t *testing.T) {
	h, rec := newTestHandler(t, Config{})
	for _, res := range workloadResources {
		for _, op := range []string{"create", "update"} {
			for _, variant := range []string{"clean", "privileged"} {
				name := op + "-" + res + "-" + variant
				t.Run(name, func(t *testing.T) {
					rec.reset()
					r := loadReview(t, name)
					code, resp, body := post(t, h, r)
					if code != http.StatusOK {
						t.Fatalf("status %d: %s", code, body)
					}
					if resp.UID != r.Request.UID {
						t.Errorf("response uid %q, want the request's %q", resp.UID, r.Request.UID)
					}
					events := rec.all()
					if variant == "clean" {
						if !resp.Allowed || len(events) != 0 {
							t.Fatalf("clean %s: allowed=%v events=%+v result=%+v", res, resp.Allowed, events, resp.Result)
						}
						return
					}
					if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusForbidden {
						t.Fatalf("privileged %s admitted: %s", res, body)
					}
					msg := resp.Result.Message
					for _, want := range []string{`"` + privilegedPolicy + `" (CRITICAL)`, "Container 'app' is privileged", "Remediation: Remove securityContext.privileged", r.Request.Kind.Kind + ` "privileged"`, BreakGlassAnnotation} {
						if !strings.Contains(msg, want) {
							t.Errorf("message lacks %q:\n%s", want, msg)
						}
					}
					if len(events) != 1 {
						t.Fatalf("events = %+v, want one ATTEMPTED alert", events)
					}
					ev := events[0]
					if ev.Kind != EventAlert || ev.State != AlertAttempted || ev.Admitted || ev.BreakGlass ||
						ev.Policy.Name != privilegedPolicy || ev.Deployment == nil || ev.Deployment.Kind != r.Request.Kind.Kind ||
						ev.Name != "privileged" || ev.Namespace != r.Request.Namespace || ev.Operation != strings.ToUpper(op) ||
						ev.Cluster != "test-cluster" || ev.RequestUID != string(r.Request.UID) || ev.User.Name != "k8stest-admin" ||
						len(ev.Violations) != 1 || ev.Violations[0].Container != "app" {
						t.Errorf("event = %+v", ev)
					}
				})
			}
		}
	}
}

func TestDeploymentConfig(t *testing.T) {
	// OpenShift's API is not in the test cluster: the Deployment review is
	// turned into the DeploymentConfig review kube-apiserver would send.
	h, rec := newTestHandler(t, Config{})
	r := loadReview(t, "create-deployments-privileged")
	gvk := metav1.GroupVersionKind{Group: "apps.openshift.io", Version: "v1", Kind: "DeploymentConfig"}
	r.Request.Kind, r.Request.RequestKind = gvk, &gvk
	r.Request.Resource = metav1.GroupVersionResource{Group: "apps.openshift.io", Version: "v1", Resource: "deploymentconfigs"}
	editObject(t, &r.Request.Object.Raw, func(obj map[string]any) {
		obj["apiVersion"], obj["kind"] = "apps.openshift.io/v1", "DeploymentConfig"
		field(obj, "spec")["selector"] = map[string]any{"app": "privileged"}
	})
	code, resp, body := post(t, h, r)
	if code != http.StatusOK || resp.Allowed || !strings.Contains(resp.Result.Message, `DeploymentConfig "privileged"`) {
		t.Fatalf("DeploymentConfig: %d %s", code, body)
	}
	if ev := rec.all(); len(ev) != 1 || ev[0].Deployment.Kind != "DeploymentConfig" {
		t.Errorf("events = %+v", ev)
	}
}

func TestDryRunIsJudgedWithoutEvents(t *testing.T) {
	h, rec := newTestHandler(t, Config{})
	r := loadReview(t, "create-deployments-privileged")
	dry := true
	r.Request.DryRun = &dry
	if _, resp, body := post(t, h, r); resp.Allowed {
		t.Errorf("dry run of a privileged Deployment admitted: %s", body)
	}
	if ev := rec.all(); len(ev) != 0 {
		t.Errorf("dry run recorded %+v", ev)
	}
}

func TestOtherObjectsAdmitted(t *testing.T) {
	h, rec := newTestHandler(t, Config{})
	r := loadReview(t, "create-deployments-privileged")
	r.Request.Kind = metav1.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Deployment"}
	r.Request.Resource = metav1.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "deployments"}
	if _, resp, body := post(t, h, r); !resp.Allowed {
		t.Errorf("a custom resource named Deployment was judged: %s", body)
	}
	r = loadReview(t, "create-deployments-privileged")
	r.Request.Operation = admissionv1.Delete
	if _, resp, body := post(t, h, r); !resp.Allowed {
		t.Errorf("DELETE was judged: %s", body)
	}
	r = loadReview(t, "update-deployments-privileged")
	r.Request.SubResource = "status"
	if _, resp, body := post(t, h, r); !resp.Allowed {
		t.Errorf("a status update was judged: %s", body)
	}
	if ev := rec.all(); len(ev) != 0 {
		t.Errorf("events = %+v", ev)
	}
}

func TestControlledPodsAreNotJudgedAgain(t *testing.T) {
	h, rec := newTestHandler(t, Config{})
	r := loadReview(t, "create-pods-owned")
	if _, resp, body := post(t, h, r); !resp.Allowed || len(rec.all()) != 0 {
		t.Fatalf("a pod its ReplicaSet controls was judged: %s", body)
	}
	// Controlled by something the webhook does not judge: a bare pod.
	editObject(t, &r.Request.Object.Raw, func(obj map[string]any) {
		refs := field(obj, "metadata")["ownerReferences"].([]any)
		ref := refs[0].(map[string]any)
		ref["apiVersion"], ref["kind"] = "example.com/v1", "Rollout"
	})
	if _, resp, body := post(t, h, r); resp.Allowed {
		t.Errorf("a pod of a custom controller was admitted: %s", body)
	}
	// A reference that is not the controller excuses nothing either.
	r = loadReview(t, "create-pods-owned")
	editObject(t, &r.Request.Object.Raw, func(obj map[string]any) {
		field(obj, "metadata")["ownerReferences"].([]any)[0].(map[string]any)["controller"] = false
	})
	if _, resp, body := post(t, h, r); resp.Allowed {
		t.Errorf("a pod owned without controller=true was admitted: %s", body)
	}
}

func TestUpdatesThatChangeNothingJudged(t *testing.T) {
	h, rec := newTestHandler(t, Config{})
	// Old and new are the privileged Deployment; the update only adds an
	// annotation and scales down, as a controller or Sensor would.
	r := loadReview(t, "update-deployments-privileged")
	r.Request.Object.Raw = append([]byte(nil), r.Request.OldObject.Raw...)
	editObject(t, &r.Request.Object.Raw, func(obj map[string]any) {
		field(obj, "metadata", "annotations")["deployment.kubernetes.io/revision"] = "2"
		field(obj, "spec")["replicas"] = 0
	})
	if _, resp, body := post(t, h, r); !resp.Allowed {
		t.Errorf("annotation and scale-down update denied: %s", body)
	}
	// Scaling up through the object is judged.
	editObject(t, &r.Request.Object.Raw, func(obj map[string]any) { field(obj, "spec")["replicas"] = 5 })
	if _, resp, body := post(t, h, r); resp.Allowed {
		t.Errorf("scale-up update admitted: %s", body)
	}
	// So is a label change.
	r.Request.Object.Raw = append([]byte(nil), r.Request.OldObject.Raw...)
	editObject(t, &r.Request.Object.Raw, func(obj map[string]any) { field(obj, "metadata", "labels")["tier"] = "web" })
	if _, resp, body := post(t, h, r); resp.Allowed {
		t.Errorf("label update admitted: %s", body)
	}
	// An object being deleted is admitted (finalizers are removed by update).
	r = loadReview(t, "update-deployments-privileged")
	editObject(t, &r.Request.Object.Raw, func(obj map[string]any) {
		field(obj, "metadata")["deletionTimestamp"] = "2026-03-01T12:00:00Z"
	})
	rec.reset()
	if _, resp, body := post(t, h, r); !resp.Allowed || len(rec.all()) != 0 {
		t.Errorf("update of an object being deleted denied: %s", body)
	}
}

func TestBreakGlass(t *testing.T) {
	for _, where := range []string{"object", "template"} {
		t.Run(where, func(t *testing.T) {
			h, rec := newTestHandler(t, Config{})
			r := loadReview(t, "create-deployments-privileged")
			editObject(t, &r.Request.Object.Raw, func(obj map[string]any) {
				ann := field(obj, "metadata", "annotations")
				if where == "template" {
					ann = field(obj, "spec", "template", "metadata", "annotations")
				}
				ann[BreakGlassAnnotation] = "INC-2231"
			})
			_, resp, body := post(t, h, r)
			if !resp.Allowed {
				t.Fatalf("break-glass denied: %s", body)
			}
			if len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "break-glass") || !strings.Contains(resp.Warnings[0], privilegedPolicy) {
				t.Errorf("warnings = %q", resp.Warnings)
			}
			ev := rec.all()
			if len(ev) != 1 || ev[0].Kind != EventAlert || ev[0].State != AlertActive || !ev[0].BreakGlass || !ev[0].Admitted || ev[0].Policy.Name != privilegedPolicy {
				t.Errorf("events = %+v", ev)
			}
		})
	}
	h, _ := newTestHandler(t, Config{})
	r := loadReview(t, "create-deployments-privileged")
	editObject(t, &r.Request.Object.Raw, func(obj map[string]any) { field(obj, "metadata", "annotations")[BreakGlassAnnotation] = "" })
	if _, resp, body := post(t, h, r); resp.Allowed {
		t.Errorf("an empty break-glass annotation admitted: %s", body)
	}
}

func TestExcludedNamespaces(t *testing.T) {
	h, rec := newTestHandler(t, Config{})
	for _, ns := range DefaultExcludedNamespaces() {
		r := loadReview(t, "create-deployments-privileged")
		setNamespace(t, r, ns)
		if _, resp, body := post(t, h, r); !resp.Allowed {
			t.Errorf("%s: denied: %s", ns, body)
		}
	}
	if ev := rec.all(); len(ev) != 0 {
		t.Errorf("events = %+v", ev)
	}
	// Configured lists replace the defaults; an empty one excludes none.
	h, _ = newTestHandler(t, Config{ExcludedNamespaces: []string{}})
	r := loadReview(t, "create-deployments-privileged")
	setNamespace(t, r, "kube-public") // kube-system is in the policy's own exclusions
	if _, resp, _ := post(t, h, r); resp.Allowed {
		t.Error("kube-public excluded although the configured list is empty")
	}
	h, _ = newTestHandler(t, Config{ExcludedNamespaces: []string{"legacy"}})
	setNamespace(t, r, "legacy")
	if _, resp, body := post(t, h, r); !resp.Allowed {
		t.Errorf("configured namespace judged: %s", body)
	}
}

// Policies fakes that inject failures.
type (
	noPolicies      struct{}
	panickyPolicies struct{}
	stalledPolicies struct{ d time.Duration }
	failingGetter   struct{}
	notFoundGetter  struct{}
)

func (noPolicies) Set() *policy.Set      { return nil }
func (panickyPolicies) Set() *policy.Set { panic("policy cache corrupted") }
func (p stalledPolicies) Set() *policy.Set {
	time.Sleep(p.d)
	return nil
}

func (failingGetter) Get(context.Context, schema.GroupVersionResource, string, string) ([]byte, error) {
	return nil, errors.New("connection refused")
}

func (notFoundGetter) Get(_ context.Context, gvr schema.GroupVersionResource, _, name string) ([]byte, error) {
	return nil, apierrors.NewNotFound(gvr.GroupResource(), name)
}

func TestFailOpenAndFailClosed(t *testing.T) {
	cases := []struct {
		name     string
		policies Policies
		getter   Getter
		review   string
		wantErr  string
	}{
		{"no policy set", noPolicies{}, nil, "create-deployments-clean", "no policy set loaded yet"},
		{"panic", panickyPolicies{}, nil, "create-deployments-clean", "panic: policy cache corrupted"},
		{"deadline", stalledPolicies{500 * time.Millisecond}, nil, "create-deployments-clean", "no decision within the deadline"},
		{"getter", nil, failingGetter{}, "update-deployments-scale-privileged", "connection refused"},
	}
	for _, tc := range cases {
		for _, closed := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{false: "/open", true: "/closed"}[closed], func(t *testing.T) {
				rec := &recorder{}
				p := tc.policies
				if p == nil {
					p = setPolicies{testPolicies(t)}
				}
				h := New(Config{FailClosed: closed, Timeout: 50 * time.Millisecond, Getter: tc.getter}, p, rec, nil)
				r := loadReview(t, tc.review)
				code, resp, body := post(t, h, r)
				if code != http.StatusOK {
					t.Fatalf("status %d: %s", code, body)
				}
				if resp.Allowed == closed {
					t.Fatalf("allowed = %v with FailClosed=%v: %s", resp.Allowed, closed, body)
				}
				if closed && (resp.Result.Code != http.StatusForbidden || !strings.Contains(resp.Result.Message, "fails closed") || !strings.Contains(resp.Result.Message, tc.wantErr)) {
					t.Errorf("fail-closed message: %+v", resp.Result)
				}
				if !closed && (len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "fail-open")) {
					t.Errorf("fail-open warnings: %q", resp.Warnings)
				}
				ev := rec.all()
				if len(ev) != 1 || ev[0].Kind != EventError || ev[0].Admitted == closed || !strings.Contains(ev[0].Error, tc.wantErr) || ev[0].RequestUID != string(r.Request.UID) {
					t.Errorf("events = %+v", ev)
				}
			})
		}
	}
}

func TestScaleWithoutGetter(t *testing.T) {
	h, rec := newTestHandler(t, Config{})
	r := loadReview(t, "update-deployments-scale-privileged")
	if _, resp, body := post(t, h, r); !resp.Allowed || len(rec.all()) != 0 {
		t.Errorf("scale without a Getter: %s", body)
	}
}

func TestScaleDownNeedsNoFetch(t *testing.T) {
	// The failing Getter would turn any fetch into an EventError.
	h, rec := newTestHandler(t, Config{Getter: failingGetter{}})
	r := loadReview(t, "update-deployments-scale-privileged")
	r.Request.Object, r.Request.OldObject = r.Request.OldObject, r.Request.Object
	if _, resp, body := post(t, h, r); !resp.Allowed || len(rec.all()) != 0 {
		t.Errorf("scale-down: %s events %+v", body, rec.all())
	}
	// A scale target that is gone is admitted: kube-apiserver answers 404.
	h, rec = newTestHandler(t, Config{Getter: notFoundGetter{}})
	r = loadReview(t, "update-deployments-scale-privileged")
	if _, resp, body := post(t, h, r); !resp.Allowed || len(rec.all()) != 0 {
		t.Errorf("scale of a missing target: %s", body)
	}
}

func TestOwnerVerifiedWithGetter(t *testing.T) {
	// The controller the pod names is gone: the pod is judged as a bare one.
	h, _ := newTestHandler(t, Config{Getter: notFoundGetter{}})
	r := loadReview(t, "create-pods-owned")
	if _, resp, body := post(t, h, r); resp.Allowed {
		t.Errorf("a pod naming a missing controller was admitted: %s", body)
	}
}

func TestConnect(t *testing.T) {
	h, rec := newTestHandler(t, Config{})
	r := loadReview(t, "connect-pods-exec-clean")
	code, resp, body := post(t, h, r)
	if code != http.StatusOK || resp.Allowed || resp.Result.Code != http.StatusForbidden {
		t.Fatalf("exec by the admin admitted: %s", body)
	}
	for _, want := range []string{`Stockade denied exec into pod "clean"`, `"` + execPolicy + `" (HIGH)`, "running 'cat /etc/hostname'", "by user 'k8stest-admin'", "Remediation: Debug with logs"} {
		if !strings.Contains(resp.Result.Message, want) {
			t.Errorf("message lacks %q:\n%s", want, resp.Result.Message)
		}
	}
	ev := rec.all()
	if len(ev) != 2 {
		t.Fatalf("events = %+v, want the kube event and an alert", ev)
	}
	kube, alert := ev[0], ev[1]
	if kube.Kind != EventKube || kube.Resource != PodsExec || kube.Admitted || kube.Name != "clean" || kube.Container != "app" ||
		!slices.Equal(kube.Command, []string{"cat", "/etc/hostname"}) || kube.User.Name != "k8stest-admin" ||
		!slices.Equal(kube.User.Groups, []string{"system:masters", "system:authenticated"}) || kube.ObjectKind != "Pod" {
		t.Errorf("kube event = %+v", kube)
	}
	if alert.Kind != EventAlert || alert.State != AlertAttempted || alert.Policy.Name != execPolicy || alert.Resource != PodsExec || len(alert.Violations) != 1 {
		t.Errorf("alert = %+v", alert)
	}

	// The policy spares on-call.
	rec.reset()
	r.Request.UserInfo.Username = "oncall"
	if _, resp, body := post(t, h, r); !resp.Allowed {
		t.Errorf("exec by oncall denied: %s", body)
	}
	if ev := rec.all(); len(ev) != 1 || ev[0].Kind != EventKube || !ev[0].Admitted || ev[0].User.Name != "oncall" {
		t.Errorf("events = %+v", ev)
	}

	// Attach and port-forward are recorded and admitted.
	for name, want := range map[string]KubeResource{"connect-pods-attach-clean": PodsAttach, "connect-pods-portforward-clean": PodsPortForward} {
		rec.reset()
		if _, resp, body := post(t, h, loadReview(t, name)); !resp.Allowed {
			t.Errorf("%s denied: %s", name, body)
		}
		if ev := rec.all(); len(ev) != 1 || ev[0].Kind != EventKube || ev[0].Resource != want || !ev[0].Admitted {
			t.Errorf("%s: events = %+v", name, ev)
		}
	}

	// In an excluded namespace exec is recorded, never denied.
	rec.reset()
	r = loadReview(t, "connect-pods-exec-clean")
	r.Request.Namespace = "kube-system"
	if _, resp, body := post(t, h, r); !resp.Allowed {
		t.Errorf("exec in kube-system denied: %s", body)
	}
	if ev := rec.all(); len(ev) != 1 || ev[0].Kind != EventKube || ev[0].Namespace != "kube-system" {
		t.Errorf("events = %+v", ev)
	}
}

func TestMalformedReviews(t *testing.T) {
	h, rec := newTestHandler(t, Config{MaxBody: 64 << 10})
	valid, err := os.ReadFile(filepath.Join("testdata", "reviews", "create-deployments-clean.json"))
	if err != nil {
		t.Fatal(err)
	}
	v1beta1 := bytes.Replace(valid, []byte(`"admission.k8s.io/v1"`), []byte(`"admission.k8s.io/v1beta1"`), 1)
	cases := []struct {
		name, body, want string
	}{
		{"empty", "", "empty body"},
		{"truncated", string(valid[:len(valid)/2]), "decode AdmissionReview"},
		{"not JSON", "<AdmissionReview/>", "decode AdmissionReview"},
		{"wrong type", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}}`, "decode AdmissionReview"},
		{"v1beta1", string(v1beta1), `"admission.k8s.io/v1beta1"`},
		{"other kind", `{"apiVersion":"admission.k8s.io/v1","kind":"TokenReview","request":{"uid":"x"}}`, `kind "TokenReview"`},
		{"no request", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, "no request"},
		{"no uid", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}`, "no uid"},
		{"oversized", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"` + strings.Repeat("x", 64<<10) + `"}}`, "larger than 65536 bytes"},
	}
	for _, tc := range cases {
		code, _, body := postRaw(t, h, []byte(tc.body))
		if code != http.StatusBadRequest || !strings.Contains(body, tc.want) || !strings.HasPrefix(body, "admission webhook: ") {
			t.Errorf("%s: %d %q, want 400 naming %q", tc.name, code, body, tc.want)
		}
	}
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, httptest.NewRequest(http.MethodGet, "/validate", nil))
	if rw.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rw.Code)
	}
	rw = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(valid))
	req.Header.Set("Content-Type", "application/yaml")
	h.ServeHTTP(rw, req)
	if rw.Code != http.StatusBadRequest || !strings.Contains(rw.Body.String(), "want application/json") {
		t.Errorf("YAML: %d %s", rw.Code, rw.Body.String())
	}
	// A well-formed review whose object does not decode is an internal
	// error: the failure policy answers.
	r := loadReview(t, "create-deployments-clean")
	r.Request.Object.Raw = []byte(`{"spec":{"replicas":"three"}}`)
	if code, resp, body := post(t, h, r); code != http.StatusOK || !resp.Allowed || len(rec.all()) != 1 || rec.all()[0].Kind != EventError {
		t.Errorf("undecodable object: %d %s %+v", code, body, rec.all())
	}
}

func TestDeadlineFollowsAPIServerTimeout(t *testing.T) {
	h := New(Config{Timeout: 3 * time.Second}, noPolicies{}, nil, nil)
	for query, want := range map[string]time.Duration{
		"":              3 * time.Second,
		"?timeout=10s":  3 * time.Second,
		"?timeout=1s":   800 * time.Millisecond,
		"?timeout=junk": 3 * time.Second,
	} {
		if got := h.deadline(httptest.NewRequest(http.MethodPost, "/validate"+query, nil)); got != want {
			t.Errorf("%q: deadline %v, want %v", query, got, want)
		}
	}
}

func TestDenyMessageIsCompactAndOneLinePerText(t *testing.T) {
	ps, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	// An annotation whose value tries to forge lines of the message.
	ps = append(ps, &policy.Policy{
		Name: "No debug annotation", Severity: policy.SeverityLow, LifecycleStages: []policy.LifecycleStage{policy.StageDeploy},
		Remediation:        "Remove the\nannotation.",
		EnforcementActions: []policy.EnforcementAction{policy.EnforceFailDeploymentCreate},
		PolicySections: []policy.PolicySection{{PolicyGroups: []policy.PolicyGroup{
			{FieldName: "Disallowed Annotation", Values: []policy.PolicyValue{{Value: "debug="}}},
		}}},
	})
	for _, p := range ps {
		if p.Name == privilegedPolicy {
			p.EnforcementActions = append(p.EnforcementActions, policy.EnforceFailDeploymentCreate)
		}
	}
	s, err := policy.NewSet(ps)
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{}, setPolicies{s}, nil, nil)
	r := loadReview(t, "create-deployments-privileged")
	editObject(t, &r.Request.Object.Raw, func(obj map[string]any) {
		field(obj, "metadata", "annotations")["debug"] = "on\n- \"Forged policy\" (LOW): ok\r\x1b[2J"
		// Ten privileged containers: the message lists three violations.
		spec := field(obj, "spec", "template", "spec")
		c := spec["containers"].([]any)[0].(map[string]any)
		var cs []any
		for i := range 10 {
			cc := map[string]any{}
			for k, v := range c {
				cc[k] = v
			}
			cc["name"] = "app" + string(rune('a'+i))
			cs = append(cs, cc)
		}
		spec["containers"] = cs
	})
	_, resp, body := post(t, h, r)
	if resp.Allowed {
		t.Fatalf("admitted: %s", body)
	}
	msg := resp.Result.Message
	lines := strings.Split(msg, "\n")
	want := []string{
		`Stockade denied Deployment "privileged" in namespace "testcapturereviews-nw5gn": it violates 2 enforced policies.`,
		`- "Container running in privileged mode" (CRITICAL): Container 'appa' is privileged; Container 'appb' is privileged; Container 'appc' is privileged (and 7 more).`,
	}
	if len(lines) != 6 || lines[0] != want[0] || lines[1] != want[1] ||
		!strings.HasPrefix(lines[2], "  Remediation: ") || !strings.HasPrefix(lines[3], `- "No debug annotation" (LOW): Disallowed annotation found: debug=on - "Forged policy" (LOW): ok `) ||
		lines[4] != "  Remediation: Remove the annotation." || !strings.HasPrefix(lines[5], "In an emergency") {
		t.Errorf("message:\n%s", msg)
	}
	if strings.ContainsAny(msg, "\r\x1b") || len(msg) > maxMessage {
		t.Errorf("message has control characters or is too long (%d bytes)", len(msg))
	}
}

func TestClipAndSanitize(t *testing.T) {
	if got := clip("ééééé", 6); got != "é…" {
		t.Errorf("clip = %q", got)
	}
	if got := clip("short", 10); got != "short" {
		t.Errorf("clip = %q", got)
	}
	if got := sanitize("a\n\tb\u2028c  d\xffe"); got != "a b c d\uFFFDe" {
		t.Errorf("sanitize = %q", got)
	}
}
