package scanner

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stockade-dev/stockade/internal/registrytest"
	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/scanner/version"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
	"github.com/stockade-dev/stockade/internal/shareddata"
)

// The tests push images built from the real package databases of
// ../shared/data/os (and a Go binary compiled here) to a real registry, put
// a counting reverse proxy in front of it to see which blobs a scan
// downloads, and match against a database imported from the real feeds.

// countingProxy forwards to the registry and counts blob downloads by digest.
type countingProxy struct {
	srv   *httptest.Server
	mu    sync.Mutex
	blobs map[string]int
}

func newCountingProxy(t testing.TB, reg *registrytest.Registry) *countingProxy {
	t.Helper()
	target, err := url.Parse(reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{blobs: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, digest, ok := strings.Cut(r.URL.Path, "/blobs/"); ok && r.Method == http.MethodGet {
			p.mu.Lock()
			p.blobs[digest]++
			p.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// Host is the proxy's "127.0.0.1:PORT".
func (p *countingProxy) Host() string { return strings.TrimPrefix(p.srv.URL, "http://") }

// downloads is how many times the blobs were fetched since the last reset.
func (p *countingProxy) downloads(digests ...string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, d := range digests {
		n += p.blobs[d]
	}
	return n
}

func (p *countingProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.blobs)
}

// resolver reaches host over plain HTTP, as an insecure integration.
func resolver(t testing.TB, host string) *registry.Resolver {
	t.Helper()
	r, err := registry.NewResolver([]registry.Integration{{
		Name: "test", Type: registry.TypeDocker, Endpoint: host, Insecure: true,
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bookwormImage is the Debian bookworm minbase package database with its
// os-release in one layer, plus a layer with files that are not packages
// and a name that climbs out of the root (a walker warning).
func bookwormImage(t testing.TB, extra ...v1.Layer) v1.Image {
	t.Helper()
	base := registrytest.Layer(t, map[string][]byte{
		"etc/os-release":      readFile(t, "testdata/debian-bookworm-os-release"),
		"var/lib/dpkg/status": readFile(t, shareddata.Path(t, "os", "debian-bookworm-minbase", "dpkg-status")),
	})
	app := registrytest.LayerFromEntries(t, registrytest.Gzip,
		registrytest.Entry{Name: "srv/app/README", Body: []byte("hello\n")},
		registrytest.Entry{Name: "../../../etc/escape", Body: []byte("out\n")},
	)
	layers := append([]v1.Layer{base, app}, extra...)
	return registrytest.WithConfig(t, registrytest.ImageFromLayers(t, layers...), registrytest.Config{
		User: "root", ExposedPorts: []string{"22/tcp"}, Cmd: []string{"/bin/bash"},
	})
}

// goBinaryImage is bookworm with a Go program built against module
// versions the Go vulnerability database lists as affected.
func goBinaryImage(t testing.TB) v1.Image {
	t.Helper()
	bin := readFile(t, buildGoProgram(t))
	layer := registrytest.LayerFromEntries(t, registrytest.Gzip,
		registrytest.Entry{Name: "usr/local/bin/vulnapp", Mode: 0o755, Body: bin})
	return bookwormImage(t, layer)
}

func alpineImage(t testing.TB) v1.Image {
	t.Helper()
	return registrytest.ImageFromFiles(t, map[string][]byte{
		"etc/os-release":         readFile(t, "testdata/alpine-3.4-os-release"),
		"lib/apk/db/installed":   readFile(t, shareddata.Path(t, "os", "alpine-3.4", "apk-installed")),
		"etc/alpine-release":     []byte("3.4.6\n"),
		"usr/share/doc/README":   []byte("not a package\n"),
		"lib/apk/db/scripts.tar": []byte("not analyzed\n"),
	})
}

const (
	goMod = `module example.com/vulnapp

go 1.22

require (
	golang.org/x/net v0.7.0
	golang.org/x/text v0.3.7
)

replace golang.org/x/text => golang.org/x/text v0.3.5
`
	goMain = `package main

import (
	"fmt"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/text/language"
)

func main() {
	doc, err := html.Parse(strings.NewReader("<p>hi</p>"))
	fmt.Println(doc != nil, err, language.MustParse("de-CH"))
}
`
)

// buildGoProgram compiles the test program for linux/amd64. The module
// proxy (or the module cache) must have golang.org/x/net v0.7.0 and
// golang.org/x/text v0.3.5, which a replace directive keeps below what
// x/net asks for.
func buildGoProgram(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"go.mod": goMod, "main.go": goMain} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "vulnapp")
	cmd := exec.Command(goBin, "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOOS=linux", "GOARCH=amd64",
		"CGO_ENABLED=0", "GOWORK=off", "GOTOOLCHAIN=local")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build test program: %v\n%s", err, msg)
	}
	return out
}

// feeds are the real feed files every test database imports: the whole Go
// vulnerability database, Alpine 3.4's secdb, and the Debian tracker fixture
// the vulndb package generates from the bookworm changelogs.
func feeds(t testing.TB) []string {
	t.Helper()
	return []string{
		shareddata.Path(t, "vulns", "osv-go", "go-vulndb-osv.jsonl"),
		shareddata.Path(t, "vulns", "alpine-secdb", "v3.4", "main.yaml"),
		filepath.Join("vulndb", "testdata", "debian-tracker-bookworm.json"),
	}
}

// openDB imports the feeds into a database in a temporary directory.
func openDB(t testing.TB) *vulndb.DB {
	t.Helper()
	ctx := context.Background()
	db, err := vulndb.Open(ctx, filepath.Join(t.TempDir(), vulndb.FileName), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Import(ctx, feeds(t)...); err != nil {
		t.Fatal(err)
	}
	return db
}

type env struct {
	reg   *registrytest.Registry
	proxy *countingProxy
	db    *vulndb.DB
}

func newEnv(t testing.TB) *env {
	t.Helper()
	reg := registrytest.Start(t)
	return &env{reg: reg, proxy: newCountingProxy(t, reg), db: openDB(t)}
}

// push pushes img and returns its reference through the counting proxy.
func (e *env) push(t testing.TB, repo string, img v1.Image) string {
	t.Helper()
	e.reg.Push(t, repo, img)
	return e.proxy.Host() + "/" + repo
}

func (e *env) scanner(t testing.TB, cacheDir string) *Scanner {
	t.Helper()
	s, err := New(Options{Resolver: resolver(t, e.proxy.Host()), CacheDir: cacheDir, DB: e.db, Parallel: 2,
		Now: func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func layerDigests(t testing.TB, img v1.Image) []string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d.String())
	}
	return out
}

// trackerFixes reads the Debian tracker fixture: source package → CVE →
// the bookworm version that fixes it.
func trackerFixes(t testing.TB) map[string]map[string]string {
	t.Helper()
	var doc map[string]map[string]struct {
		Releases map[string]struct {
			FixedVersion string `json:"fixed_version"`
		} `json:"releases"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join("vulndb", "testdata", "debian-tracker-bookworm.json")), &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for src, cves := range doc {
		out[src] = map[string]string{}
		for cve, e := range cves {
			if v := e.Releases["bookworm"].FixedVersion; v != "" {
				out[src][cve] = v
			}
		}
	}
	return out
}

// cves returns the CVE ids a finding is about.
func cves(v scan.Vuln) []string {
	var out []string
	for _, id := range append([]string{v.ID}, v.Aliases...) {
		if i := strings.Index(id, "CVE-"); i >= 0 {
			out = append(out, id[i:])
		}
	}
	return out
}

func TestScanBookwormFindsEveryUnfixedCVE(t *testing.T) {
	e := newEnv(t)
	img := goBinaryImage(t)
	ref := e.push(t, "debian/app:1", img)
	s := e.scanner(t, t.TempDir())

	var (
		mu     sync.Mutex
		events []Progress
	)
	res, err := s.Scan(context.Background(), ref, ScanOptions{Progress: func(p Progress) {
		mu.Lock()
		events = append(events, p)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}

	wantDigest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != wantDigest.String() || res.Tag != "1" || res.Remote != "debian/app" {
		t.Errorf("image %s %s:%s, want %s debian/app:1", res.Digest, res.Remote, res.Tag, wantDigest)
	}
	if res.OS == nil || res.OS.ID != "debian" || res.OS.VersionID != "12" {
		t.Fatalf("OS %+v, want debian 12", res.OS)
	}
	if !res.ScanTime.Equal(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)) {
		t.Errorf("scan time %v", res.ScanTime)
	}
	if res.Metadata.User != "root" || !slices.Contains(res.Metadata.ExposedPorts, "22/tcp") || len(res.Metadata.Layers) != 3 {
		t.Errorf("metadata %+v", res.Metadata)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "escape") }) {
		t.Errorf("no note about the entry climbing out of the root: %q", res.Notes)
	}

	// Every Debian package of the database, each with exactly the CVEs of
	// its source package whose fix is newer than the installed source
	// version.
	fixes := trackerFixes(t)
	debs, found, missing, extra := 0, 0, 0, 0
	for _, c := range res.Components {
		if c.Ecosystem != catalog.Debian {
			continue
		}
		debs++
		if c.Path != "var/lib/dpkg/status" || !strings.HasPrefix(c.PURL, "pkg:deb/debian/") || !strings.Contains(c.PURL, "distro=debian-12") {
			t.Errorf("%s: path %q purl %q", c.Name, c.Path, c.PURL)
		}
		src, srcVersion := c.SourceName, c.SourceVersion
		if src == "" {
			src = c.Name
		}
		if srcVersion == "" {
			srcVersion = c.Version
		}
		want := map[string]bool{}
		for cve, fixed := range fixes[src] {
			cmp, err := version.Compare(catalog.Debian, srcVersion, fixed)
			if err != nil {
				t.Fatalf("%s %s vs %s: %v", src, srcVersion, fixed, err)
			}
			if cmp < 0 {
				want[cve] = true
			}
		}
		got := map[string]bool{}
		for _, v := range c.Vulns {
			for _, id := range cves(v) {
				got[id] = true
			}
			if v.FixedBy == "" || v.Severity == "" {
				t.Errorf("%s %s: fixed by %q, severity %q", c.Name, v.ID, v.FixedBy, v.Severity)
			}
		}
		for cve := range want {
			if !got[cve] {
				missing++
				t.Errorf("%s (source %s %s): %s not reported, fixed in %s", c.Name, src, srcVersion, cve, fixes[src][cve])
			}
		}
		for cve := range got {
			if !want[cve] {
				extra++
				t.Errorf("%s (source %s %s): %s reported, but the installed version has the fix", c.Name, src, srcVersion, cve)
			}
		}
		found += len(want)
	}
	if debs != 88 {
		t.Errorf("%d Debian packages, want the 88 of the minbase database", debs)
	}
	if found == 0 {
		t.Error("the fixture yields no unfixed CVE for the image: the test would prove nothing")
	}
	t.Logf("%d Debian packages, %d expected findings, %d missing, %d extra", debs, found, missing, extra)

	// The Go program's modules, with the Go vulndb's module-level findings.
	goVulns := map[string][]string{}
	for _, c := range res.Components {
		if c.Ecosystem == catalog.Go {
			if c.Path != "usr/local/bin/vulnapp" {
				t.Errorf("Go component %s at %q", c.Name, c.Path)
			}
			for _, v := range c.Vulns {
				goVulns[c.Name] = append(goVulns[c.Name], v.ID)
			}
		}
	}
	for mod, id := range map[string]string{
		"golang.org/x/net":  "GO-2023-1988", // fixed in 0.13.0
		"golang.org/x/text": "GO-2021-0113", // fixed in 0.3.7
	} {
		if !slices.Contains(goVulns[mod], id) {
			t.Errorf("%s: %s not reported (got %v)", mod, id, goVulns[mod])
		}
	}
	for mod, id := range map[string]string{
		"golang.org/x/net":  "GO-2023-1571", // fixed in exactly 0.7.0
		"golang.org/x/text": "GO-2020-0015", // fixed in 0.3.3
	} {
		if slices.Contains(goVulns[mod], id) {
			t.Errorf("%s: %s reported, but the version has the fix", mod, id)
		}
	}
	if !slices.ContainsFunc(res.Components, func(c scan.Component) bool { return c.Name == "stdlib" && c.Ecosystem == catalog.Go }) {
		t.Error("no standard library component for the Go toolchain")
	}

	// Progress: every layer downloaded, then analyzed.
	digests := layerDigests(t, img)
	for i, d := range digests {
		var stages []Stage
		for _, p := range events {
			if p.Digest == d {
				if p.Index != i || p.Layers != 3 || p.Image != ref {
					t.Errorf("progress %+v for layer %d", p, i)
				}
				stages = append(stages, p.Stage)
			}
		}
		if len(stages) < 2 || stages[0] != StageDownloading || stages[len(stages)-1] != StageAnalyzed {
			t.Errorf("layer %d stages %v, want downloading … analyzed", i, stages)
		}
	}
}

func TestWarmRescanUsesTheCacheAndForceRescans(t *testing.T) {
	e := newEnv(t)
	img := bookwormImage(t)
	ref := e.push(t, "debian/base:1", img)
	digests := layerDigests(t, img)
	s := e.scanner(t, t.TempDir())
	ctx := context.Background()

	cold, err := s.Scan(ctx, ref, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.proxy.downloads(digests...); n != len(digests) {
		t.Fatalf("cold scan downloaded layers %d times, want %d", n, len(digests))
	}

	e.proxy.reset()
	var stages []Stage
	warm, err := s.Scan(ctx, ref, ScanOptions{Progress: func(p Progress) { stages = append(stages, p.Stage) }})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.proxy.downloads(digests...); n != 0 {
		t.Errorf("warm rescan downloaded layers %d times, want none", n)
	}
	if !slices.Equal(stages, []Stage{StageCached, StageCached}) {
		t.Errorf("warm rescan progress %v, want two cached layers", stages)
	}
	a, _ := json.Marshal(cold.Components)
	b, _ := json.Marshal(warm.Components)
	if string(a) != string(b) || len(cold.Components) == 0 {
		t.Error("warm rescan found other components than the cold scan")
	}

	// A new scanner over the same cache directory (the next CLI run) reads
	// the cache too.
	e.proxy.reset()
	if _, err := e.scanner(t, s.opts.CacheDir).Scan(ctx, ref, ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := e.proxy.downloads(digests...); n != 0 {
		t.Errorf("rescan by a new scanner downloaded layers %d times, want none", n)
	}

	e.proxy.reset()
	forced, err := s.Scan(ctx, ref, ScanOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.proxy.downloads(digests...); n != len(digests) {
		t.Errorf("forced rescan downloaded layers %d times, want %d", n, len(digests))
	}
	if len(forced.Components) != len(cold.Components) {
		t.Errorf("forced rescan: %d components, cold scan %d", len(forced.Components), len(cold.Components))
	}

	// Without a cache directory every scan downloads.
	e.proxy.reset()
	if _, err := e.scanner(t, "").Scan(ctx, ref, ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := e.proxy.downloads(digests...); n != len(digests) {
		t.Errorf("scan without a cache downloaded layers %d times, want %d", n, len(digests))
	}
}

func TestScanAlpine(t *testing.T) {
	e := newEnv(t)
	ref := e.push(t, "alpine/old:3.4", alpineImage(t))
	res, err := e.scanner(t, t.TempDir()).Scan(context.Background(), ref, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.OS == nil || res.OS.ID != "alpine" {
		t.Fatalf("OS %+v", res.OS)
	}
	vulns := map[string][]string{}
	for _, c := range res.Components {
		if c.Ecosystem != catalog.Alpine {
			t.Errorf("component %s of ecosystem %s", c.Name, c.Ecosystem)
		}
		for _, v := range c.Vulns {
			vulns[c.Name] = append(vulns[c.Name], cves(v)...)
		}
	}
	for pkg, want := range map[string][]string{
		"musl":         {"CVE-2016-8859", "CVE-2017-15650"}, // 1.1.14-r10, fixed in r13 and r16
		"busybox":      {"CVE-2016-6301", "CVE-2017-15873"}, // 1.24.2-r9, fixed in r12 and r13
		"libcrypto1.0": {"CVE-2016-2180", "CVE-2018-0732"},  // origin openssl 1.0.2h-r1
		"zlib":         {"CVE-2016-9840"},                   // 1.2.8-r2, fixed in 1.2.11-r0
	} {
		for _, id := range want {
			if !slices.Contains(vulns[pkg], id) {
				t.Errorf("%s: %s not reported (got %v)", pkg, id, vulns[pkg])
			}
		}
	}
	for pkg, fixed := range map[string]string{
		"busybox":      "CVE-2016-2147", // fixed in 1.24.2-r0
		"libcrypto1.0": "CVE-2016-2177", // fixed in exactly 1.0.2h-r1
	} {
		if slices.Contains(vulns[pkg], fixed) {
			t.Errorf("%s: %s reported, but the installed version has the fix", pkg, fixed)
		}
	}
}

func TestScanWithoutDatabaseCatalogsOnly(t *testing.T) {
	reg := registrytest.Start(t)
	proxy := newCountingProxy(t, reg)
	reg.Push(t, "alpine/old:3.4", alpineImage(t))
	s, err := New(Options{Resolver: resolver(t, proxy.Host())})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Scan(context.Background(), proxy.Host()+"/alpine/old:3.4", ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Components) == 0 || !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "not matched") }) {
		t.Errorf("%d components, notes %q", len(res.Components), res.Notes)
	}
	for _, c := range res.Components {
		if len(c.Vulns) > 0 {
			t.Errorf("%s has vulnerabilities without a database", c.Name)
		}
	}
}

func TestScanErrorsNameTheImage(t *testing.T) {
	reg := registrytest.Start(t)
	s, err := New(Options{Resolver: resolver(t, reg.Host)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	_, err = s.Scan(ctx, reg.Host+"/no/such:1", ScanOptions{})
	var re *registry.Error
	if !errors.As(err, &re) || !errors.Is(err, registry.ErrNotFound) || !strings.Contains(err.Error(), "no/such") {
		t.Errorf("missing image: %v", err)
	}
	if _, err := s.Scan(ctx, "Not A Reference", ScanOptions{}); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("bad reference: %v", err)
	}
	reg.Push(t, "alpine/old:3.4", alpineImage(t))
	if _, err := s.Scan(ctx, reg.Host+"/alpine/old:3.4", ScanOptions{Platform: "linux/arm64"}); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("other platform: %v", err)
	}
	reg.Stop()
	if _, err := s.Scan(ctx, reg.Host+"/alpine/old:3.4", ScanOptions{}); !errors.Is(err, registry.ErrUnreachable) {
		t.Errorf("stopped registry: %v", err)
	}
}

func TestAnalyzersList(t *testing.T) {
	var names []string
	for _, a := range Analyzers() {
		names = append(names, a.Name())
	}
	want := []string{"dpkg", "apk", "rpm", "gobinary", "java", "npm", "python"}
	if !slices.Equal(names, want) {
		t.Errorf("analyzers %v, want %v", names, want)
	}
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	versions := s.Analyzers()
	for _, n := range append(want, "osrelease") {
		if versions[n] <= 0 {
			t.Errorf("analyzer %s has no version in %v", n, versions)
		}
	}
}
