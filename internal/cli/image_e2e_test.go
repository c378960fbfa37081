package cli

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/registrytest"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
)

// addIntegration stores an image integration in Central through its API
// (the CLI has no command for integrations), as an admin.
func addIntegration(t *testing.T, env map[string]string, integration map[string]any) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(mustRead(t, env["caFile"])) {
		t.Fatal("Central's CA file holds no certificate")
	}
	body, err := json.Marshal(integration)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://"+env["STOCKADE_ENDPOINT"]+"/v1/imageintegrations", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", env["STOCKADE_ADMIN_PASSWORD"])
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		t.Fatalf("create image integration: %d %s", resp.StatusCode, b.String())
	}
}

func TestImageCommandsThroughCentral(t *testing.T) {
	env := startCentral(t)
	ca := env["caFile"]
	reg := registrytest.Start(t, registrytest.WithHtpasswd())
	ref := reg.Push(t, "team/app:1", bookwormImage(t, nil))

	// The feeds go to Central's database, one file per request.
	r := run(t, env, "", append([]string{"vulndb", "import", "--ca", ca, "-o", "json"}, feedFiles(t)...)...)
	var res vulndb.ImportResult
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &res) != nil {
		t.Fatalf("vulndb import through Central: %s", r)
	}
	if res.Source("osv").Read() != 4291 || res.Source("debian").Read() == 0 || res.Source("alpine").Read() == 0 {
		t.Errorf("import result %+v", res)
	}
	r = run(t, env, "", "vulndb", "status", "--ca", ca, "-o", "json")
	var st vulndb.Status
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil || st.Ecosystems["Go"] < 4000 || st.Ecosystems["Debian"] == 0 {
		t.Fatalf("vulndb status through Central: %s", r)
	}
	r = run(t, env, "", "vulndb", "import", "--ca", ca, t.TempDir())
	if r.code != 2 || !strings.Contains(r.stderr, "is a directory") {
		t.Errorf("directory sent to Central: %s", r)
	}

	// Without an integration Central cannot log in to the registry.
	r = run(t, env, "", "image", "scan", "--ca", ca, "--image", ref)
	if r.code != 3 {
		t.Errorf("scan without registry credentials in Central: %s", r)
	}
	addIntegration(t, env, map[string]any{
		"name": "test registry", "type": "docker", "endpoint": reg.Host, "insecure": true,
		"username": reg.Username, "password": reg.Password,
	})

	r = run(t, env, "", "image", "scan", "--ca", ca, "--image", ref, "-o", "json")
	if r.code != 0 {
		t.Fatalf("scan through Central: %s", r)
	}
	img := decodeScan(t, r.stdout)
	ids := vulnIDs(img)
	if img.OS == nil || img.OS.ID != "debian" || len(img.Components) != 88 ||
		!slices.Contains(ids["apt"], "CVE-2026-109518") || !slices.Contains(ids["perl-base"], "CVE-2026-7010") {
		t.Errorf("Central's scan: OS %+v, %d components, findings %v", img.OS, len(img.Components), ids)
	}
	r = run(t, env, "", "image", "scan", "--ca", ca, "--image", ref, "--severity", "IMPORTANT", "--fail")
	if r.code != 1 || !strings.Contains(r.stdout, "CVE-2026-7010") || strings.Contains(r.stdout, "CVE-2026-109518") {
		t.Errorf("scan --fail through Central: %s", r)
	}

	// Central's built-in policies report the image without failing it; an
	// imported FAIL_BUILD policy fails it.
	r = run(t, env, "", "image", "check", "--ca", ca, "--image", ref, "-o", "json")
	if r.code != 0 {
		t.Fatalf("check against Central's built-in policies: %s", r)
	}
	if rep := decodeReport(t, r.stdout); len(rep.Results) != 1 || rep.Results[0].Metadata.AdditionalInfo.Type != "Image" {
		t.Errorf("report %+v", rep)
	}
	policyFile := writeFile(t, t.TempDir(), "fail.yaml", failBuildPolicy)
	if r := run(t, env, "", "policy", "import", "--ca", ca, policyFile); r.code != 0 {
		t.Fatalf("import a FAIL_BUILD policy: %s", r)
	}
	r = run(t, env, "", "image", "check", "--ca", ca, "--image", ref, "-o", "json", "-c", "Vulnerability Management")
	if r.code != 1 || !strings.Contains(r.stderr, "No vulnerable apt") {
		t.Fatalf("check against a FAIL_BUILD policy through Central: %s", r)
	}
	rep := decodeReport(t, r.stdout)
	failing := false
	for _, vp := range rep.Results[0].ViolatedPolicies {
		failing = failing || (vp.Name == "No vulnerable apt" && vp.FailingCheck)
	}
	if !failing {
		t.Errorf("the FAIL_BUILD policy is not a failing check: %+v", rep.Results[0].ViolatedPolicies)
	}

	r = run(t, env, "", "image", "sbom", "--ca", ca, "--image", ref, "-o", "spdx")
	if r.code != 0 || !strings.Contains(r.stdout, `"spdxVersion": "SPDX-2.3"`) || !strings.Contains(r.stdout, "pkg:deb/debian/apt@2.6.1") {
		t.Errorf("sbom through Central: %s", r)
	}
}
