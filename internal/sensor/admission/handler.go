package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

// BreakGlassAnnotation, with any non-empty value on a workload or its pod
// template, admits the workload despite enforced policies and raises ACTIVE
// alerts for what it violates.
const BreakGlassAnnotation = "admission.stockade.io/break-glass"

// Defaults of Config.
const (
	DefaultMaxBody = 3 << 20 // 3 MiB, the largest request body kube-apiserver accepts
	DefaultTimeout = 3 * time.Second
)

// DefaultExcludedNamespaces are the namespaces admitted without evaluation
// when Config.ExcludedNamespaces is nil: Kubernetes' own and Stockade's.
func DefaultExcludedNamespaces() []string {
	return []string{"kube-system", "kube-public", "stockade"}
}

// Policies gives the webhook the policy set Sensor has cached. Set must
// return at once and never call Central; nil means no set is loaded yet,
// which is an error the failure policy decides.
type Policies interface {
	Set() *policy.Set
}

// Recorder takes the events the webhook raises, to forward to Central.
// Record must not block: it runs inside the admission request.
type Recorder interface {
	Record(ev Event)
}

// Decision is the outcome of one reviewed CREATE, UPDATE or CONNECT
// request and the events it raised (none for a dry run).
type Decision struct {
	Allowed bool
	// DryRun says the request was a dry run: decided, nothing recorded.
	DryRun bool
	// Failed says the webhook could not decide and the failure policy
	// answered; Events then holds the EventError.
	Failed bool
	Events []Event
}

// DecisionRecorder is a Recorder that wants every decision whole: the
// Handler calls RecordDecision once per reviewed request, allowed ones
// included, instead of Record once per event, so that the events of one
// request (a denial's alerts, a CONNECT's KubeEvent and its alerts) can be
// forwarded together and decisions counted. It must not block.
type DecisionRecorder interface {
	Recorder
	RecordDecision(d Decision)
}

// Getter fetches an object's current JSON from the Kubernetes API (or a
// cache of it). It returns an error for which apierrors.IsNotFound is true
// when the object does not exist. RESTGetter is one.
type Getter interface {
	Get(ctx context.Context, resource schema.GroupVersionResource, namespace, name string) ([]byte, error)
}

// Enricher fills in what a workload's neighbours say about it (exposure,
// network policy coverage, RBAC), as (*workload.Context).Enrich does. It
// must be safe to call concurrently.
type Enricher interface {
	Enrich(d *workload.Deployment)
}

// Config configures a Handler. Zero values take the defaults named.
type Config struct {
	// ClusterName fills workloads' ClusterName, which policy scopes match.
	ClusterName string
	// FailClosed denies requests the webhook cannot decide; by default
	// they are admitted.
	FailClosed bool
	// ExcludedNamespaces are admitted without evaluation; nil means
	// DefaultExcludedNamespaces, an empty non-nil slice excludes none.
	ExcludedNamespaces []string
	// MaxBody bounds the AdmissionReview's size (DefaultMaxBody).
	MaxBody int64
	// Timeout bounds one decision (DefaultTimeout); kube-apiserver's own
	// timeout, when shorter, shortens it to leave time for the answer.
	Timeout time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// Getter, when set, fetches the target of a scale request and checks
	// the controllers named by ownerReferences. Without one, scale
	// requests are admitted and ownerReferences are trusted.
	Getter Getter
	// Enricher, when set, enriches each workload before evaluation.
	Enricher Enricher
	// Inform admits what the webhook would deny (admission enforcement
	// off): the request gets a warning naming the policies, and each
	// violated policy is recorded as an ACTIVE alert (not BreakGlass)
	// instead of ATTEMPTED. The failure policy still applies.
	Inform bool
}

// Handler serves the validating webhook over HTTP. It is safe for
// concurrent use.
type Handler struct {
	cfg      Config
	policies Policies
	rec      Recorder
	log      *slog.Logger
	excluded map[string]bool
	view     atomic.Pointer[view]
}

