package central

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/central/integrationapi"
	"github.com/stockade-dev/stockade/internal/central/secret"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/pgtest"
	"github.com/stockade-dev/stockade/internal/registrytest"
)

// rawIntegration reads the stored document of an integration straight
// from the database.
func rawIntegration(t *testing.T, c *central, id string) []byte {
	t.Helper()
	var body []byte
	err := c.srv.store.InTx(context.Background(), func(tx *store.Tx) error {
		return tx.QueryRowContext(context.Background(), `SELECT body FROM image_integrations WHERE id = ?`, id).Scan(&body)
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// dataDirHolds reports whether any file of the data directory (the SQLite
// database and its WAL included) contains s.
func dataDirHolds(t *testing.T, dir, s string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(s)) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestImageIntegrations(t *testing.T) {
	for _, b := range []struct {
		name string
		opts func(t *testing.T) []startOpt
	}{
		{"sqlite", func(*testing.T) []startOpt { return nil }},
		{"postgres", func(t *testing.T) []startOpt { return []startOpt{withDSN(pgtest.NewDatabase(t))} }},
	} {
		t.Run(b.name, func(t *testing.T) { testImageIntegrations(t, b.opts(t)...) })
	}
}

func testImageIntegrations(t *testing.T, opts ...startOpt) {
	reg := registrytest.Start(t, registrytest.WithHtpasswd())
	reg.Push(t, "private/app:1", alpineImage(t, nil))
	dir := t.TempDir()
	c := start(t, dir, opts...)
	admin := c.admin()
	ref := reg.Host + "/private/app:1"
	password := reg.Password
	if len(password) < 8 {
		t.Fatalf("registry password %q too short to search for", password)
	}

	// Without credentials the registry refuses Central, and says so.
	integrationID := c.insecureIntegration("anonymous", reg.Host, "", "")
	r := c.must(http.StatusBadGateway, admin, "POST", "/v1/images/scan", map[string]any{"imageName": ref})
	if !strings.Contains(string(r.body), "requires credentials") {
		t.Errorf("anonymous scan: %s", r.body)
	}
	c.must(http.StatusNoContent, admin, "DELETE", "/v1/imageintegrations/"+integrationID, nil)

	// Test before saving: the right password logs in, a wrong one and an
	// unreachable registry are refused in plain words.
	in := map[string]any{"name": "private registry", "type": "docker", "endpoint": reg.Host, "insecure": true,
		"username": reg.Username, "password": password}
	var ok integrationapi.TestResult
	c.must(http.StatusOK, admin, "POST", "/v1/imageintegrations/test", in).json(t, &ok)
	if !ok.OK || strings.Contains(ok.Message, password) {
		t.Errorf("test result = %+v", ok)
	}
	bad := map[string]any{"name": "private registry", "type": "docker", "endpoint": reg.Host, "insecure": true,
		"username": reg.Username, "password": "wrong-password"}
	r = c.must(http.StatusBadRequest, admin, "POST", "/v1/imageintegrations/test", bad)
	var eb errorBody
	r.json(t, &eb)
	if !strings.Contains(eb.Error, "rejected the credentials") || !strings.Contains(eb.Error, reg.Host) || strings.Contains(eb.Error, "wrong-password") {
		t.Errorf("bad password: %s", eb.Error)
	}
	unreachable := map[string]any{"name": "gone", "type": "docker", "endpoint": "127.0.0.1:1", "insecure": true}
	r = c.must(http.StatusBadRequest, admin, "POST", "/v1/imageintegrations/test", unreachable)
	if !strings.Contains(string(r.body), "not reachable") {
		t.Errorf("unreachable: %s", r.body)
	}

	// Create: the answer, the list and a read all mask the password.
	var created integrationapi.ImageIntegration
	c.must(http.StatusOK, admin, "POST", "/v1/imageintegrations", in).json(t, &created)
	if created.ID == "" || created.Password != "******" || created.Username != reg.Username || created.Categories[0] != "REGISTRY" || created.CreatedAt.IsZero() {
		t.Fatalf("created = %+v", created)
	}
	for _, path := range []string{"/v1/imageintegrations", "/v1/imageintegrations/" + created.ID} {
		r := c.must(http.StatusOK, admin, "GET", path, nil)
		if strings.Contains(string(r.body), password) || !strings.Contains(string(r.body), `"password":"******"`) {
			t.Errorf("GET %s shows the secret or no mask: %s", path, r.body)
		}
	}
	c.must(http.StatusConflict, admin, "POST", "/v1/imageintegrations", in)

	// Encrypted at rest: the stored document holds a v1 ciphertext, and no
	// file of the data directory holds the password.
	raw := rawIntegration(t, c, created.ID)
	if bytes.Contains(raw, []byte(password)) || !bytes.Contains(raw, []byte(`"password":"`+secret.Prefix)) {
		t.Errorf("stored document: %s", raw)
	}
	if found := dataDirHolds(t, dir, password); len(found) > 0 {
		t.Errorf("the password is in %v", found)
	}

	// Scans use the stored credentials at once.
	img := c.scan(admin, ref, false)
	if len(img.Components) == 0 {
		t.Fatal("scan through the integration found no components")
	}

	// An update sending the mask keeps the password: the stored
	// integration still logs in.
	upd := map[string]any{"name": "private registry (renamed)", "type": "docker", "endpoint": reg.Host, "insecure": true,
		"username": reg.Username, "password": "******"}
	var updated integrationapi.ImageIntegration
	c.must(http.StatusOK, admin, "PUT", "/v1/imageintegrations/"+created.ID, upd).json(t, &updated)
	if updated.Name != "private registry (renamed)" || updated.Password != "******" || !updated.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("updated = %+v", updated)
	}
	upd["id"] = created.ID
	c.must(http.StatusOK, admin, "POST", "/v1/imageintegrations/test", upd)
	c.scan(admin, ref, true)
	if after := rawIntegration(t, c, created.ID); bytes.Contains(after, []byte(password)) || !bytes.Contains(after, []byte(`"password":"`+secret.Prefix)) {
		t.Errorf("stored document after the update: %s", after)
	}

	// The mask on a new integration has no stored secret to stand for.
	masked := map[string]any{"name": "masked", "type": "docker", "endpoint": "r.example.com", "username": "u", "password": "******"}
	r = c.must(http.StatusBadRequest, admin, "POST", "/v1/imageintegrations", masked)
	if !strings.Contains(string(r.body), "password") {
		t.Errorf("masked create: %s", r.body)
	}
	c.must(http.StatusBadRequest, admin, "POST", "/v1/imageintegrations", map[string]any{"name": "x", "type": "floppy"})
	c.must(http.StatusBadRequest, admin, "POST", "/v1/imageintegrations", map[string]any{"name": "x", "type": "docker", "endpoint": "r.example.com", "color": "red"})
	c.must(http.StatusBadRequest, admin, "PUT", "/v1/imageintegrations/"+created.ID, map[string]any{"id": "other", "name": "x", "type": "docker", "endpoint": "r.example.com"})
	c.must(http.StatusNotFound, admin, "PUT", "/v1/imageintegrations/nope", map[string]any{"name": "x", "type": "docker", "endpoint": "r.example.com"})

	// A wrong password replaces the right one: scans are refused again.
	upd["password"] = "wrong-password"
	c.must(http.StatusOK, admin, "PUT", "/v1/imageintegrations/"+created.ID, upd)
	r = c.must(http.StatusBadGateway, admin, "POST", "/v1/images/scan", map[string]any{"imageName": ref, "force": true})
	if !strings.Contains(string(r.body), "rejected the credentials") {
		t.Errorf("scan with the wrong password: %s", r.body)
	}

	// Roles: Analyst reads, CI does not even read; only Admin writes.
	_, analyst := c.token("analyst", "Analyst", nil)
	_, ci := c.token("ci", "Continuous Integration", nil)
	c.must(http.StatusOK, bearer(analyst), "GET", "/v1/imageintegrations", nil)
	c.must(http.StatusForbidden, bearer(analyst), "POST", "/v1/imageintegrations", in)
	c.must(http.StatusForbidden, bearer(analyst), "POST", "/v1/imageintegrations/test", in)
	c.must(http.StatusForbidden, bearer(ci), "GET", "/v1/imageintegrations", nil)

	c.must(http.StatusNoContent, admin, "DELETE", "/v1/imageintegrations/"+created.ID, nil)
	c.must(http.StatusNotFound, admin, "GET", "/v1/imageintegrations/"+created.ID, nil)
	c.must(http.StatusBadGateway, admin, "POST", "/v1/images/scan", map[string]any{"imageName": ref, "force": true})

	for _, secret := range []string{password, "wrong-password"} {
		if strings.Contains(c.logs.String(), secret) {
			t.Errorf("the logs contain the password %q", secret)
		}
	}
}

// TestSecretKeyFromEnvironment: a key named by STOCKADE_SECRET_KEY_FILE
// (Config.SecretKeyFile) is used instead of the data directory's, must
// exist, and a Central with another key cannot read the stored secrets —
// it says so and leaves the integration out of scanning.
func TestSecretKeyFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "mounted.key")
	if _, err := New(context.Background(), Config{DataDir: dir, Listen: "127.0.0.1:0", LogLevel: "info", LogFormat: "text", SecretKeyFile: keyFile},
		discardLog(), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), keyFile) {
		t.Fatalf("missing key file: %v", err)
	}
	if err := os.WriteFile(keyFile, bytes.Repeat([]byte{7}, secret.KeySize), 0o600); err != nil {
		t.Fatal(err)
	}
	withKey := func(c *Config) { c.SecretKeyFile = keyFile }
	c := start(t, dir, withKey)
	id := c.insecureIntegration("with password", "r.example.com", "user", "s3cret-pass")
	if _, err := os.Stat(filepath.Join(dir, secret.KeyFile)); !os.IsNotExist(err) {
		t.Error("a key was created in the data directory although one was configured")
	}
	c.stop()

	// Restarted with the data directory's own key: the secret cannot be
	// opened; reads still work, masked.
	c2 := start(t, dir)
	var got integrationapi.ImageIntegration
	c2.must(http.StatusOK, cred{user: "admin", password: c.password}, "GET", "/v1/imageintegrations/"+id, nil).json(t, &got)
	if got.Password != "******" {
		t.Errorf("read with another key = %+v", got)
	}
	if logs := c2.logs.String(); !strings.Contains(logs, "image integration left out of scanning") || !strings.Contains(logs, "authentication failed") ||
		strings.Contains(logs, "s3cret-pass") {
		t.Errorf("logs do not explain the undecryptable integration:\n%s", logs)
	}
}
