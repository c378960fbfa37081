package central

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/stockade-dev/stockade/internal/pgtest"
	"github.com/stockade-dev/stockade/internal/policy"
)

// TestPostgresStore runs Central's main paths on PostgreSQL: bootstrap,
// restart, import, detection with recording, alerts and tokens.
func TestPostgresStore(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	dir := t.TempDir()
	c := start(t, dir, withDSN(dsn))
	admin := c.admin()
	var ready map[string]string
	c.must(http.StatusOK, cred{}, "GET", "/readyz", nil).json(t, &ready)
	if ready["store"] != "postgres" {
		t.Fatalf("readyz = %v, want the postgres store", ready)
	}
	if _, err := os.Stat(dir + "/stockade.db"); !os.IsNotExist(err) {
		t.Error("an SQLite database was created although --db was given")
	}
	builtin := len(exportAll(t, c))

	// All StackRox policies in one import.
	var all []*policy.Policy
	for _, f := range stackroxFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := policy.Parse(f, data)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ps...)
	}
	doc, err := policy.Export(all)
	if err != nil {
		t.Fatal(err)
	}
	var res importResult
	c.must(http.StatusOK, admin, "POST", "/v1/policies/import", doc).json(t, &res)
	if !res.AllSucceeded {
		t.Fatalf("import on postgres failed: %+v", res)
	}
	if n := len(exportAll(t, c)); n != builtin+89 {
		t.Fatalf("%d policies after import, want %d", n, builtin+89)
	}
	c.must(http.StatusConflict, admin, "POST", "/v1/policies", samplePolicy(all[0].Name))

	c.must(http.StatusOK, admin, "POST", "/v1/detect/deploy/yaml", yamlRequest(privilegedPod, true))
	var alerts alertList
	c.must(http.StatusOK, admin, "GET", "/v1/alerts?namespace=prod&severity=CRITICAL", nil).json(t, &alerts)
	if alerts.Total == 0 {
		t.Fatal("no critical alert recorded on postgres")
	}
	_, tok := c.token("pg analyst", "Analyst", nil)
	c.must(http.StatusOK, bearer(tok), "GET", "/v1/alerts", nil)
	password := c.password
	c.stop()

	// A second Central on the same database keeps its state and password.
	c2 := start(t, t.TempDir(), withDSN(dsn))
	if c2.password != "" {
		t.Error("a second start on an initialized database wrote a new password file")
	}
	c2.must(http.StatusOK, cred{user: "admin", password: password}, "GET", "/v1/auth/status", nil)
	c2.must(http.StatusOK, bearer(tok), "GET", "/v1/auth/status", nil)
	var list struct{ Policies []json.RawMessage }
	c2.must(http.StatusOK, cred{user: "admin", password: password}, "GET", "/v1/policies", nil).json(t, &list)
	if len(list.Policies) != builtin+89 {
		t.Errorf("second Central sees %d policies, want %d", len(list.Policies), builtin+89)
	}
}
