package dpkg

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/shareddata"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

func file(t testing.TB, path, imagePath string) layer.File {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return layer.File{Path: imagePath, Size: int64(len(data)), Content: bytes.NewReader(data)}
}

func TestMatch(t *testing.T) {
	a := New()
	for p, want := range map[string]bool{
		"var/lib/dpkg/status":                   true,
		"var/lib/dpkg/status-old":               false,
		"var/lib/dpkg/status.d/libssl3":         true,
		"var/lib/dpkg/status.d/libssl3.md5sums": false,
		"var/lib/dpkg/status.d/.hidden":         false,
		"var/lib/dpkg/status.d/sub/x":           false,
		"usr/var/lib/dpkg/status":               false,
		"var/lib/dpkg/available":                false,
	} {
		if got := a.Match(p, 0o644, 100); got != want {
			t.Errorf("Match(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestParseMixed(t *testing.T) {
	got, err := New().Analyze(context.Background(), file(t, "testdata/status-mixed", StatusFile))
	var w *layer.Warning
	if !errors.As(err, &w) {
		t.Fatalf("Analyze error = %v, want a *layer.Warning for the broken entries", err)
	}
	wantWarn := []string{
		"entry at line 65: package broken-no-version: no Version field",
		"entry at line 69: package broken-status: malformed Status \"installed\"",
		"entry at line 74: package mawk: malformed Source \"mawk (1.3.4.20200120\"",
	}
	if strings.Join(w.Msgs, "\n") != strings.Join(wantWarn, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(w.Msgs, "\n"), strings.Join(wantWarn, "\n"))
	}
	want := []catalog.Component{
		{Name: "libc6", Version: "2.36-9+deb12u4", SourceName: "glibc", SourceVersion: "2.36-9+deb12u4", PURL: "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64"},
		{Name: "libc6", Version: "2.36-9+deb12u4", SourceName: "glibc", SourceVersion: "2.36-9+deb12u4", PURL: "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=i386"},
		{Name: "bash", Version: "5.2.15-2+b2", SourceName: "bash", SourceVersion: "5.2.15-2", PURL: "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64"},
		{Name: "tzdata", Version: "2024a-0+deb12u1", SourceName: "tzdata", SourceVersion: "2024a-0+deb12u1", PURL: "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all"},
		{Name: "login", Version: "1:4.13+dfsg1-1+b1", SourceName: "shadow", SourceVersion: "1:4.13+dfsg1-1+b1", PURL: "pkg:deb/debian/login@1:4.13%2Bdfsg1-1%2Bb1?arch=amd64"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d packages, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		want[i].Ecosystem = catalog.Debian
		want[i].Path = StatusFile
		if got[i] != want[i] {
			t.Errorf("package %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestDistrolessStatusD(t *testing.T) {
	root := "testdata/distroless"
	var got []catalog.Component
	a := New()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if !a.Match(rel, 0o644, 0) {
			return nil
		}
		cs, err := a.Analyze(context.Background(), file(t, p, rel))
		got = append(got, cs...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]catalog.Component{
		"base-files": {Name: "base-files", Version: "12.4+deb12u5", SourceName: "base-files", SourceVersion: "12.4+deb12u5", Ecosystem: catalog.Debian,
			Path: "var/lib/dpkg/status.d/base-files", PURL: "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64"},
		"libssl3": {Name: "libssl3", Version: "3.0.11-1~deb12u2", SourceName: "openssl", SourceVersion: "3.0.11-1~deb12u2", Ecosystem: catalog.Debian,
			Path: "var/lib/dpkg/status.d/libssl3", PURL: "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %d packages", got, len(want))
	}
	for _, c := range got {
		if c != want[c.Name] {
			t.Errorf("got %+v\nwant %+v", c, want[c.Name])
		}
	}
}

// TestBookwormMinbase checks every package of a real debootstrap minbase
// image against the package list recorded next to it.
func TestBookwormMinbase(t *testing.T) {
	dir := filepath.Join(shareddata.Dir(t), "os", "debian-bookworm-minbase")
	got, err := New().Analyze(context.Background(), file(t, filepath.Join(dir, "dpkg-status"), StatusFile))
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	tsv, err := os.Open(filepath.Join(dir, "bookworm-minbase-packages.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer tsv.Close()
	byName := map[string]catalog.Component{}
	for _, c := range got {
		if _, dup := byName[c.Name]; dup {
			t.Errorf("package %s reported twice", c.Name)
		}
		byName[c.Name] = c
	}
	rows := 0
	sc := bufio.NewScanner(tsv)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 {
			t.Fatalf("bad row %q", sc.Text())
		}
		rows++
		c, ok := byName[f[0]]
		if !ok {
			t.Errorf("package %s missing", f[0])
			continue
		}
		if c.Version != f[1] || c.SourceName != f[2] || c.SourceVersion != f[3] {
			t.Errorf("%s: got %s source %s %s, want %s source %s %s", f[0], c.Version, c.SourceName, c.SourceVersion, f[1], f[2], f[3])
		}
		if c.Ecosystem != catalog.Debian || c.Path != StatusFile || !strings.HasPrefix(c.PURL, "pkg:deb/debian/"+strings.ReplaceAll(f[0], "+", "%2B")+"@") {
			t.Errorf("%s: ecosystem %q path %q purl %q", f[0], c.Ecosystem, c.Path, c.PURL)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if rows != 88 || len(got) != 88 {
		t.Errorf("rows %d, packages %d; want 88 of each", rows, len(got))
	}
}

func TestHostileInput(t *testing.T) {
	a := New()
	for name, data := range map[string]string{
		"binary garbage":      "\x00\x01\x02\xff\xfe\n\n\x00",
		"continuation first":  " leading continuation\nPackage: x\n",
		"no trailing newline": "Package: x\nStatus: install ok installed\nVersion: 1",
		"huge line":           "Package: x\nDescription: " + strings.Repeat("a", maxLine+10) + "\n",
		"bad name":            "Package: X Y\nStatus: install ok installed\nVersion: 1\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := layer.File{Path: StatusFile, Size: int64(len(data)), Content: strings.NewReader(data)}
			cs, err := a.Analyze(context.Background(), f)
			var w *layer.Warning
			if err != nil && !errors.As(err, &w) {
				t.Fatalf("Analyze error %v is not a warning", err)
			}
			for _, c := range cs {
				if c.Name != "x" {
					t.Errorf("unexpected component %+v", c)
				}
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		data := strings.Repeat("Package: x\nStatus: install ok installed\nVersion: 1\n\n", 2000)
		_, err := a.Analyze(ctx, layer.File{Path: StatusFile, Size: int64(len(data)), Content: strings.NewReader(data)})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Analyze on a cancelled context = %v", err)
		}
	})
}