// New returns a Handler that decides with the policies p and records events
// with rec.
func New(cfg Config, p Policies, rec Recorder, log *slog.Logger) *Handler {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ExcludedNamespaces == nil {
		cfg.ExcludedNamespaces = DefaultExcludedNamespaces()
	}
	if rec == nil {
		rec = discard{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, policies: p, rec: rec, log: log, excluded: map[string]bool{}}
	for _, ns := range cfg.ExcludedNamespaces {
		h.excluded[ns] = true
	}
	return h
}

// discard is the Recorder of a Handler made without one.
type discard struct{}

func (discard) Record(Event) {}

var (
	reviewGVK = admissionv1.SchemeGroupVersion.WithKind("AdmissionReview")
	// reviewAPIVersion is "admission.k8s.io/v1".
	reviewAPIVersion = reviewGVK.GroupVersion().String()
)

// ServeHTTP answers one AdmissionReview.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "admission webhook: want POST with an AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			http.Error(w, fmt.Sprintf("admission webhook: content type %q: want application/json", ct), http.StatusBadRequest)
			return
		}
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= h.cfg.MaxBody {
		buf.Grow(int(r.ContentLength) + 1)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	body := buf.Bytes()
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("admission webhook: AdmissionReview larger than %d bytes", h.cfg.MaxBody), http.StatusBadRequest)
			return
		}
		http.Error(w, fmt.Sprintf("admission webhook: read AdmissionReview: %v", err), http.StatusBadRequest)
		return
	}
	req, err := parseReview(body)
	if err != nil {
		http.Error(w, "admission webhook: "+err.Error(), http.StatusBadRequest)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.deadline(r))
	defer cancel()
	resp := h.review(ctx, req)
	resp.UID = req.UID

	out, err := json.Marshal(&admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: reviewAPIVersion, Kind: reviewGVK.Kind},
		Response: resp,
	})
	if err != nil {
		// Unreachable for these types; answer rather than hang up.
		http.Error(w, "admission webhook: encode AdmissionReview: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// parseReview decodes and checks an AdmissionReview request.
func parseReview(body []byte) (*admissionv1.AdmissionRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("empty body: want an AdmissionReview")
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		return nil, fmt.Errorf("decode AdmissionReview: %w", err)
	}
	if review.APIVersion != reviewAPIVersion || review.Kind != reviewGVK.Kind {
		return nil, fmt.Errorf("got apiVersion %q kind %q: want %s AdmissionReview (set admissionReviewVersions: [v1])",
			review.APIVersion, review.Kind, reviewAPIVersion)
	}
	if review.Request == nil {
		return nil, errors.New("AdmissionReview has no request")
	}
	if review.Request.UID == "" {
		return nil, errors.New("AdmissionReview request has no uid")
	}
	return review.Request, nil
}

// deadline is how long a decision may take: Config.Timeout, or less when
// kube-apiserver announces a shorter timeout in the URL (?timeout=10s), so
// that the answer arrives before it gives up.
func (h *Handler) deadline(r *http.Request) time.Duration {
	d := h.cfg.Timeout
	if t, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil && t > 0 {
		if margin := t * 4 / 5; margin < d {
			d = margin
		}
	}
	return d
}

// decision is the outcome of one review and the events it raises, which
// are recorded only once the outcome is final.
type decision struct {
	allowed  bool
	message  string
	warnings []string
	events   []Event
}

func (d *decision) response() *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{Allowed: d.allowed, Warnings: d.warnings}
	if !d.allowed {
		resp.Result = &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusForbidden,
			Reason:  metav1.StatusReasonForbidden,
			Message: d.message,
		}
	}
	return resp
}

func allow() *decision { return &decision{allowed: true} }

// review decides a request within ctx's deadline. The decision runs in its
// own goroutine so that a slow one (a Getter call, a pathological policy)
// is abandoned at the deadline and the failure policy answers instead.
func (h *Handler) review(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	switch req.Operation {
	case admissionv1.Create, admissionv1.Update, admissionv1.Connect:
	default:
		return allow().response()
	}
	done := make(chan result, 1)
	go func() {
		var res result
		defer func() {
			if p := recover(); p != nil {
				res = result{err: fmt.Errorf("panic: %v", p)}
			}
			done <- res
		}()
		res.d, res.err = h.decide(ctx, req)
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		res = result{err: fmt.Errorf("no decision within the deadline: %w", context.Cause(ctx))}
	}
	if res.err != nil {
		res.d = h.failure(req, res.err)
	}
	// A dry run (kubectl --dry-run=server) is answered like the real
	// request but leaves no trace: the webhook declares no side effects.
	dry := req.DryRun != nil && *req.DryRun
	if dr, ok := h.rec.(DecisionRecorder); ok {
		dec := Decision{Allowed: res.d.allowed, DryRun: dry, Failed: res.err != nil}
		if !dry {
			dec.Events = res.d.events
		}
		dr.RecordDecision(dec)
	} else if !dry {
		for _, ev := range res.d.events {
			h.rec.Record(ev)
		}
	}
	return res.d.response()
}

