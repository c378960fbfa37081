// Package integrationapi is the /v1/imageintegrations API: the registries
// Central scans from and the credentials it logs in with.
//
// Secrets (passwords, cloud keys) are encrypted field by field in the store
// (package secret), never returned — every response shows "******" for a
// secret that is set — and never logged. An update that sends "******" back
// keeps the stored secret. After every change the credentials Central scans
// with are rebuilt from the stored integrations (Registries). The test
// endpoint really logs in to the registry and reads from it, and reports a
// refusal in the registry's own plain words.
package integrationapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/secret"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
)

// TestTimeout bounds a registry login test.
const TestTimeout = 30 * time.Second

// maxBody bounds a request: an integration with a service-account key.
const maxBody = 1 << 20

// MaxListLimit bounds a page of GET /v1/imageintegrations.
const MaxListLimit = 1000

// listSorts are the sort keys of the list; the first is the default.
var listSorts = []string{"name", "type", "endpoint", "lastTest"}

// Store is what the integration API keeps integrations in.
type Store interface {
	ListImageIntegrations(ctx context.Context) ([]store.ImageIntegrationRecord, error)
	GetImageIntegration(ctx context.Context, id string) (store.ImageIntegrationRecord, error)
	CreateImageIntegration(ctx context.Context, rec store.ImageIntegrationRecord) error
	UpdateImageIntegration(ctx context.Context, rec store.ImageIntegrationRecord) error
	DeleteImageIntegration(ctx context.Context, id string) error
	// The settings table keeps each integration's last test result.
	GetSetting(ctx context.Context, key string) (value string, ok bool, err error)
	SetSetting(ctx context.Context, key, value string) error
	DeleteSetting(ctx context.Context, key string) error
}

// Registries receives the stored integrations, secrets decrypted, whenever
// they change (the image scanning service).
type Registries interface {
	SetIntegrations(ins []registry.Integration) error
}

// Tester logs in to a registry with an integration (registry.Test).
type Tester func(ctx context.Context, in registry.Integration) error

// API serves the image integration routes.
type API struct {
	store      Store
	box        *secret.Box
	registries Registries
	test       Tester
	log        *slog.Logger

	// reloadMu orders reloads, so the last one applied read the last write.
	reloadMu sync.Mutex
}

// New returns the image integration API. test is how integrations are
// tested: registry.Test with Central's options.
func New(st Store, box *secret.Box, regs Registries, test Tester, log *slog.Logger) *API {
	return &API{store: st, box: box, registries: regs, test: test, log: log}
}

// Routes are the integration endpoints: reading needs ImageIntegration read
// (Admin, Analyst), changing and testing need ImageIntegration write
// (Admin): a test makes Central connect where the caller says, with the
// stored secrets.
func (a *API) Routes() []httpapi.Route {
	read := auth.Need(auth.ResourceImageIntegration, auth.Read)
	write := auth.Need(auth.ResourceImageIntegration, auth.Write)
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/imageintegrations", Permission: read, Handler: a.list},
		{Method: http.MethodGet, Path: "/v1/imageintegrations/{id}", Permission: read, Handler: a.get},
		{Method: http.MethodPost, Path: "/v1/imageintegrations", Permission: write, MaxBody: maxBody, Handler: a.create},
		{Method: http.MethodPut, Path: "/v1/imageintegrations/{id}", Permission: write, MaxBody: maxBody, Handler: a.update},
		{Method: http.MethodDelete, Path: "/v1/imageintegrations/{id}", Permission: write, Handler: a.delete},
		{Method: http.MethodPost, Path: "/v1/imageintegrations/test", Permission: write, MaxBody: maxBody, Handler: a.testIntegration},
	}
}

