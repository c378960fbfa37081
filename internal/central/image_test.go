package central

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stockade-dev/stockade/internal/central/imageapi"
	"github.com/stockade-dev/stockade/internal/pgtest"
	"github.com/stockade-dev/stockade/internal/registrytest"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/shareddata"
)

// The image tests run a real Central against a real docker-registry holding
// images built here from the real Alpine 3.4 package database, and match
// them against the real Alpine secdb imported through the API.

const alpineOSRelease = `NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.4.6
PRETTY_NAME="Alpine Linux v3.4"
`

// alpineImage is Alpine 3.4's package database with its os-release; extra
// files go in a second layer, so that different extras make different
// digests with the same packages.
func alpineImage(t *testing.T, extra map[string][]byte) v1.Image {
	t.Helper()
	installed, err := os.ReadFile(shareddata.Path(t, "os", "alpine-3.4", "apk-installed"))
	if err != nil {
		t.Fatal(err)
	}
	layers := []map[string][]byte{{
		"etc/os-release":       []byte(alpineOSRelease),
		"etc/alpine-release":   []byte("3.4.6\n"),
		"lib/apk/db/installed": installed,
	}}
	if extra != nil {
		layers = append(layers, extra)
	}
	img := registrytest.ImageFromFiles(t, layers...)
	return registrytest.WithConfig(t, img, registrytest.Config{User: "nobody", Cmd: []string{"/bin/sh"}})
}

// The musl of the Alpine 3.4 database (1.1.14-r10) has this secdb CVE,
// fixed in 1.1.14-r13.
const muslCVE = "CVE-2016-8859"

// importFeed uploads a feed file to Central as the admin.
func (c *central) importFeed(path string) vulndbImport {
	c.t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		c.t.Fatal(err)
	}
	var res vulndbImport
	c.must(http.StatusOK, c.admin(), "POST", "/v1/vulndb/import?name="+filepath.Base(path), data).json(c.t, &res)
	return res
}

type vulndbImport struct {
	Sources []struct {
		Source    string `json:"source"`
		Added     int    `json:"added"`
		Withdrawn int    `json:"withdrawn"`
	} `json:"sources"`
}

func (c *central) importAlpineSecdb() {
	c.t.Helper()
	res := c.importFeed(shareddata.Path(c.t, "vulns", "alpine-secdb", "v3.4", "main.yaml"))
	if len(res.Sources) != 1 || res.Sources[0].Source != "alpine" || res.Sources[0].Added == 0 {
		c.t.Fatalf("alpine secdb import = %+v", res)
	}
}

// insecureIntegration lets Central reach a plain-HTTP test registry.
func (c *central) insecureIntegration(name, host, user, password string) string {
	c.t.Helper()
	body := map[string]any{"name": name, "type": "docker", "endpoint": host, "insecure": true}
	if user != "" {
		body["username"], body["password"] = user, password
	}
	var out struct {
		ID string `json:"id"`
	}
	c.must(http.StatusOK, c.admin(), "POST", "/v1/imageintegrations", body).json(c.t, &out)
	return out.ID
}

func (c *central) scan(cr cred, ref string, force bool) *scan.Image {
	c.t.Helper()
	img := new(scan.Image)
	c.must(http.StatusOK, cr, "POST", "/v1/images/scan", map[string]any{"imageName": ref, "force": force}).json(c.t, img)
	return img
}

// findVuln returns the first finding of id in img.
func findVuln(img *scan.Image, id string) (scan.Component, scan.Vuln, bool) {
	for _, comp := range img.Components {
		for _, v := range comp.Vulns {
			if v.ID == id {
				return comp, v, true
			}
		}
	}
	return scan.Component{}, scan.Vuln{}, false
}

// metric returns the value of the sample line starting with prefix on
// /metrics, or 0.
func (c *central) metric(prefix string) float64 {
	c.t.Helper()
	r := c.must(http.StatusOK, cred{}, "GET", "/metrics", nil)
	for _, line := range strings.Split(string(r.body), "\n") {
		if strings.HasPrefix(line, prefix+" ") {
			var v float64
			if _, err := fmt.Sscanf(strings.TrimPrefix(line, prefix+" "), "%g", &v); err != nil {
				c.t.Fatalf("metric line %q: %v", line, err)
			}
			return v
		}
	}
	return 0
}

func TestImageScanStoredAndListed(t *testing.T) {
	for _, b := range []struct {
		name string
		opts func(t *testing.T) []startOpt
	}{
		{"sqlite", func(*testing.T) []startOpt { return nil }},
		{"postgres", func(t *testing.T) []startOpt { return []startOpt{withDSN(pgtest.NewDatabase(t))} }},
	} {
		t.Run(b.name, func(t *testing.T) { testImageScanStoredAndListed(t, b.opts(t)...) })
	}
}

