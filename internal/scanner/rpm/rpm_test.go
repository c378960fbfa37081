package rpm

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

// localFile hands a fixture to the analyzer the way the walker does: content
// in memory and a private copy on disk for the reader library.
func localFile(t *testing.T, src, imagePath string) layer.File {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return localBytes(t, data, imagePath)
}

func localBytes(t *testing.T, data []byte, imagePath string) layer.File {
	t.Helper()
	local := filepath.Join(t.TempDir(), filepath.Base(imagePath))
	if err := os.WriteFile(local, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return layer.File{
		Path: imagePath, Size: int64(len(data)), Content: bytes.NewReader(data),
		LocalPath: func() (string, error) { return local, nil },
	}
}

// moduleTestdata is go-rpmdb's own collection of databases from real
// distributions, read in place from the module cache.
func moduleTestdata(t *testing.T, rel string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/knqyf263/go-rpmdb").Output()
	if err != nil {
		t.Fatalf("locate go-rpmdb module: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "pkg", "testdata", rel)
}

func TestMatch(t *testing.T) {
	a := New()
	for p, want := range map[string]bool{
		"var/lib/rpm/Packages":              true,
		"var/lib/rpm/rpmdb.sqlite":          true,
		"usr/lib/sysimage/rpm/Packages.db":  true,
		"usr/lib/sysimage/rpm/rpmdb.sqlite": true,
		"var/lib/rpm/Packages.bak":          false,
		"var/lib/rpm/rpmdb.sqlite-shm":      false,
		"var/lib/rpm/Name":                  false,
		"opt/var/lib/rpm/Packages":          false,
		"usr/lib/sysimage/rpm/sub/Packages": false,
	} {
		if got := a.Match(p, 0o644, 1); got != want {
			t.Errorf("Match(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestFixtures reads the databases mkfixtures.sh builds with Debian's rpm
// from the specs in testdata/specs, and checks them against rpm -qa's output
// recorded next to them.
func TestFixtures(t *testing.T) {
	want := readTSV(t, "testdata/packages.tsv")
	for _, tc := range []struct{ fixture, imagePath string }{
		{"testdata/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite"},
		{"testdata/Packages", "var/lib/rpm/Packages"},
	} {
		t.Run(filepath.Base(tc.fixture), func(t *testing.T) {
			cs, err := New().Analyze(context.Background(), localFile(t, tc.fixture, tc.imagePath))
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != len(want) {
				t.Fatalf("got %d packages, want %d: %+v", len(cs), len(want), cs)
			}
			for _, c := range cs {
				w, ok := want[c.Name]
				if !ok {
					t.Errorf("unexpected package %+v", c)
					continue
				}
				if c != w(tc.imagePath) {
					t.Errorf("\n got %+v\nwant %+v", c, w(tc.imagePath))
				}
			}
		})
	}
}

// readTSV turns rpm -qa's NAME, EPOCHNUM:VERSION-RELEASE, ARCH, SOURCERPM,
// LICENSE rows into the components the analyzer must report.
func readTSV(t *testing.T, name string) map[string]func(string) catalog.Component {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]func(string) catalog.Component{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		r := strings.Split(sc.Text(), "\t")
		if len(r) != 5 {
			t.Fatalf("bad row %q", sc.Text())
		}
		evr := strings.TrimPrefix(r[1], "0:")
		epoch, vr, hasEpoch := strings.Cut(evr, ":")
		if !hasEpoch {
			vr, epoch = evr, ""
		}
		src := strings.TrimSuffix(r[3], ".src.rpm")
		rel := src[strings.LastIndexByte(src, '-'):]
		src = strings.TrimSuffix(src, rel)
		ver := src[strings.LastIndexByte(src, '-'):]
		srcName := strings.TrimSuffix(src, ver)
		srcVersion := ver[1:] + rel
		purl := "pkg:rpm/redhat/" + r[0] + "@" + vr + "?arch=" + r[2]
		if hasEpoch {
			srcVersion = epoch + ":" + srcVersion
			purl += "&epoch=" + epoch
		}
		out[r[0]] = func(path string) catalog.Component {
			return catalog.Component{
				Name: r[0], Version: evr, Ecosystem: catalog.RedHat, SourceName: srcName, SourceVersion: srcVersion,
				Path: path, PURL: purl, License: r[4],
			}
		}
	}
	if len(out) != 3 {
		t.Fatalf("%s: %d rows", name, len(out))
	}
	return out
}

// TestRealDistributionDatabases reads databases of real images shipped with
// the reader library: CentOS 7 (Berkeley DB), SLE 15 (NDB), Fedora 35
// (SQLite).
func TestRealDistributionDatabases(t *testing.T) {
	for _, tc := range []struct {
		rel, imagePath string
		count          int
		check          catalog.Component
	}{
		{"centos7-plain/Packages", "var/lib/rpm/Packages", 144, catalog.Component{
			Name: "openssl-libs", Version: "1:1.0.2k-12.el7", SourceName: "openssl", SourceVersion: "1:1.0.2k-12.el7",
			PURL: "pkg:rpm/redhat/openssl-libs@1.0.2k-12.el7?arch=x86_64&epoch=1", License: "OpenSSL"}},
		{"sle15-bci/Packages.db", "usr/lib/sysimage/rpm/Packages.db", 35, catalog.Component{
			Name: "libstdc++6", Version: "11.2.1+git610-1.3.9", SourceName: "gcc11", SourceVersion: "11.2.1+git610-1.3.9",
			PURL: "pkg:rpm/redhat/libstdc%2B%2B6@11.2.1%2Bgit610-1.3.9?arch=x86_64", License: "GPL-3.0-or-later WITH GCC-exception-3.1"}},
		{"fedora35/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite", 0, catalog.Component{
			Name: "bash", SourceName: "bash"}},
	} {
		t.Run(tc.rel, func(t *testing.T) {
			cs, err := New().Analyze(context.Background(), localFile(t, moduleTestdata(t, tc.rel), tc.imagePath))
			if err != nil {
				t.Fatal(err)
			}
			if tc.count > 0 && len(cs) != tc.count {
				t.Errorf("got %d packages, want %d", len(cs), tc.count)
			}
			if len(cs) == 0 {
				t.Fatal("no packages")
			}
			found := false
			for _, c := range cs {
				if c.Name == "gpg-pubkey" {
					t.Error("gpg-pubkey reported as a package")
				}
				if c.Path != tc.imagePath || c.Ecosystem != catalog.RedHat || c.Version == "" || c.SourceName == "" {
					t.Errorf("incomplete component %+v", c)
				}
				if c.Name != tc.check.Name {
					continue
				}
				found = true
				want := tc.check
				want.Path, want.Ecosystem = tc.imagePath, catalog.RedHat
				if want.Version == "" { // only the source name is pinned
					want.Version, want.SourceVersion, want.PURL, want.License = c.Version, c.SourceVersion, c.PURL, c.License
				}
				if c != want {
					t.Errorf("\n got %+v\nwant %+v", c, want)
				}
			}
			if !found {
				t.Errorf("package %s not found", tc.check.Name)
			}
		})
	}
}

func TestHostileDatabases(t *testing.T) {
	sqlite, err := os.ReadFile("testdata/rpmdb.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	bdb, err := os.ReadFile("testdata/Packages")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"empty":              {},
		"garbage":            bytes.Repeat([]byte("not a database "), 1000),
		"truncated sqlite":   sqlite[:len(sqlite)/3],
		"sqlite header only": []byte("SQLite format 3\x00"),
		"truncated bdb":      bdb[:len(bdb)/2],
		"ndb magic only":     []byte("RpmP\x00\x00\x00\x00"),
	} {
		t.Run(name, func(t *testing.T) {
			f := localBytes(t, data, "var/lib/rpm/Packages")
			cs, err := runContained(New(), f)
			var w *layer.Warning
			if err == nil || errors.As(err, &w) {
				t.Fatalf("Analyze = %d packages, %v; want an error", len(cs), err)
			}
			if !strings.Contains(err.Error(), "var/lib/rpm/Packages") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// runContained is what the walker does around every analyzer.
func runContained(a layer.Analyzer, f layer.File) (cs []catalog.Component, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("var/lib/rpm/Packages: panic")
		}
	}()
	return a.Analyze(context.Background(), f)
}

// TestThroughTheWalker scans a Rocky Linux-like layer end to end: the
// database under usr/lib/sysimage/rpm with var/lib/rpm linked to it, found
// at its real location, copied into the walker's private directory, and
// labelled with the distribution at merge time.
func TestThroughTheWalker(t *testing.T) {
	db, err := os.ReadFile("testdata/rpmdb.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	stream := layerTar(t,
		[2]string{"usr/lib/sysimage/rpm/", ""},
		[2]string{"usr/lib/sysimage/rpm/rpmdb.sqlite", string(db)},
		[2]string{"var/lib/rpm", "-> ../../usr/lib/sysimage/rpm"},
		[2]string{"etc/redhat-release", "Rocky Linux release 9.3 (Blue Onyx)\n"},
	)

	reg, err := layer.NewRegistry(New())
	if err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	res, err := layer.NewWalker(reg, layer.WalkerOptions{TempDir: parent}).Walk(context.Background(), "sha256:"+strings.Repeat("ab", 32), stream)
	if err != nil {
		t.Fatal(err)
	}
	cat := layer.Merge([]catalog.LayerResult{res})
	if len(cat.Warnings) > 0 {
		t.Errorf("warnings %q", cat.Warnings)
	}
	if len(cat.Components) != 3 {
		t.Fatalf("components %+v", cat.Components)
	}
	c := cat.Components[0]
	if c.Name != "stockade-hello" || c.Ecosystem != catalog.Rocky || c.PURL != "pkg:rpm/rocky/stockade-hello@1.2.3-4.el9?arch=noarch&distro=rocky-9.3&epoch=2" {
		t.Errorf("component %+v", c)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("walker left %v behind", left)
	}
}

// layerTar writes a tar stream of directories (name ending in "/"), files
// and symlinks (content "-> target").
func layerTar(t *testing.T, entries ...[2]string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e[1]))}
		switch {
		case strings.HasSuffix(e[0], "/"):
			h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
		case strings.HasPrefix(e[1], "-> "):
			h.Typeflag, h.Size, h.Linkname = tar.TypeSymlink, 0, strings.TrimPrefix(e[1], "-> ")
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, e[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// TestNoGoroutineLeftOnCorruptSQLite guards the check that keeps corrupt
// SQLite databases away from the reader library, which would leave a
// goroutine blocked on every one.
func TestNoGoroutineLeftOnCorruptSQLite(t *testing.T) {
	sqlite, err := os.ReadFile("testdata/rpmdb.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(sqlite)
	copy(corrupt[100:], bytes.Repeat([]byte{0xff}, 4000))
	before := runtime.NumGoroutine()
	for range 20 {
		for _, data := range [][]byte{sqlite[:len(sqlite)/3], corrupt, []byte("SQLite format 3\x00")} {
			if _, err := New().Analyze(context.Background(), localBytes(t, data, "var/lib/rpm/rpmdb.sqlite")); err == nil {
				t.Fatal("corrupt database accepted")
			}
		}
	}
	time.Sleep(50 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+2 {
		t.Errorf("goroutines %d before, %d after 60 corrupt databases", before, after)
	}
}
