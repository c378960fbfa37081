package central

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/pgtest"
	"github.com/stockade-dev/stockade/internal/registrytest"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
	"github.com/stockade-dev/stockade/internal/shareddata"
)

func TestVulnDBImportAndStatus(t *testing.T) {
	dir := t.TempDir()
	c := start(t, dir, func(cfg *Config) { cfg.MaxVulnDBImport = 64 << 20 })
	admin := c.admin()
	status := func() vulndb.Status {
		t.Helper()
		var st vulndb.Status
		c.must(http.StatusOK, admin, "GET", "/v1/vulndb/status", nil).json(t, &st)
		return st
	}
	if st := status(); st.Records != 0 || !st.LastImport.IsZero() {
		t.Fatalf("fresh status = %+v", st)
	}

	// The whole Go vulnerability database, as JSON Lines.
	goDB := shareddata.Path(t, "vulns", "osv-go", "go-vulndb-osv.jsonl")
	res := c.importFeed(goDB)
	if len(res.Sources) != 1 || res.Sources[0].Source != "osv" || res.Sources[0].Added < 4000 {
		t.Fatalf("import = %+v", res)
	}
	st := status()
	if st.Records != res.Sources[0].Added+res.Sources[0].Withdrawn || st.LastImport.IsZero() || st.Ecosystems["Go"] == 0 {
		t.Errorf("status after import = records %d, last import %v, ecosystems %v", st.Records, st.LastImport, st.Ecosystems)
	}
	if _, err := os.Stat(filepath.Join(dir, vulndb.FileName)); err != nil {
		t.Errorf("the database is not in the data directory: %v", err)
	}

	// A bad line: 400 naming the file and the line, and nothing imported
	// (the first, good line included).
	lines := strings.SplitN(string(mustRead(t, goDB)), "\n", 3)
	badFeed := strings.Replace(lines[0], `"id":"GO-`, `"id":"GO-TEST-`, 1) + "\n" + `{"id": "GO-BROKEN", "modified": ` + "\n"
	r := c.must(http.StatusBadRequest, admin, "POST", "/v1/vulndb/import?name=broken.jsonl", []byte(badFeed))
	var eb errorBody
	r.json(t, &eb)
	if !strings.Contains(eb.Error, "broken.jsonl") || !strings.Contains(eb.Error, "line 2") || strings.Contains(eb.Error, dir) {
		t.Errorf("bad feed error = %q", eb.Error)
	}
	if after := status(); after.Records != st.Records {
		t.Errorf("a failed import changed the record count %d → %d", st.Records, after.Records)
	}
	c.must(http.StatusBadRequest, admin, "POST", "/v1/vulndb/import?name=notes.txt", []byte("not a feed at all\n"))
	c.must(http.StatusBadRequest, admin, "POST", "/v1/vulndb/import", []byte{})

	// Roles: every role reads the status; only Admin imports.
	_, ci := c.token("ci", "Continuous Integration", nil)
	_, analyst := c.token("analyst", "Analyst", nil)
	c.must(http.StatusOK, bearer(ci), "GET", "/v1/vulndb/status", nil)
	c.must(http.StatusOK, bearer(analyst), "GET", "/v1/vulndb/status", nil)
	c.must(http.StatusForbidden, bearer(analyst), "POST", "/v1/vulndb/import?name=x.json", []byte("{}"))

	// No spooled upload is left behind.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".vulndb-import-") {
			t.Errorf("upload left in the data directory: %s", e.Name())
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// onlyReader hides a reader's length so the client streams it chunked.
type onlyReader struct{ io.Reader }

func TestVulnDBImportTooLarge(t *testing.T) {
	const limit = 64 << 10
	c := start(t, t.TempDir(), func(cfg *Config) { cfg.MaxVulnDBImport = limit })
	big := bytes.Repeat([]byte("x"), limit+1)
	// Refused by its declared length, and when streamed without one.
	c.must(http.StatusRequestEntityTooLarge, c.admin(), "POST", "/v1/vulndb/import?name=big.jsonl", big)
	r := c.must(http.StatusRequestEntityTooLarge, c.admin(), "POST", "/v1/vulndb/import?name=big.jsonl", onlyReader{bytes.NewReader(big)})
	if !strings.Contains(string(r.body), "65536") {
		t.Errorf("413 body = %s", r.body)
	}
	// At the limit it is read (and refused as no feed).
	c.must(http.StatusBadRequest, c.admin(), "POST", "/v1/vulndb/import?name=big.jsonl", big[:limit])
}

// TestRescanSchedule runs the scheduler with a short interval: it scans the
// image of a recorded deployment that nobody scanned, rescans the stored
// one, counts its runs, and stops with Central.
func TestRescanSchedule(t *testing.T) {
	reg := registrytest.Start(t)
	reg.Push(t, "alpine/old:3.4", alpineImage(t, nil))
	reg.Push(t, "team/deployed:2", alpineImage(t, map[string][]byte{"srv/deployed": []byte("x\n")}))
	c := start(t, t.TempDir(), func(cfg *Config) { cfg.RescanInterval = 300 * time.Millisecond })
	admin := c.admin()
	c.insecureIntegration("test registry", reg.Host, "", "")
	c.importAlpineSecdb()
	scanned := c.scan(admin, reg.Host+"/alpine/old:3.4", false)

	deployment := `apiVersion: apps/v1
kind: Deployment
metadata: {name: deployed, namespace: prod}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers:
      - name: d
        image: ` + reg.Host + `/team/deployed:2
      - name: gone
        image: 127.0.0.1:1/gone/away:1
`
	c.must(http.StatusOK, admin, "POST", "/v1/detect/deploy/yaml", map[string]any{"yaml": deployment, "record": true})

	waitFor(t, "the scheduler to scan the deployed image and rescan the stored one", func() bool {
		var list struct {
			Images []struct {
				Name     string    `json:"name"`
				ScanTime time.Time `json:"scanTime"`
			} `json:"images"`
		}
		c.must(http.StatusOK, admin, "GET", "/v1/images", nil).json(t, &list)
		deployed, rescanned := false, false
		for _, im := range list.Images {
			deployed = deployed || im.Name == reg.Host+"/team/deployed:2"
			rescanned = rescanned || (im.Name == reg.Host+"/alpine/old:3.4" && im.ScanTime.After(scanned.ScanTime))
		}
		return deployed && rescanned
	})
	if runs := c.metric(`stockade_image_rescan_runs_total{trigger="schedule"}`); runs < 1 {
		t.Errorf("scheduled runs counted: %v", runs)
	}
	// The unreachable image fails every run, which goes on regardless.
	if failed := c.metric(`stockade_image_rescan_images_total{result="error"}`); failed < 1 {
		t.Errorf("failed rescans counted: %v", failed)
	}
	if n := c.metric(`stockade_image_scan_duration_seconds_count{how="scanned"}`); n < 2 {
		t.Errorf("scan durations observed: %v", n)
	}
	// The tag moves: the next run scans what it points to now; the old
	// digest's scan stays.
	moved := alpineImage(t, map[string][]byte{"etc/motd": []byte("rebuilt\n")})
	newDigest, err := moved.Digest()
	if err != nil {
		t.Fatal(err)
	}
	reg.Push(t, "alpine/old:3.4", moved)
	waitFor(t, "the scheduler to scan the moved tag", func() bool {
		r := c.do(admin, "GET", "/v1/images/"+newDigest.String(), nil)
		return r.status == http.StatusOK
	})
	var list struct {
		Images []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"images"`
	}
	c.must(http.StatusOK, admin, "GET", "/v1/images?query=alpine/old", nil).json(t, &list)
	if len(list.Images) != 2 {
		t.Errorf("images of the moved tag: %+v, want the old and the new digest", list.Images)
	}

	c.stop()
	if logs := c.logs.String(); !strings.Contains(logs, "image rescans stopped") || !strings.Contains(logs, "image rescan done") {
		t.Errorf("scheduler did not run and stop:\n%s", logs)
	}
}

// With PostgreSQL as its store, Central keeps the vulnerability database
// there too (schema vulndb): nothing in the data directory, and the records
// outlive the process.
func TestVulnDBInPostgres(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	dir := t.TempDir()
	c := start(t, dir, withDSN(dsn), func(cfg *Config) { cfg.MaxVulnDBImport = 64 << 20 })
	res := c.importFeed(shareddata.Path(t, "vulns", "osv-go", "go-vulndb-osv.jsonl"))
	if len(res.Sources) != 1 || res.Sources[0].Added < 4000 {
		t.Fatalf("import = %+v", res)
	}
	c.stop()
	if _, err := os.Stat(filepath.Join(dir, vulndb.FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a SQLite vulnerability database appeared in the data directory: %v", err)
	}
	again := start(t, dir, withDSN(dsn))
	var st vulndb.Status
	again.must(http.StatusOK, again.admin(), "GET", "/v1/vulndb/status", nil).json(t, &st)
	if st.Records != res.Sources[0].Added+res.Sources[0].Withdrawn || !strings.HasPrefix(st.Path, "postgres://") || strings.Contains(st.Path, "@") {
		t.Fatalf("status after restart = records %d, path %q", st.Records, st.Path)
	}
}
