package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stockade-dev/stockade/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backend makes a fresh, empty database for one test and returns what Open
// needs to open it (possibly several times).
type backend struct {
	name  string
	fresh func(t testing.TB) (dsn, dataDir string)
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t testing.TB) (string, string) { return "", t.TempDir() }},
		{"postgres", func(t testing.TB) (string, string) { return pgtest.NewDatabase(t), "" }},
	}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func openStore(t testing.TB, dsn, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, dir, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestStore runs the one store suite against every backend.
func TestStore(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { storeSuite(t, b) })
	}
}

// storeSuite is the behaviour every backend must show. Each case gets a fresh
// store; the cases that reopen a database get the backend too.
func storeSuite(t *testing.T, b backend) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s *Store)
	}{
		{"Basics", testBasics},
		{"PolicyCRUD", testPolicyCRUD},
		{"PolicyNamesCaseInsensitive", testPolicyNamesCaseInsensitive},
		{"PolicyValidation", testPolicyValidation},
		{"ImportAllOrNothing", testImportAllOrNothing},
		{"ImportOverwrite", testImportOverwrite},
		{"TimesRoundTrip", testTimesRoundTrip},
		{"JSONBytesRoundTrip", testJSONBytesRoundTrip},
		{"AlertCRUD", testAlertCRUD},
		{"AlertFilters", testAlertFilters},
		{"AlertSortAndPages", testAlertSortAndPages},
		{"AlertCounts", testAlertCounts},
		{"Tokens", testTokens},
		{"Settings", testSettings},
		{"InTx", testInTx},
		{"DeploymentUpsert", testDeploymentUpsert},
		{"DeploymentValidation", testDeploymentValidation},
		{"DeploymentFilters", testDeploymentFilters},
		{"DeploymentSortAndPages", testDeploymentSortAndPages},
		{"DeploymentBytesRoundTrip", testDeploymentBytesRoundTrip},
		{"DeploymentBatch", testDeploymentBatch},
		{"DeploymentEach", testDeploymentEach},
		{"DeploymentInTx", testDeploymentInTx},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ImageIntegrationCRUD", testImageIntegrationCRUD},
		{"ImageUpsertAndGet", testImageUpsertAndGet},
		{"ImageListSortAndPages", testImageListSortAndPages},
		{"ImageVulnsSeen", testImageVulnsSeen},
		{"NotifierCRUD", testNotifierCRUD},
		{"OutboxLifecycle", testOutboxLifecycle},
		{"OutboxFoldRetryPrune", testOutboxFoldRetryPrune},
		{"AlertPrune", testAlertPrune},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dsn, dir := b.fresh(t)
			s := openStore(t, dsn, dir)
			if s.Backend() != b.name {
				t.Fatalf("Backend() = %q, want %q", s.Backend(), b.name)
			}
			c.fn(t, s)
		})
	}
	t.Run("MigrationsIdempotent", func(t *testing.T) { testMigrationsIdempotent(t, b) })
	t.Run("NewerSchemaRefused", func(t *testing.T) { testNewerSchemaRefused(t, b) })
	t.Run("DeploymentsMigration", func(t *testing.T) { testDeploymentsMigration(t, b) })
}

var ctx = context.Background()

func policy(id, name string) PolicyRecord {
	return PolicyRecord{ID: id, Name: name, JSON: fmt.Appendf(nil, `{"id":%q,"name":%q}`, id, name)}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func policyIDs(t *testing.T, s *Store) []string {
	t.Helper()
	ps, err := s.ListPolicies(ctx)
	mustNil(t, err)
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

func testBasics(t *testing.T, s *Store) {
	mustNil(t, s.Ping(ctx))
	n, err := s.CountPolicies(ctx)
	mustNil(t, err)
	if n != 0 {
		t.Errorf("fresh store has %d policies", n)
	}
	var count int
	mustNil(t, s.direct().queryRow(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&count))
	ms, err := loadMigrations(migrationFiles)
	mustNil(t, err)
	if count != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", count, len(ms))
	}
}

func testPolicyCRUD(t *testing.T, s *Store) {
	created := time.Date(2024, 3, 1, 10, 0, 0, 123456789, time.UTC)
	p := policy("p1", "Privileged container")
	p.Builtin = true
	p.CreatedAt = created
	mustNil(t, s.CreatePolicy(ctx, p))
	got, err := s.GetPolicy(ctx, "p1")
	mustNil(t, err)
	if got.Name != p.Name || !got.Builtin || got.Disabled || !bytes.Equal(got.JSON, p.JSON) ||
		!got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(created) {
		t.Errorf("GetPolicy = %+v", got)
	}

	mustIs(t, s.CreatePolicy(ctx, policy("p1", "Another name")), ErrConflict)
	_, err = s.GetPolicy(ctx, "nope")
	mustIs(t, err, ErrNotFound)
	if !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("error %q does not name the policy", err)
	}

	mustNil(t, s.CreatePolicy(ctx, policy("p2", "alpine image")))
	mustNil(t, s.CreatePolicy(ctx, policy("p3", "Zeta")))
	mustNil(t, s.CreatePolicy(ctx, policy("p4", "beta")))
	if got, want := strings.Join(policyIDs(t, s), ","), "p2,p4,p1,p3"; got != want {
		t.Errorf("ListPolicies order = %s, want %s (by name, case-insensitively)", got, want)
	}
	n, err := s.CountPolicies(ctx)
	mustNil(t, err)
	if n != 4 {
		t.Errorf("CountPolicies = %d, want 4", n)
	}

	upd := policy("p1", "Privileged containers")
	upd.JSON = []byte(`{"id":"p1","v":2}`)
	upd.UpdatedAt = created.Add(time.Hour)
	upd.CreatedAt = created.Add(24 * time.Hour) // ignored: creation time is kept
	mustNil(t, s.UpdatePolicy(ctx, upd))
	got, err = s.GetPolicy(ctx, "p1")
	mustNil(t, err)
	if got.Name != upd.Name || !bytes.Equal(got.JSON, upd.JSON) || !got.CreatedAt.Equal(created) ||
		!got.UpdatedAt.Equal(upd.UpdatedAt) || got.Builtin {
		t.Errorf("after UpdatePolicy: %+v", got)
	}
	mustIs(t, s.UpdatePolicy(ctx, policy("missing", "Missing")), ErrNotFound)
	mustIs(t, s.UpdatePolicy(ctx, policy("p1", "ZETA")), ErrConflict)
	// Renaming to its own name in another case is not a clash.
	mustNil(t, s.UpdatePolicy(ctx, policy("p1", "PRIVILEGED CONTAINERS")))

	before := time.Now().Add(-time.Second)
	mustNil(t, s.SetPolicyDisabled(ctx, "p2", true))
	got, err = s.GetPolicy(ctx, "p2")
	mustNil(t, err)
	if !got.Disabled || got.UpdatedAt.Before(before) {
		t.Errorf("after SetPolicyDisabled: disabled=%v updated=%v", got.Disabled, got.UpdatedAt)
	}
	mustNil(t, s.SetPolicyDisabled(ctx, "p2", false))
	got, _ = s.GetPolicy(ctx, "p2")
	if got.Disabled {
		t.Error("policy still disabled")
	}
	mustIs(t, s.SetPolicyDisabled(ctx, "missing", true), ErrNotFound)

	mustNil(t, s.DeletePolicy(ctx, "p3"))
	mustIs(t, s.DeletePolicy(ctx, "p3"), ErrNotFound)
	_, err = s.GetPolicy(ctx, "p3")
	mustIs(t, err, ErrNotFound)
	// The name is free again.
	mustNil(t, s.CreatePolicy(ctx, policy("p5", "zeta")))
}

