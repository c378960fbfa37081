package apk

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/shareddata"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

func analyze(t *testing.T, path string) ([]catalog.Component, []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := New().Analyze(context.Background(), layer.File{Path: InstalledFile, Size: int64(len(data)), Content: bytes.NewReader(data)})
	var w *layer.Warning
	if err != nil && !errors.As(err, &w) {
		t.Fatalf("Analyze: %v", err)
	}
	if w == nil {
		return cs, nil
	}
	return cs, w.Msgs
}

func TestAlpine34(t *testing.T) {
	cs, warns := analyze(t, filepath.Join(shareddata.Dir(t), "os", "alpine-3.4", "apk-installed"))
	if len(warns) != 1 || warns[0] != "entry at line 23: package invalidPackageWithoutAVersion has no version (V:)" {
		t.Errorf("warnings = %q, want one about the entry without a version", warns)
	}
	want := []struct{ name, version, origin, license string }{
		{"musl", "1.1.14-r10", "musl", "MIT"},
		{"busybox", "1.24.2-r9", "busybox", "GPL2"},
		{"alpine-baselayout", "3.0.3-r0", "alpine-baselayout", "GPL2"},
		{"alpine-keys", "1.1-r0", "alpine-keys", "GPL"},
		{"zlib", "1.2.8-r2", "zlib", "zlib"},
		{"libcrypto1.0", "1.0.2h-r1", "openssl", "openssl"},
		{"libssl1.0", "1.0.2h-r1", "openssl", "openssl"},
		{"apk-tools", "2.6.7-r0", "apk-tools", "GPL2"},
		{"scanelf", "1.1.6-r0", "pax-utils", "GPL2"},
		{"musl-utils", "1.1.14-r10", "musl", "MIT BSD GPL2+"},
		{"libc-utils", "0.7-r0", "libc-dev", "GPL"},
	}
	if len(cs) != len(want) {
		t.Fatalf("got %d packages, want %d", len(cs), len(want))
	}
	for i, w := range want {
		c := cs[i]
		if c.Name != w.name || c.Version != w.version || c.SourceName != w.origin || c.SourceVersion != w.version || c.License != w.license {
			t.Errorf("package %d = %+v, want %+v", i, c, w)
		}
		if c.Ecosystem != catalog.Alpine || c.Path != InstalledFile || c.PURL != "pkg:apk/alpine/"+w.name+"@"+w.version+"?arch=x86_64" {
			t.Errorf("package %d: ecosystem %q path %q purl %q", i, c.Ecosystem, c.Path, c.PURL)
		}
	}
}

func TestEdgeCases(t *testing.T) {
	cs, warns := analyze(t, "testdata/installed-edge")
	wantWarns := []string{
		"entry at line 19: no package name (P:)",
		"line 25: not a \"K:value\" line",
	}
	if strings.Join(warns, "|") != strings.Join(wantWarns, "|") {
		t.Errorf("warnings = %q, want %q", warns, wantWarns)
	}
	want := []catalog.Component{
		{Name: "ssl_client", Version: "1.36.1-r15", SourceName: "busybox", License: "GPL-2.0-only", PURL: "pkg:apk/alpine/ssl_client@1.36.1-r15?arch=aarch64"},
		{Name: "py3-setuptools", Version: "68.2.2-r0", SourceName: "py3-setuptools", License: "MIT", PURL: "pkg:apk/alpine/py3-setuptools@68.2.2-r0?arch=noarch"},
		{Name: "tzdata", Version: "2024a-r0", SourceName: "tzdata", License: "Public-Domain", PURL: "pkg:apk/alpine/tzdata@2024a-r0?arch=x86_64"},
	}
	if len(cs) != len(want) {
		t.Fatalf("got %+v", cs)
	}
	for i := range want {
		want[i].Ecosystem, want[i].Path, want[i].SourceVersion = catalog.Alpine, InstalledFile, want[i].Version
		if cs[i] != want[i] {
			t.Errorf("package %d:\n got %+v\nwant %+v", i, cs[i], want[i])
		}
	}
}

func TestMatchAndHostile(t *testing.T) {
	a := New()
	if !a.Match("lib/apk/db/installed", 0o644, 1) || a.Match("lib/apk/db/installed.old", 0o644, 1) || a.Match("etc/apk/world", 0o644, 1) {
		t.Error("Match accepts the wrong paths")
	}
	for _, data := range []string{"\x00\xff\n\n", "P:" + strings.Repeat("x", maxLine+1) + "\n", "P:a b\nV:1\n"} {
		cs, err := a.Analyze(context.Background(), layer.File{Path: InstalledFile, Size: int64(len(data)), Content: strings.NewReader(data)})
		var w *layer.Warning
		if len(cs) != 0 || !errors.As(err, &w) {
			t.Errorf("Analyze(%.20q) = %v, %v; want no package and a warning", data, cs, err)
		}
	}
}