// ImageIntegration is an integration as the API shows it: every secret that
// is set reads "******".
type ImageIntegration struct {
	registry.Integration
	// Categories is ACS's list of what the integration is for; always
	// ["REGISTRY"].
	Categories []string  `json:"categories"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	// LastTest is the outcome of the last test of the stored integration.
	LastTest *LastTest `json:"lastTest,omitempty"`
}

// LastTest is when an integration was last tested and what the registry
// answered.
type LastTest struct {
	At      time.Time `json:"at"`
	OK      bool      `json:"ok"`
	Message string    `json:"message"`
}

// List is the answer of GET /v1/imageintegrations: a page and how many
// integrations match.
type List struct {
	Integrations []ImageIntegration `json:"integrations"`
	Total        int                `json:"total"`
}

// TestResult is the answer of a successful test.
type TestResult struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

func view(in registry.Integration, rec store.ImageIntegrationRecord) ImageIntegration {
	return ImageIntegration{Integration: mask(in), Categories: []string{"REGISTRY"}, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt}
}

// mask replaces every set secret with the mask, so that no encoding of the
// result (JSON, %v, logs) can show one, ciphertext included.
func mask(in registry.Integration) registry.Integration {
	in = clone(in)
	for _, f := range secretFields(&in) {
		if *f.s != "" {
			*f.s = registry.Redacted
		}
	}
	return in
}

// list serves GET /v1/imageintegrations: the integrations whose name, type
// or endpoint hold every word of query, of one type if asked, sorted and
// paged.
func (a *API) list(w http.ResponseWriter, r *http.Request) error {
	q, err := httpapi.ParseListQuery(r.URL.Query(), listSorts, MaxListLimit)
	if err != nil {
		return err
	}
	typ := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("type")))
	recs, err := a.store.ListImageIntegrations(r.Context())
	if err != nil {
		return err
	}
	all := make([]ImageIntegration, 0, len(recs))
	for _, rec := range recs {
		in, err := decodeSealed(rec)
		if err != nil {
			return err
		}
		if (typ != "" && string(in.Type) != typ) || !q.Matches(in.Name, string(in.Type), in.Endpoint) {
			continue
		}
		v := view(in, rec)
		if v.LastTest, err = a.lastTest(r.Context(), in.ID); err != nil {
			return err
		}
		all = append(all, v)
	}
	out := List{Total: len(all), Integrations: httpapi.SortAndPage(all, q, compareBy(q.Sort), byName)}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

// compareBy orders integrations by a sort key, ties broken by byName.
func compareBy(key string) func(a, b ImageIntegration) int {
	return func(a, b ImageIntegration) int {
		var c int
		switch key {
		case "name":
			c = byName(a, b)
		case "type":
			c = strings.Compare(string(a.Type), string(b.Type))
		case "endpoint":
			c = strings.Compare(a.Endpoint, b.Endpoint)
		case "lastTest":
			c = compareLastTest(a.LastTest, b.LastTest)
		}
		return c
	}
}

// byName orders by name, case-insensitively, then by id.
func byName(a, b ImageIntegration) int {
	return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.ID, b.ID))
}

// compareLastTest orders never-tested first, then by test time.
func compareLastTest(a, b *LastTest) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return a.At.Compare(b.At)
}

func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	return a.respond(r.Context(), w, r.PathValue("id"))
}

// lastTestKey is the setting holding an integration's last test.
func lastTestKey(id string) string { return "imageintegration/lasttest/" + id }

// lastTest reads the last test of integration id; nil when never tested.
func (a *API) lastTest(ctx context.Context, id string) (*LastTest, error) {
	raw, ok, err := a.store.GetSetting(ctx, lastTestKey(id))
	if err != nil || !ok {
		return nil, err
	}
	var lt LastTest
	if err := json.Unmarshal([]byte(raw), &lt); err != nil {
		return nil, fmt.Errorf("image integration %q: read last test: %w", id, err)
	}
	return &lt, nil
}

// recordTest keeps the outcome of a test of stored integration id. Failing
// to keep it is logged: the test itself happened and is answered.
func (a *API) recordTest(ctx context.Context, id string, ok bool, msg string) {
	doc, err := json.Marshal(LastTest{At: time.Now().UTC(), OK: ok, Message: msg})
	if err == nil {
		err = a.store.SetSetting(ctx, lastTestKey(id), string(doc))
	}
	if err != nil {
		a.log.Warn("image integration test result not kept", "id", id, "err", err)
	}
}

// decodeIntegration reads a request body into an integration, trimmed.
func decodeIntegration(r *http.Request) (registry.Integration, error) {
	var in registry.Integration
	if err := httpapi.Decode(r, &in); err != nil {
		return in, err
	}
	in.Name = strings.TrimSpace(in.Name)
	in.Endpoint = strings.TrimSpace(in.Endpoint)
	in.Type = registry.Type(strings.ToLower(strings.TrimSpace(string(in.Type))))
	return in, nil
}

// validate checks in and refuses a mask left where no stored secret can
// take its place.
func validate(in registry.Integration) error {
	for _, f := range secretFields(&in) {
		if *f.s == registry.Redacted {
			return httpapi.Invalid(fmt.Sprintf("%s: %q is the mask shown for a stored secret; send the secret itself", f.path, registry.Redacted),
				httpapi.Detail{Path: f.path, Message: "is the mask of a stored secret, and there is none to keep"})
		}
	}
	if err := in.Validate(); err != nil {
		return httpapi.Invalid(err.Error(), fieldDetails(err)...)
	}
	return nil
}

// fieldDetails names the fields of a validation error, which the registry
// package words as "path: message" or "path, path: message".
func fieldDetails(err error) []httpapi.Detail {
	var re *registry.Error
	if !errors.As(err, &re) || re.Err == nil {
		return nil
	}
	paths, msg, ok := strings.Cut(re.Err.Error(), ": ")
	if !ok {
		return nil
	}
	var ds []httpapi.Detail
	for p := range strings.SplitSeq(paths, ", ") {
		if p == "" || strings.ContainsAny(p, " \t") {
			return nil
		}
		ds = append(ds, httpapi.Detail{Path: p, Message: msg})
	}
	return ds
}

func (a *API) create(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeIntegration(r)
	if err != nil {
		return err
	}
	if in.ID == "" {
		in.ID = uuid.NewString()
	}
	if err := validate(in); err != nil {
		return err
	}
	rec, err := seal(a.box, in)
	if err != nil {
		return err
	}
	if err := a.store.CreateImageIntegration(r.Context(), rec); err != nil {
		return err
	}
	a.log.Info("image integration created", "integration", in)
	a.Reload(context.WithoutCancel(r.Context()))
	return a.respond(r.Context(), w, in.ID)
}

func (a *API) update(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	in, err := decodeIntegration(r)
	if err != nil {
		return err
	}
	if in.ID != "" && in.ID != id {
		return httpapi.Invalid(fmt.Sprintf("the body's id %q is not the id %q of the URL", in.ID, id), httpapi.Detail{Path: "id", Message: "differs from the URL"})
	}
	in.ID = id
	if err := a.keepSecrets(r.Context(), &in); err != nil {
		return err
	}
	if err := validate(in); err != nil {
		return err
	}
	rec, err := seal(a.box, in)
	if err != nil {
		return err
	}
	if err := a.store.UpdateImageIntegration(r.Context(), rec); err != nil {
		return err
	}
	a.log.Info("image integration updated", "integration", in)
	a.Reload(context.WithoutCancel(r.Context()))
	return a.respond(r.Context(), w, id)
}

// keepSecrets puts the stored secrets of in.ID where in has the mask. When
// nothing is masked the stored integration is not even decrypted, so new
// secrets can replace ones the current key cannot open.
func (a *API) keepSecrets(ctx context.Context, in *registry.Integration) error {
	masked := false
	for _, f := range secretFields(in) {
		masked = masked || *f.s == registry.Redacted
	}
	rec, err := a.store.GetImageIntegration(ctx, in.ID)
	if err != nil || !masked {
		return err
	}
	stored, err := open(a.box, rec)
	if err != nil {
		return err
	}
	in.KeepSecrets(stored)
	return nil
}

func (a *API) respond(ctx context.Context, w http.ResponseWriter, id string) error {
	rec, err := a.store.GetImageIntegration(ctx, id)
	if err != nil {
		return err
	}
	in, err := decodeSealed(rec)
	if err != nil {
		return err
	}
	v := view(in, rec)
	if v.LastTest, err = a.lastTest(ctx, id); err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, v)
}

func (a *API) delete(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := a.store.DeleteImageIntegration(r.Context(), id); err != nil {
		return err
	}
	if err := a.store.DeleteSetting(r.Context(), lastTestKey(id)); err != nil {
		a.log.Warn("last test of a deleted image integration not removed", "id", id, "err", err)
	}
	a.log.Info("image integration deleted", "id", id)
	a.Reload(context.WithoutCancel(r.Context()))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// testIntegration logs in with the integration in the body; with the id of
// a stored one, masked secrets are the stored ones.
func (a *API) testIntegration(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeIntegration(r)
	if err != nil {
		return err
	}
	if in.ID != "" {
		if err := a.keepSecrets(r.Context(), &in); err != nil {
			return err
		}
	}
	if err := validate(in); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), TestTimeout)
	defer cancel()
	if err := a.test(ctx, in); err != nil {
		a.log.Info("image integration test failed", "integration", in, "err", err)
		msg := err.Error()
		var re *registry.Error
		if errors.As(err, &re) {
			msg = re.Error()
		}
		if in.ID != "" {
			a.recordTest(context.WithoutCancel(r.Context()), in.ID, false, msg)
		}
		return httpapi.Invalid("registry test failed: " + msg)
	}
	a.log.Info("image integration test succeeded", "integration", in)
	res := TestResult{OK: true, Message: fmt.Sprintf("logged in to %s", in)}
	if in.ID != "" {
		a.recordTest(context.WithoutCancel(r.Context()), in.ID, true, res.Message)
	}
	return httpapi.WriteJSON(w, http.StatusOK, res)
}

// Reload gives Registries the stored integrations with their secrets. After
// a write it runs on a context the client cannot cancel, so the committed
// change always reaches the scanner. An
// integration that cannot be decrypted or is no longer valid is left out
// and logged, so one bad record does not take the others' credentials
// away. Reloads run one at a time, each reading the store afresh.
func (a *API) Reload(ctx context.Context) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	recs, err := a.store.ListImageIntegrations(ctx)
	if err != nil {
		a.log.Error("reload image integrations failed; scans keep the previous credentials", "err", err)
		return
	}
	ins := make([]registry.Integration, 0, len(recs))
	for _, rec := range recs {
		in, err := open(a.box, rec)
		if err == nil {
			err = in.Validate()
		}
		if err != nil {
			a.log.Error("image integration left out of scanning", "id", rec.ID, "name", rec.Name, "err", err)
			continue
		}
		ins = append(ins, in)
	}
	if err := a.registries.SetIntegrations(ins); err != nil {
		a.log.Error("reload image integrations failed; scans keep the previous credentials", "err", err)
		return
	}
	a.log.Info("image integrations loaded", "integrations", len(ins), "stored", len(recs))
}