func testImageScanStoredAndListed(t *testing.T, opts ...startOpt) {
	reg := registrytest.Start(t)
	reg.Push(t, "alpine/old:3.4", alpineImage(t, nil))
	reg.Push(t, "team/app:1", alpineImage(t, map[string][]byte{"srv/app/README": []byte("app\n")}))
	c := start(t, t.TempDir(), opts...)
	admin := c.admin()
	c.importAlpineSecdb()
	ref := reg.Host + "/alpine/old:3.4"

	// Without an integration Central speaks HTTPS only: the plain-HTTP
	// registry is a bad gateway, said in plain words.
	r := c.do(admin, "POST", "/v1/images/scan", map[string]any{"imageName": ref})
	var eb errorBody
	r.json(t, &eb)
	if r.status != http.StatusBadGateway || !strings.Contains(eb.Error, reg.Host) || !strings.Contains(eb.Error, "insecure") {
		t.Fatalf("scan over plain HTTP without an insecure integration: %d %s", r.status, r.body)
	}
	c.insecureIntegration("test registry", reg.Host, "", "")

	img := c.scan(admin, ref, false)
	if img.FullName != ref || img.Digest == "" || img.OS == nil || img.OS.ID != "alpine" || len(img.Components) == 0 || img.ScanTime.IsZero() {
		t.Fatalf("scan = name %q digest %q os %+v, %d components", img.FullName, img.Digest, img.OS, len(img.Components))
	}
	comp, v, ok := findVuln(img, muslCVE)
	if !ok || comp.Name != "musl" || v.FixedBy != "1.1.14-r13" {
		t.Fatalf("musl finding %s = %+v in %+v (found %v)", muslCVE, v, comp.Component, ok)
	}
	if v.FirstSeenInImage.IsZero() || !v.FirstSeenInImage.Equal(v.FirstSeenInSystem) {
		t.Errorf("first seen in image %v, in system %v: want both set and equal on a first scan", v.FirstSeenInImage, v.FirstSeenInSystem)
	}

	// Stored: read back by digest, byte for byte what the scan returned.
	var stored scan.Image
	c.must(http.StatusOK, admin, "GET", "/v1/images/"+img.Digest, nil).json(t, &stored)
	if _, sv, ok := findVuln(&stored, muslCVE); !ok || !sv.FirstSeenInImage.Equal(v.FirstSeenInImage) || stored.Digest != img.Digest {
		t.Errorf("stored scan differs: %+v", sv)
	}
	c.must(http.StatusNotFound, admin, "GET", "/v1/images/sha256:0000", nil)

	// A second request is answered from the store; force scans again.
	before := c.metric(`stockade_images_scanned_total{how="cached",result="ok"}`)
	again := c.scan(admin, ref, false)
	if !again.ScanTime.Equal(img.ScanTime) {
		t.Errorf("second scan was not the stored one: scan time %v, first %v", again.ScanTime, img.ScanTime)
	}
	if after := c.metric(`stockade_images_scanned_total{how="cached",result="ok"}`); after != before+1 {
		t.Errorf("cached scans counted %v → %v", before, after)
	}
	forced := c.scan(admin, ref, true)
	if !forced.ScanTime.After(img.ScanTime) || forced.Digest != img.Digest {
		t.Errorf("forced scan time %v, first %v", forced.ScanTime, img.ScanTime)
	}
	if _, fv, _ := findVuln(forced, muslCVE); !fv.FirstSeenInImage.Equal(v.FirstSeenInImage) {
		t.Errorf("forced rescan changed first seen: %v, was %v", fv.FirstSeenInImage, v.FirstSeenInImage)
	}
	// By digest: no registry call needed, same stored scan.
	byDigest := c.scan(admin, reg.Host+"/alpine/old@"+img.Digest, false)
	if byDigest.Digest != img.Digest || !byDigest.ScanTime.Equal(forced.ScanTime) {
		t.Errorf("digest reference: %s %v", byDigest.Digest, byDigest.ScanTime)
	}

	// CI may scan, Analyst may only read.
	_, ci := c.token("ci", "Continuous Integration", nil)
	_, analyst := c.token("analyst", "Analyst", nil)
	app := c.scan(bearer(ci), reg.Host+"/team/app:1", false)
	c.must(http.StatusForbidden, bearer(analyst), "POST", "/v1/images/scan", map[string]any{"imageName": ref})
	c.must(http.StatusOK, bearer(analyst), "GET", "/v1/images/"+app.Digest, nil)
	if _, av, _ := findVuln(app, muslCVE); !av.FirstSeenInSystem.Equal(v.FirstSeenInSystem) || !av.FirstSeenInImage.After(v.FirstSeenInImage) {
		t.Errorf("another image: first seen in image %v (want after %v), in system %v (want %v)",
			av.FirstSeenInImage, v.FirstSeenInImage, av.FirstSeenInSystem, v.FirstSeenInSystem)
	}

	var list imageapi.List
	c.must(http.StatusOK, bearer(analyst), "GET", "/v1/images", nil).json(t, &list)
	if list.Total != 2 || len(list.Images) != 2 {
		t.Fatalf("list = %+v, want the 2 images scanned", list)
	}
	c.must(http.StatusOK, admin, "GET", "/v1/images?query=TEAM/APP&sort=-scanTime&limit=1", nil).json(t, &list)
	if list.Total != 1 || list.Images[0].ID != app.Digest || list.Images[0].Name != reg.Host+"/team/app:1" ||
		list.Images[0].Vulns == 0 || list.Images[0].Fixable == 0 || list.Images[0].Components != len(app.Components) {
		t.Errorf("filtered list = %+v", list)
	}
	c.must(http.StatusBadRequest, admin, "GET", "/v1/images?sort=size", nil)
	c.must(http.StatusBadRequest, admin, "GET", "/v1/images?limit=0", nil)
	c.must(http.StatusBadRequest, admin, "GET", "/v1/images?color=red", nil)

	// Errors: no name, no such tag, no such registry.
	c.must(http.StatusBadRequest, admin, "POST", "/v1/images/scan", map[string]any{"imageName": " "})
	c.must(http.StatusBadRequest, admin, "POST", "/v1/images/scan", map[string]any{"imageName": "UPPER/Case:x"})
	r = c.must(http.StatusNotFound, admin, "POST", "/v1/images/scan", map[string]any{"imageName": reg.Host + "/alpine/old:9.9"})
	if !strings.Contains(string(r.body), "not found") {
		t.Errorf("missing tag: %s", r.body)
	}
	c.must(http.StatusBadGateway, admin, "POST", "/v1/images/scan", map[string]any{"imageName": "127.0.0.1:1/nothing:1"})
}