func testPolicyNamesCaseInsensitive(t *testing.T, s *Store) {
	mustNil(t, s.CreatePolicy(ctx, policy("a", "Latest Tag")))
	for _, name := range []string{"latest tag", "LATEST TAG", "lAtEsT tAg"} {
		err := s.CreatePolicy(ctx, policy("b", name))
		mustIs(t, err, ErrConflict)
		if !strings.Contains(err.Error(), `"a"`) {
			t.Errorf("conflict %q does not name the policy holding the name", err)
		}
	}
	// Non-ASCII letters fold the same way on both backends.
	mustNil(t, s.CreatePolicy(ctx, policy("c", "Überprüfung")))
	mustIs(t, s.CreatePolicy(ctx, policy("d", "ÜBERPRÜFUNG")), ErrConflict)
	mustNil(t, s.CreatePolicy(ctx, policy("e", "Latest Tag 2")))
}

func testPolicyValidation(t *testing.T, s *Store) {
	for name, p := range map[string]PolicyRecord{
		"empty id":     policy("", "x"),
		"empty name":   policy("x", ""),
		"NUL in name":  policy("x", "a\x00b"),
		"bad UTF-8":    policy("x", "a\xffb"),
		"long name":    policy("x", strings.Repeat("n", maxKeyLen+1)),
		"no JSON":      {ID: "x", Name: "x"},
		"invalid JSON": {ID: "x", Name: "x", JSON: []byte(`{"a":`)},
		"year 3000":    {ID: "x", Name: "x", JSON: []byte(`{}`), CreatedAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if err := s.CreatePolicy(ctx, p); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	n, err := s.CountPolicies(ctx)
	mustNil(t, err)
	if n != 0 {
		t.Errorf("%d invalid policies stored", n)
	}
}

func testImportAllOrNothing(t *testing.T, s *Store) {
	mustNil(t, s.CreatePolicy(ctx, policy("existing", "Existing Policy")))
	for name, recs := range map[string][]PolicyRecord{
		"name clash with stored": {policy("n1", "One"), policy("n2", "Two"), policy("n3", "EXISTING policy")},
		"id clash with stored":   {policy("n1", "One"), policy("n2", "Two"), policy("existing", "Three")},
		"clash within the batch": {policy("n1", "One"), policy("n2", "Two"), policy("n3", "one")},
		"invalid third record":   {policy("n1", "One"), policy("n2", "Two"), {ID: "n3", Name: "Three", JSON: []byte("{")}},
	} {
		err := s.ImportPolicies(ctx, recs, false)
		if name == "invalid third record" {
			mustIs(t, err, ErrInvalid)
		} else {
			mustIs(t, err, ErrConflict)
		}
		if !strings.Contains(err.Error(), "policy 3 of 3") {
			t.Errorf("%s: error %q does not name the record", name, err)
		}
		if got := strings.Join(policyIDs(t, s), ","); got != "existing" {
			t.Errorf("%s: after failed import the store holds %s, want only existing", name, got)
		}
	}
	mustNil(t, s.ImportPolicies(ctx, []PolicyRecord{policy("n1", "One"), policy("n2", "Two")}, false))
	if got := strings.Join(policyIDs(t, s), ","); got != "existing,n1,n2" {
		t.Errorf("after import: %s", got)
	}
	mustNil(t, s.ImportPolicies(ctx, nil, false))
}

func testImportOverwrite(t *testing.T, s *Store) {
	created := time.Date(2023, 5, 6, 7, 8, 9, 10, time.UTC)
	a := policy("a", "Alpha")
	a.CreatedAt = created
	mustNil(t, s.CreatePolicy(ctx, a))
	mustNil(t, s.CreatePolicy(ctx, policy("b", "Beta")))
	mustNil(t, s.CreatePolicy(ctx, policy("c", "Gamma")))

	a2 := policy("a", "Alpha v2") // same id: replaced, creation time kept
	b2 := policy("b-new", "BETA") // same name, new id: b is replaced
	d := policy("d", "Delta")     // new
	mustNil(t, s.ImportPolicies(ctx, []PolicyRecord{a2, b2, d}, true))
	if got := strings.Join(policyIDs(t, s), ","); got != "a,b-new,d,c" {
		t.Errorf("after overwrite import: %s, want a,b-new,d,c", got)
	}
	got, err := s.GetPolicy(ctx, "a")
	mustNil(t, err)
	if got.Name != "Alpha v2" || !bytes.Equal(got.JSON, a2.JSON) || !got.CreatedAt.Equal(created) {
		t.Errorf("replaced a = %+v", got)
	}
	_, err = s.GetPolicy(ctx, "b")
	mustIs(t, err, ErrNotFound)
	// One record clashing with two stored policies (id of one, name of the
	// other) replaces both.
	mustNil(t, s.ImportPolicies(ctx, []PolicyRecord{policy("c", "delta")}, true))
	if got := strings.Join(policyIDs(t, s), ","); got != "a,b-new,c" {
		t.Errorf("after double replace: %s", got)
	}
	// Still all or nothing.
	err = s.ImportPolicies(ctx, []PolicyRecord{policy("x", "X"), {ID: "y", Name: "Y"}}, true)
	mustIs(t, err, ErrInvalid)
	if _, err := s.GetPolicy(ctx, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("x written by a failed import: %v", err)
	}
}

func testTimesRoundTrip(t *testing.T, s *Store) {
	berlin := time.FixedZone("CEST", 2*3600)
	for i, tm := range []time.Time{
		time.Date(2024, 7, 1, 12, 34, 56, 987654321, berlin),
		time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC),
		time.Date(2261, 1, 1, 0, 0, 0, 999999999, time.UTC),
		time.Now(), // carries a monotonic reading
	} {
		id := fmt.Sprintf("t%d", i)
		p := policy(id, id)
		p.CreatedAt, p.UpdatedAt = tm, tm.Add(time.Nanosecond)
		mustNil(t, s.CreatePolicy(ctx, p))
		got, err := s.GetPolicy(ctx, id)
		mustNil(t, err)
		if got.CreatedAt != tm.UTC().Round(0) || got.UpdatedAt != tm.Add(time.Nanosecond).UTC().Round(0) {
			t.Errorf("%v: read back %v / %v", tm, got.CreatedAt, got.UpdatedAt)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("%v: location %v, want UTC", tm, got.CreatedAt.Location())
		}

		a := alert(id)
		a.CreatedAt, a.UpdatedAt = tm, tm
		mustNil(t, s.AddAlerts(ctx, []AlertRecord{a}))
		ga, err := s.GetAlert(ctx, id)
		mustNil(t, err)
		if ga.CreatedAt != tm.UTC().Round(0) {
			t.Errorf("alert %v: read back %v", tm, ga.CreatedAt)
		}

		exp := tm.Add(time.Hour)
		mustNil(t, s.CreateToken(ctx, TokenRecord{ID: id, Role: "Admin", SecretHash: []byte{1}, CreatedAt: tm, ExpiresAt: &exp}))
		tok, err := s.GetToken(ctx, id)
		mustNil(t, err)
		if tok.CreatedAt != tm.UTC().Round(0) || tok.ExpiresAt == nil || *tok.ExpiresAt != exp.UTC().Round(0) {
			t.Errorf("token %v: read back %v / %v", tm, tok.CreatedAt, tok.ExpiresAt)
		}
	}
}

func testJSONBytesRoundTrip(t *testing.T, s *Store) {
	big := bytes.Repeat([]byte(`{"k":"v\u00e9\n"},`), 50000)
	docs := [][]byte{
		[]byte(`{ "b" : 1,   "a":[ 1.50, 2e3 ] }`), // spacing and key order kept
		[]byte("\n\t{\"name\":\"caf\\u00e9 ☕\",\"x\":null}\r\n"),
		[]byte(`"just a string"`),
		append(append([]byte("["), big...), []byte(`{}]`)...),
	}
	for i, doc := range docs {
		id := fmt.Sprintf("j%d", i)
		p := policy(id, id)
		p.JSON = doc
		mustNil(t, s.CreatePolicy(ctx, p))
		got, err := s.GetPolicy(ctx, id)
		mustNil(t, err)
		if !bytes.Equal(got.JSON, doc) {
			t.Errorf("policy doc %d changed: %d bytes in, %d out", i, len(doc), len(got.JSON))
		}
		a := alert(id)
		a.JSON = doc
		mustNil(t, s.AddAlerts(ctx, []AlertRecord{a}))
		ga, err := s.GetAlert(ctx, id)
		mustNil(t, err)
		if !bytes.Equal(ga.JSON, doc) {
			t.Errorf("alert doc %d changed", i)
		}
	}
	// A writer reusing its buffer must not change what was stored.
	buf := []byte(`{"v":1}`)
	p := policy("reuse", "reuse")
	p.JSON = buf
	mustNil(t, s.CreatePolicy(ctx, p))
	buf[5] = '2'
	got, _ := s.GetPolicy(ctx, "reuse")
	if string(got.JSON) != `{"v":1}` {
		t.Errorf("stored doc follows the caller's buffer: %s", got.JSON)
	}
}

func alert(id string) AlertRecord {
	return AlertRecord{
		ID: id, PolicyID: "pol-1", PolicyName: "Latest tag", Severity: "LOW_SEVERITY",
		LifecycleStage: "DEPLOY", ClusterName: "prod", Namespace: "default",
		DeploymentID: "dep-" + id, DeploymentName: "web", EntityType: "DEPLOYMENT",
		JSON: fmt.Appendf(nil, `{"id":%q}`, id),
	}
}

func testAlertCRUD(t *testing.T, s *Store) {
	a := alert("a1")
	a.Enforced = true
	mustNil(t, s.AddAlerts(ctx, []AlertRecord{a}))
	got, err := s.GetAlert(ctx, "a1")
	mustNil(t, err)
	if got.State != AlertActive || !got.Enforced || got.PolicyName != "Latest tag" || got.DeploymentID != "dep-a1" ||
		got.EntityType != "DEPLOYMENT" || got.CreatedAt.IsZero() || !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("GetAlert = %+v", got)
	}
	_, err = s.GetAlert(ctx, "nope")
	mustIs(t, err, ErrNotFound)

	// A batch with one existing id writes nothing.
	err = s.AddAlerts(ctx, []AlertRecord{alert("a2"), alert("a1"), alert("a3")})
	mustIs(t, err, ErrConflict)
	_, err = s.GetAlert(ctx, "a2")
	mustIs(t, err, ErrNotFound)
	mustIs(t, s.AddAlerts(ctx, []AlertRecord{alert("a4"), {ID: "a5", JSON: []byte("{")}}), ErrInvalid)
	_, err = s.GetAlert(ctx, "a4")
	mustIs(t, err, ErrNotFound)
	bad := alert("a6")
	bad.State = "SNOOZED"
	mustIs(t, s.AddAlerts(ctx, []AlertRecord{bad}), ErrInvalid)
	// The longest accepted filter value is stored and indexed on both backends.
	long := alert("a7")
	long.DeploymentName = strings.Repeat("d", maxKeyLen)
	mustNil(t, s.AddAlerts(ctx, []AlertRecord{long}))
	long.ID, long.DeploymentName = "a8", strings.Repeat("d", maxKeyLen+1)
	mustIs(t, s.AddAlerts(ctx, []AlertRecord{long}), ErrInvalid)
	mustNil(t, s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM alerts WHERE id = ?`, "a7")
		return err
	}))
	mustNil(t, s.AddAlerts(ctx, nil))
	mustIs(t, s.AddAlerts(ctx, []AlertRecord{alert("d1"), alert("d1")}), ErrConflict)

	// Batches span several INSERT statements and stay all or nothing.
	big := make([]AlertRecord, 250)
	for i := range big {
		big[i] = alert(fmt.Sprintf("big%03d", i))
	}
	big[230].ID = "a1"
	err = s.AddAlerts(ctx, big)
	mustIs(t, err, ErrConflict)
	if !strings.Contains(err.Error(), `"a1"`) {
		t.Errorf("conflict %q does not name the alert", err)
	}
	if _, total, _ := s.ListAlerts(ctx, AlertQuery{}); total != 1 {
		t.Errorf("failed big batch left %d alerts, want 1", total)
	}
	big[230].ID = "big230"
	mustNil(t, s.AddAlerts(ctx, big))
	if _, total, _ := s.ListAlerts(ctx, AlertQuery{}); total != 251 {
		t.Errorf("big batch: %d alerts, want 251", total)
	}

	time.Sleep(2 * time.Millisecond)
	mustNil(t, s.SetAlertState(ctx, "a1", AlertResolved))
	got2, err := s.GetAlert(ctx, "a1")
	mustNil(t, err)
	if got2.State != AlertResolved || !got2.UpdatedAt.After(got.UpdatedAt) || !got2.CreatedAt.Equal(got.CreatedAt) {
		t.Errorf("after SetAlertState: state=%s updated %v (was %v)", got2.State, got2.UpdatedAt, got.UpdatedAt)
	}
	mustNil(t, s.SetAlertState(ctx, "a1", AlertAttempted))
	mustIs(t, s.SetAlertState(ctx, "a1", "resolved"), ErrInvalid)
	mustIs(t, s.SetAlertState(ctx, "nope", AlertResolved), ErrNotFound)
}

// alertFixture stores a varied set of alerts: created one minute apart in
// index order (a00 oldest).
func alertFixture(t *testing.T, s *Store) (base time.Time, all []AlertRecord) {
	base = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sev := []string{"LOW_SEVERITY", "MEDIUM_SEVERITY", "HIGH_SEVERITY", "CRITICAL_SEVERITY"}
	for i := range 20 {
		a := alert(fmt.Sprintf("a%02d", i))
		a.Severity = sev[i%4]
		a.PolicyID = fmt.Sprintf("pol-%d", i%3)
		a.PolicyName = []string{"Latest tag", "Privileged 100%_root", "curl in image"}[i%3]
		a.Namespace = []string{"default", "kube-system"}[i%2]
		a.ClusterName = []string{"prod", "staging"}[(i/10)%2]
		a.DeploymentName = fmt.Sprintf("web-%d", i%5)
		a.LifecycleStage = []string{"DEPLOY", "RUNTIME"}[(i/2)%2]
		if i%7 == 0 {
			a.State = AlertResolved
		}
		a.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		all = append(all, a)
	}
	mustNil(t, s.AddAlerts(ctx, all))
	return base, all
}

func alertIDs(as []AlertRecord) string {
	var ids []string
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	return strings.Join(ids, ",")
}

// want computes the expected filter result from the fixture, newest first.
func want(all []AlertRecord, keep func(a AlertRecord) bool) (string, int) {
	var out []AlertRecord
	for i := len(all) - 1; i >= 0; i-- {
		if keep(all[i]) {
			out = append(out, all[i])
		}
	}
	return alertIDs(out), len(out)
}

func testAlertFilters(t *testing.T, s *Store) {
	base, all := alertFixture(t, s)
	for _, c := range []struct {
		name string
		q    AlertQuery
		keep func(a AlertRecord) bool
	}{
		{"none", AlertQuery{}, func(AlertRecord) bool { return true }},
		{"policy", AlertQuery{PolicyID: "pol-1"}, func(a AlertRecord) bool { return a.PolicyID == "pol-1" }},
		{"severity", AlertQuery{Severity: "HIGH_SEVERITY"}, func(a AlertRecord) bool { return a.Severity == "HIGH_SEVERITY" }},
		{"state", AlertQuery{State: AlertResolved}, func(a AlertRecord) bool { return a.State == AlertResolved }},
		{"cluster", AlertQuery{Cluster: "staging"}, func(a AlertRecord) bool { return a.ClusterName == "staging" }},
		{"namespace", AlertQuery{Namespace: "kube-system"}, func(a AlertRecord) bool { return a.Namespace == "kube-system" }},
		{"deployment name", AlertQuery{Deployment: "web-3"}, func(a AlertRecord) bool { return a.DeploymentName == "web-3" }},
		{"deployment id", AlertQuery{Deployment: "dep-a07"}, func(a AlertRecord) bool { return a.ID == "a07" }},
		{"stage", AlertQuery{Stage: "RUNTIME"}, func(a AlertRecord) bool { return a.LifecycleStage == "RUNTIME" }},
		{"since", AlertQuery{Since: base.Add(15 * time.Minute)}, func(a AlertRecord) bool { return !a.CreatedAt.Before(base.Add(15 * time.Minute)) }},
		{"text, any case", AlertQuery{Text: "CURL"}, func(a AlertRecord) bool { return a.PolicyName == "curl in image" }},
		{"text matches deployment", AlertQuery{Text: "eb-4"}, func(a AlertRecord) bool { return a.DeploymentName == "web-4" }},
		{"text matches namespace", AlertQuery{Text: "KUBE-"}, func(a AlertRecord) bool { return a.Namespace == "kube-system" }},
		{"text % is literal", AlertQuery{Text: "100%_"}, func(a AlertRecord) bool { return strings.Contains(a.PolicyName, "100%_") }},
		{"text _ is literal", AlertQuery{Text: "d_r"}, func(AlertRecord) bool { return false }},
		{"combined", AlertQuery{Cluster: "prod", Namespace: "default", Stage: "DEPLOY"}, func(a AlertRecord) bool {
			return a.ClusterName == "prod" && a.Namespace == "default" && a.LifecycleStage == "DEPLOY"
		}},
		{"no match", AlertQuery{Severity: "HIGH_SEVERITY", Namespace: "default"}, func(a AlertRecord) bool {
			return a.Severity == "HIGH_SEVERITY" && a.Namespace == "default"
		}},
	} {
		got, total, err := s.ListAlerts(ctx, c.q)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		wantIDs, wantTotal := want(all, c.keep)
		if alertIDs(got) != wantIDs || total != wantTotal {
			t.Errorf("%s: got %s (total %d), want %s (total %d)", c.name, alertIDs(got), total, wantIDs, wantTotal)
		}
	}
	_, _, err := s.ListAlerts(ctx, AlertQuery{Text: "a\x00"})
	mustIs(t, err, ErrInvalid)
}

func testAlertSortAndPages(t *testing.T, s *Store) {
	_, all := alertFixture(t, s)
	list := func(q AlertQuery) (string, int) {
		t.Helper()
		got, total, err := s.ListAlerts(ctx, q)
		mustNil(t, err)
		return alertIDs(got), total
	}
	newest, _ := want(all, func(AlertRecord) bool { return true })
	if got, _ := list(AlertQuery{Sort: "time"}); got != newest {
		t.Errorf("time: %s", got)
	}
	if got, _ := list(AlertQuery{}); got != newest {
		t.Errorf("default sort: %s", got)
	}
	oldest := make([]string, 20)
	for i := range oldest {
		oldest[i] = fmt.Sprintf("a%02d", i)
	}
	if got, _ := list(AlertQuery{Sort: "-time"}); got != strings.Join(oldest, ",") {
		t.Errorf("-time: %s", got)
	}
	// Severity i%4: CRITICAL are 3,7,11,15,19; ties newest first.
	if got, _ := list(AlertQuery{Sort: "severity", Limit: 6}); got != "a19,a15,a11,a07,a03,a18" {
		t.Errorf("severity: %s", got)
	}
	if got, _ := list(AlertQuery{Sort: "-severity", Limit: 6}); got != "a16,a12,a08,a04,a00,a17" {
		t.Errorf("-severity: %s", got)
	}
	// Byte order: "Latest tag" < "Privileged…" < "curl in image".
	if got, _ := list(AlertQuery{Sort: "policy", Limit: 8}); got != "a18,a15,a12,a09,a06,a03,a00,a19" {
		t.Errorf("policy: %s", got)
	}
	if got, _ := list(AlertQuery{Sort: "-policy", Limit: 3}); got != "a17,a14,a11" {
		t.Errorf("-policy: %s", got)
	}
	if got, _ := list(AlertQuery{Sort: "deployment", Limit: 5}); got != "a15,a10,a05,a00,a16" {
		t.Errorf("deployment: %s", got)
	}
	if got, _ := list(AlertQuery{Sort: "-deployment", Limit: 2}); got != "a19,a14" {
		t.Errorf("-deployment: %s", got)
	}

	// Pages cover the result exactly once, and total is the match count.
	var pages []string
	for off := 0; off < 20; off += 7 {
		got, total := list(AlertQuery{Sort: "-time", Offset: off, Limit: 7})
		if total != 20 {
			t.Errorf("page at %d: total %d, want 20", off, total)
		}
		pages = append(pages, got)
	}
	if strings.Join(pages, ",") != strings.Join(oldest, ",") {
		t.Errorf("pages: %v", pages)
	}
	if got, total := list(AlertQuery{Namespace: "default", Offset: 8, Limit: 5}); got != "a02,a00" || total != 10 {
		t.Errorf("last filtered page: %s total %d", got, total)
	}
	if got, total := list(AlertQuery{Offset: 50, Limit: 5}); got != "" || total != 20 {
		t.Errorf("past the end: %s total %d", got, total)
	}
	if got, _ := list(AlertQuery{Offset: 18}); got != "a01,a00" {
		t.Errorf("offset without limit: %s", got)
	}
	_, _, err := s.ListAlerts(ctx, AlertQuery{Sort: "name"})
	mustIs(t, err, ErrInvalid)
	_, _, err = s.ListAlerts(ctx, AlertQuery{Offset: -1})
	mustIs(t, err, ErrInvalid)
}

func testAlertCounts(t *testing.T, s *Store) {
	_, all := alertFixture(t, s)
	mustNil(t, s.SetAlertState(ctx, "a01", AlertAttempted))
	for field, key := range map[string]func(a AlertRecord) string{
		"severity":  func(a AlertRecord) string { return a.Severity },
		"namespace": func(a AlertRecord) string { return a.Namespace },
		"policy":    func(a AlertRecord) string { return a.PolicyName },
		"state": func(a AlertRecord) string {
			if a.ID == "a01" {
				return AlertAttempted
			}
			if a.State == "" {
				return AlertActive
			}
			return a.State
		},
	} {
		wantCounts := map[string]int{}
		for _, a := range all {
			wantCounts[key(a)]++
		}
		got, err := s.CountAlertsBy(ctx, field)
		mustNil(t, err)
		if fmt.Sprint(got) != fmt.Sprint(wantCounts) {
			t.Errorf("CountAlertsBy(%s) = %v, want %v", field, got, wantCounts)
		}
	}
	_, err := s.CountAlertsBy(ctx, "severity; DROP TABLE alerts")
	mustIs(t, err, ErrInvalid)
}

func testTokens(t *testing.T, s *Store) {
	created := time.Date(2025, 2, 3, 4, 5, 6, 7, time.UTC)
	tok := TokenRecord{ID: "tok1", Name: "ci", Role: "Continuous Integration", SecretHash: []byte{0, 1, 2, 0xff}, CreatedAt: created}
	mustNil(t, s.CreateToken(ctx, tok))
	mustIs(t, s.CreateToken(ctx, tok), ErrConflict)
	mustIs(t, s.CreateToken(ctx, TokenRecord{ID: "tok9", Role: "Admin"}), ErrInvalid)
	got, err := s.GetToken(ctx, "tok1")
	mustNil(t, err)
	if got.Name != "ci" || got.Role != tok.Role || !bytes.Equal(got.SecretHash, tok.SecretHash) ||
		!got.CreatedAt.Equal(created) || got.ExpiresAt != nil || got.RevokedAt != nil || got.LastUsedAt != nil {
		t.Errorf("GetToken = %+v", got)
	}
	_, err = s.GetToken(ctx, "nope")
	mustIs(t, err, ErrNotFound)

	exp := created.Add(90 * 24 * time.Hour)
	mustNil(t, s.CreateToken(ctx, TokenRecord{ID: "tok0", Name: "older", Role: "Admin", SecretHash: []byte{9}, CreatedAt: created.Add(-time.Hour), ExpiresAt: &exp}))
	list, err := s.ListTokens(ctx)
	mustNil(t, err)
	if len(list) != 2 || list[0].ID != "tok0" || list[1].ID != "tok1" || list[0].ExpiresAt == nil || !list[0].ExpiresAt.Equal(exp) {
		t.Errorf("ListTokens = %+v", list)
	}

	revoked := created.Add(time.Hour)
	mustNil(t, s.RevokeToken(ctx, "tok1", revoked))
	mustNil(t, s.RevokeToken(ctx, "tok1", revoked.Add(time.Hour))) // the first revocation stands
	got, _ = s.GetToken(ctx, "tok1")
	if got.RevokedAt == nil || !got.RevokedAt.Equal(revoked) {
		t.Errorf("RevokedAt = %v, want %v", got.RevokedAt, revoked)
	}
	mustIs(t, s.RevokeToken(ctx, "nope", revoked), ErrNotFound)

	used := created.Add(2 * time.Hour)
	mustNil(t, s.TouchToken(ctx, "tok0", used))
	mustNil(t, s.TouchToken(ctx, "tok0", used.Add(10*time.Second))) // within the resolution: no write
	got, _ = s.GetToken(ctx, "tok0")
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) {
		t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, used)
	}
	mustNil(t, s.TouchToken(ctx, "tok0", used.Add(time.Minute)))
	mustNil(t, s.TouchToken(ctx, "tok0", used.Add(-time.Hour))) // never backwards
	got, _ = s.GetToken(ctx, "tok0")
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(used.Add(time.Minute)) {
		t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, used.Add(time.Minute))
	}
	mustIs(t, s.TouchToken(ctx, "nope", used), ErrNotFound)
}

func testSettings(t *testing.T, s *Store) {
	v, ok, err := s.GetSetting(ctx, "retention.days")
	mustNil(t, err)
	if ok || v != "" {
		t.Errorf("missing setting: %q, %v", v, ok)
	}
	mustNil(t, s.SetSetting(ctx, "retention.days", "30"))
	mustNil(t, s.SetSetting(ctx, "empty", ""))
	mustNil(t, s.SetSetting(ctx, "retention.days", "7"))
	v, ok, err = s.GetSetting(ctx, "retention.days")
	mustNil(t, err)
	if !ok || v != "7" {
		t.Errorf("GetSetting = %q, %v; want 7, true", v, ok)
	}
	v, ok, _ = s.GetSetting(ctx, "empty")
	if !ok || v != "" {
		t.Errorf("empty setting: %q, %v", v, ok)
	}
	mustIs(t, s.SetSetting(ctx, "", "x"), ErrInvalid)
	mustIs(t, s.SetSetting(ctx, "big", strings.Repeat("x", maxTextLen+1)), ErrInvalid)
	mustNil(t, s.SetSetting(ctx, "big", strings.Repeat("é", maxTextLen/2)))

	mustNil(t, s.DeleteSetting(ctx, "retention.days"))
	mustNil(t, s.DeleteSetting(ctx, "retention.days"))
	if _, ok, _ := s.GetSetting(ctx, "retention.days"); ok {
		t.Error("deleted setting still there")
	}
}

func testInTx(t *testing.T, s *Store) {
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx *Tx) error {
		mustNil(t, tx.CreatePolicy(ctx, policy("p1", "One")))
		mustNil(t, tx.AddAlerts(ctx, []AlertRecord{alert("a1")}))
		mustNil(t, tx.SetSetting(ctx, "k", "v"))
		// Reads inside the transaction see its writes.
		if _, err := tx.GetPolicy(ctx, "p1"); err != nil {
			t.Errorf("GetPolicy in tx: %v", err)
		}
		return fmt.Errorf("after writes: %w", boom)
	})
	mustIs(t, err, boom)
	if _, err := s.GetPolicy(ctx, "p1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("policy survived rollback: %v", err)
	}
	if _, err := s.GetAlert(ctx, "a1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("alert survived rollback: %v", err)
	}
	if _, ok, _ := s.GetSetting(ctx, "k"); ok {
		t.Error("setting survived rollback")
	}

	// A panic rolls back too, and the store stays usable.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed")
			}
		}()
		_ = s.InTx(ctx, func(tx *Tx) error {
			mustNil(t, tx.SetSetting(ctx, "k", "panic"))
			panic("inside fn")
		})
	}()
	if _, ok, _ := s.GetSetting(ctx, "k"); ok {
		t.Error("setting survived panic")
	}

	// Commit: an alert and a row of a domain's own table, atomically.
	err = s.InTx(ctx, func(tx *Tx) error {
		if err := tx.AddAlerts(ctx, []AlertRecord{alert("a2")}); err != nil {
			return err
		}
		if err := tx.SetAlertState(ctx, "a2", AlertResolved); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE alerts SET namespace = ? WHERE id = ?`, "outbox-ns", "a2")
		return err
	})
	mustNil(t, err)
	a, err := s.GetAlert(ctx, "a2")
	mustNil(t, err)
	if a.State != AlertResolved || a.Namespace != "outbox-ns" {
		t.Errorf("committed alert = %+v", a)
	}
	var n int
	err = s.InTx(ctx, func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM alerts WHERE id = ? OR id = ?`, "a1", "a2").Scan(&n)
	})
	mustNil(t, err)
	if n != 1 {
		t.Errorf("count in tx = %d, want 1", n)
	}

	// A cancelled context ends the transaction, not the process.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.InTx(cctx, func(tx *Tx) error { return nil }); err == nil {
		t.Error("InTx with a cancelled context succeeded")
	}
}

func testConcurrentWriters(t *testing.T, s *Store) {
	const writers, batches, perBatch = 8, 15, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches+writers)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				batch := make([]AlertRecord, perBatch)
				for i := range batch {
					batch[i] = alert(fmt.Sprintf("w%d-b%d-%d", w, b, i))
				}
				if err := s.AddAlerts(ctx, batch); err != nil {
					errs <- fmt.Errorf("writer %d batch %d: %w", w, b, err)
				}
				// Reads and single-row writes interleave with the batches.
				if _, _, err := s.ListAlerts(ctx, AlertQuery{Limit: 5}); err != nil {
					errs <- fmt.Errorf("writer %d list: %w", w, err)
				}
				if err := s.SetSetting(ctx, fmt.Sprintf("writer-%d", w), fmt.Sprint(b)); err != nil {
					errs <- fmt.Errorf("writer %d setting: %w", w, err)
				}
				// Read-then-write transactions are the ones SQLite cannot
				// upgrade under contention without BEGIN IMMEDIATE.
				id := fmt.Sprintf("w%d-p%d", w, b)
				if err := s.CreatePolicy(ctx, policy(id, id)); err != nil {
					errs <- fmt.Errorf("writer %d policy: %w", w, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	_, total, err := s.ListAlerts(ctx, AlertQuery{Limit: 1})
	mustNil(t, err)
	if total != writers*batches*perBatch {
		t.Errorf("stored %d alerts, want %d", total, writers*batches*perBatch)
	}
	if n, err := s.CountPolicies(ctx); err != nil || n != writers*batches {
		t.Errorf("stored %d policies (%v), want %d", n, err, writers*batches)
	}
}

func testMigrationsIdempotent(t *testing.T, b backend) {
	dsn, dir := b.fresh(t)
	s1, err := Open(ctx, dsn, dir, testLogger(t))
	mustNil(t, err)
	mustNil(t, s1.CreatePolicy(ctx, policy("p1", "Survives reopen")))
	mustNil(t, s1.Close())

	s2 := openStore(t, dsn, dir)
	if _, err := s2.GetPolicy(ctx, "p1"); err != nil {
		t.Errorf("after reopen: %v", err)
	}
	ms, err := loadMigrations(migrationFiles)
	mustNil(t, err)
	var count, maxV int
	mustNil(t, s2.direct().queryRow(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&count, &maxV))
	if count != len(ms) || maxV != ms[len(ms)-1].version {
		t.Errorf("schema_migrations: %d rows up to %d, want %d up to %d", count, maxV, len(ms), ms[len(ms)-1].version)
	}

	// Two stores opening the same database at once both succeed.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			s, err := Open(ctx, dsn, dir, testLogger(t))
			if err != nil {
				t.Errorf("concurrent open: %v", err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
}

func testNewerSchemaRefused(t *testing.T, b backend) {
	dsn, dir := b.fresh(t)
	s := openStore(t, dsn, dir)
	_, err := s.direct().exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, 9999, "from_the_future", 0)
	mustNil(t, err)
	_, err = Open(ctx, dsn, dir, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "schema version 9999 is newer than this binary supports") {
		t.Fatalf("Open of a newer schema: err = %v", err)
	}
}

func TestLoadMigrations(t *testing.T) {
	ms, err := loadMigrations(migrationFiles)
	mustNil(t, err)
	if len(ms) == 0 || ms[0].version != 1 || ms[0].name != "initial" {
		t.Fatalf("embedded migrations = %+v", ms)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":       {"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}},
		"duplicate": {"migrations/0001_a.sql": {}, "migrations/001_b.sql": {}},
		"bad name":  {"migrations/first.sql": {}},
		"zero":      {"migrations/0000_a.sql": {}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	ms, err = loadMigrations(fstest.MapFS{
		"migrations/0002_b.sql": {Data: []byte("B")}, "migrations/0001_a.sql": {Data: []byte("A")},
		"migrations/README.md": {},
	})
	mustNil(t, err)
	if len(ms) != 2 || ms[0].sql != "A" || ms[1].name != "b" {
		t.Errorf("ordered migrations = %+v", ms)
	}
}

func TestSQLiteFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := openStore(t, "", dir)
	mustNil(t, s.SetSetting(ctx, "k", "v")) // creates the WAL
	for _, name := range []string{SQLiteFile, SQLiteFile + "-wal"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		mustNil(t, err)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	for pragma, wantVal := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000"} {
		var v string
		mustNil(t, s.db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&v))
		if v != wantVal {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, v, wantVal)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(ctx, "mysql://root:hunter2@db/x", "", nil)
	mustIs(t, err, ErrInvalid)
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error leaks the password: %v", err)
	}
	_, err = Open(ctx, "", "", nil)
	mustIs(t, err, ErrInvalid)
	// A data directory that is a file.
	f := filepath.Join(t.TempDir(), "file")
	mustNil(t, os.WriteFile(f, nil, 0o600))
	if _, err := Open(ctx, "", f, nil); err == nil {
		t.Error("Open with a file as data dir succeeded")
	}
	// Unreachable PostgreSQL fails at Open with the address, not the password.
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = Open(cctx, "postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", "", nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "127.0.0.1:1/db") {
		t.Errorf("unreachable postgres: %v", err)
	}
}

func TestRebind(t *testing.T) {
	pg, lite := postgresDialect(), sqliteDialect()
	q := `SELECT a FROM t WHERE b = ? AND c IN (?, ?)`
	if got := pg.rebind(q); got != `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)` {
		t.Errorf("postgres: %s", got)
	}
	if got := lite.rebind(q); got != q {
		t.Errorf("sqlite: %s", got)
	}
}

// BenchmarkAddAlerts stores batches of 100 alerts.
func BenchmarkAddAlerts(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			dsn, dir := be.fresh(b)
			s := openStore(b, dsn, dir)
			doc := bytes.Repeat([]byte(" "), 1500)
			doc[0], doc[len(doc)-1] = '{', '}'
			b.ResetTimer()
			for n := 0; b.Loop(); n++ {
				batch := make([]AlertRecord, 100)
				for i := range batch {
					a := alert(fmt.Sprintf("b%d-%d", n, i))
					a.JSON = doc
					batch[i] = a
				}
				if err := s.AddAlerts(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}