type result struct {
	d   *decision
	err error
}

// failure answers a request that could not be decided, as the failure
// policy says, and raises an EventError.
func (h *Handler) failure(req *admissionv1.AdmissionRequest, err error) *decision {
	d := &decision{allowed: !h.cfg.FailClosed}
	ev := h.event(req, EventError)
	ev.Admitted = d.allowed
	ev.Error = err.Error()
	if ev.ObjectKind == "" {
		ev.ObjectKind = req.Kind.Kind
	}
	d.events = []Event{ev}
	target := fmt.Sprintf("%s %s", req.Kind.Kind, objectRef(req.Namespace, req.Name))
	if d.allowed {
		h.log.Warn("admission request admitted without a decision (fail-open)", "uid", req.UID, "operation", req.Operation,
			"kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "err", err)
		d.warnings = []string{clip("Stockade could not check "+target+" and admitted it (fail-open): "+sanitize(err.Error()), maxWarning)}
		return d
	}
	h.log.Warn("admission request denied without a decision (fail-closed)", "uid", req.UID, "operation", req.Operation,
		"kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "err", err)
	d.message = clip("Stockade could not check "+target+" and denies it because admission control fails closed: "+
		sanitize(err.Error())+". Retry, or ask the cluster administrator to check Sensor.", maxMessage)
	return d
}

// event returns an Event of kind k filled from the request.
func (h *Handler) event(req *admissionv1.AdmissionRequest, k EventKind) Event {
	return Event{
		Kind:       k,
		Time:       h.cfg.Now(),
		RequestUID: string(req.UID),
		Cluster:    h.cfg.ClusterName,
		Operation:  string(req.Operation),
		Namespace:  req.Namespace,
		Name:       req.Name,
		User:       User{Name: req.UserInfo.Username, Groups: slices.Clone(req.UserInfo.Groups)},
	}
}

// decide routes a request to the decision for its kind.
func (h *Handler) decide(ctx context.Context, req *admissionv1.AdmissionRequest) (*decision, error) {
	if req.Operation == admissionv1.Connect {
		return h.decideConnect(ctx, req)
	}
	if h.excluded[req.Namespace] {
		return allow(), nil
	}
	if req.SubResource == "scale" && req.Operation == admissionv1.Update {
		return h.decideScale(ctx, req)
	}
	if req.SubResource != "" {
		return allow(), nil
	}
	return h.decideWorkload(ctx, req)
}

// view is what a policy set says about admission, worked out once per set.
type view struct {
	set    *policy.Set
	create []*policy.Compiled // DEPLOY policies enforced at CREATE
	update []*policy.Compiled // DEPLOY policies enforced at UPDATE
	kube   []*kubePolicy      // RUNTIME policies on Kubernetes events
}

// currentView returns the view of the cached policy set, building it when
// the set has changed since the last request. Two requests racing after a
// change may both build it; either result is the same.
func (h *Handler) currentView() (*view, error) {
	s := h.policies.Set()
	if s == nil {
		return nil, errors.New("no policy set loaded yet")
	}
	if v := h.view.Load(); v != nil && v.set == s {
		return v, nil
	}
	v := &view{set: s}
	for _, c := range s.DeployPolicies() {
		if slices.Contains(c.Policy.EnforcementActions, policy.EnforceFailDeploymentCreate) {
			v.create = append(v.create, c)
		}
		if slices.Contains(c.Policy.EnforcementActions, policy.EnforceFailDeploymentUpdate) {
			v.update = append(v.update, c)
		}
	}
	for _, c := range s.Policies() {
		kp, err := compileKubePolicy(c)
		if err != nil {
			h.log.Warn("policy skipped for Kubernetes events", "policy", c.Policy.Name, "err", err)
			continue
		}
		if kp != nil {
			v.kube = append(v.kube, kp)
		}
	}
	h.view.Store(v)
	return v, nil
}

func objectRef(namespace, name string) string {
	if namespace == "" {
		return strings.TrimSpace(quoteName(name))
	}
	return quoteName(name) + " in namespace " + quoteName(namespace)
}

func quoteName(s string) string { return `"` + sanitize(s) + `"` }