func TestImageFirstSeenKeptAcrossRematches(t *testing.T) {
	reg := registrytest.Start(t)
	reg.Push(t, "alpine/old:3.4", alpineImage(t, nil))
	c := start(t, t.TempDir())
	admin := c.admin()
	c.insecureIntegration("test registry", reg.Host, "", "")
	ref := reg.Host + "/alpine/old:3.4"

	// No vulnerability data yet: components, no findings.
	empty := c.scan(admin, ref, false)
	if _, _, ok := findVuln(empty, muslCVE); ok || len(empty.Components) == 0 {
		t.Fatalf("scan before any import has %d components and musl finding %v", len(empty.Components), ok)
	}
	// The import changes the database: the stored scan is matched again
	// in the background, without being asked.
	c.importAlpineSecdb()
	var first scan.Image
	waitFor(t, "the stored scan to be matched against the imported secdb", func() bool {
		c.must(http.StatusOK, admin, "GET", "/v1/images/"+empty.Digest, nil).json(t, &first)
		_, _, ok := findVuln(&first, muslCVE)
		return ok
	})
	_, v1st, _ := findVuln(&first, muslCVE)
	if v1st.FirstSeenInImage.IsZero() || !first.ScanTime.After(empty.ScanTime) {
		t.Fatalf("rematched scan: first seen %v, scan time %v (was %v)", v1st.FirstSeenInImage, first.ScanTime, empty.ScanTime)
	}
	if c.metric(`stockade_image_rescan_runs_total{trigger="vulndb"}`) < 1 {
		t.Error("no vulndb-triggered rescan run counted")
	}

	// Another import (NVD scores): matched again, first-seen times kept.
	c.importFeed(shareddata.Path(t, "vulns", "nvd-sample", "nvd-CVE-2023-4911.trimmed.json"))
	var second scan.Image
	waitFor(t, "the stored scan to be matched again", func() bool {
		c.must(http.StatusOK, admin, "GET", "/v1/images/"+empty.Digest, nil).json(t, &second)
		return second.ScanTime.After(first.ScanTime)
	})
	_, v2nd, ok := findVuln(&second, muslCVE)
	if !ok || !v2nd.FirstSeenInImage.Equal(v1st.FirstSeenInImage) || !v2nd.FirstSeenInSystem.Equal(v1st.FirstSeenInSystem) {
		t.Errorf("after a rematch first seen = %v / %v, want %v kept", v2nd.FirstSeenInImage, v2nd.FirstSeenInSystem, v1st.FirstSeenInImage)
	}
	// A scan request after the database changed is current without a layer walk.
	third := c.scan(admin, ref, false)
	if _, v3, _ := findVuln(third, muslCVE); !v3.FirstSeenInImage.Equal(v1st.FirstSeenInImage) {
		t.Errorf("scan request changed first seen: %v", v3.FirstSeenInImage)
	}
}

// waitFor polls cond for up to 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
