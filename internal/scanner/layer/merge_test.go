package layer_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

// image walks each layer (given as entries) and returns the results in order.
func image(t *testing.T, layers ...[]entry) []catalog.LayerResult {
	t.Helper()
	w := layer.NewWalker(registry(t), layer.WalkerOptions{})
	var out []catalog.LayerResult
	for i, es := range layers {
		res, err := w.Walk(context.Background(), "sha256:"+strings.Repeat(string(rune('1'+i)), 64), strings.NewReader(string(tarball(t, es...))))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res)
	}
	return out
}

func digest(i int) string { return "sha256:" + strings.Repeat(string(rune('1'+i)), 64) }

type row struct{ path, name, version, layer string }

func rows(cat catalog.Catalog) []row {
	var out []row
	for _, c := range cat.Components {
		out = append(out, row{c.Path, c.Name, c.Version, c.Layer})
	}
	return out
}

func TestMergeAppliesLayersInOrder(t *testing.T) {
	cat := layer.Merge(image(t,
		// 0: the base system.
		[]entry{
			reg("usr/lib/os-release", testdata(t, "os-release")),
			reg("var/lib/dpkg/status", testdata(t, "status-v1")),
			reg("opt/app/a.pkgs", "a 1"),
			reg("opt/app/sub/b.pkgs", "b 1"),
			reg("opt/application.pkgs", "sibling 1"),
			reg("srv/x.pkgs", "x 1"),
			reg("srv/keep/y.pkgs", "y 1"),
			reg("data/z.pkgs", "z 1"),
		},
		// 1: an upgrade rewrites the dpkg database; rm -rf opt/app; a new
		// file under srv.
		[]entry{
			reg("var/lib/dpkg/status", testdata(t, "status-v2")),
			reg("opt/.wh.app", ""),
			reg("srv/new.pkgs", "new 1"),
			reg("data/z.pkgs", "z 2"),
		},
		// 2: srv replaced as a whole (opaque), with one file of its own;
		// opt/app recreated; data/z.pkgs deleted.
		[]entry{
			reg("srv/.wh..wh..opq", ""),
			reg("srv/mine.pkgs", "mine 1"),
			reg("opt/app/c.pkgs", "c 1"),
			reg("data/.wh.z.pkgs", ""),
		},
	))
	want := []row{
		{"opt/app/c.pkgs", "c", "1", digest(2)},
		{"opt/application.pkgs", "sibling", "1", digest(0)},
		{"srv/mine.pkgs", "mine", "1", digest(2)},
		{"var/lib/dpkg/status", "libssl3", "3.0.13-1~deb12u1", digest(1)},
	}
	if got := rows(cat); !slices.Equal(got, want) {
		t.Errorf("merged:\n%v\nwant\n%v", got, want)
	}
	if cat.OS == nil || cat.OS.ID != "debian" || cat.OS.VersionID != "12" {
		t.Errorf("OS = %+v", cat.OS)
	}
	ssl := cat.Components[3]
	if ssl.PURL != "pkg:deb/debian/libssl3@3.0.13-1~deb12u1?arch=amd64&distro=debian-12" || ssl.Ecosystem != catalog.Debian {
		t.Errorf("libssl3 purl %q ecosystem %q", ssl.PURL, ssl.Ecosystem)
	}
	if ssl.SourceName != "openssl" || ssl.SourceVersion != "3.0.13-1~deb12u1" {
		t.Errorf("libssl3 source %s %s", ssl.SourceName, ssl.SourceVersion)
	}
}

func TestMergeOSFromLastLayerAndUbuntuPackages(t *testing.T) {
	cat := layer.Merge(image(t,
		[]entry{reg("usr/lib/os-release", testdata(t, "os-release")), reg("var/lib/dpkg/status", testdata(t, "status-v1"))},
		[]entry{reg("opt/a.pkgs", "a 1")},
		[]entry{reg("etc/os-release", testdata(t, "ubuntu-os-release"))},
	))
	if cat.OS == nil || cat.OS.ID != "ubuntu" || cat.OS.VersionCodename != "jammy" {
		t.Fatalf("OS = %+v", cat.OS)
	}
	var seen int
	for _, c := range cat.Components {
		if c.Path != "var/lib/dpkg/status" {
			if c.Ecosystem != catalog.Npm {
				t.Errorf("non-OS component changed: %+v", c)
			}
			continue
		}
		seen++
		if c.Ecosystem != catalog.Ubuntu || !strings.HasPrefix(c.PURL, "pkg:deb/ubuntu/"+c.Name+"@") || !strings.HasSuffix(c.PURL, "&distro=ubuntu-22.04") {
			t.Errorf("%s: ecosystem %q purl %q", c.Name, c.Ecosystem, c.PURL)
		}
	}
	if seen != 2 {
		t.Errorf("%d dpkg packages, want 2", seen)
	}
}

func TestMergeIsDeterministicAndDoesNotAlias(t *testing.T) {
	layers := image(t,
		[]entry{reg("b.pkgs", "z 1\ny 2\ny 1"), reg("a.pkgs", "q 1"), reg("etc/alpine-release", "3.19.1\n")},
		[]entry{reg("c.pkgs", "badline")},
	)
	first := layer.Merge(layers)
	for range 20 {
		if got := layer.Merge(layers); !slices.Equal(rows(got), rows(first)) {
			t.Fatalf("Merge not deterministic: %v vs %v", rows(got), rows(first))
		}
	}
	want := []row{{"a.pkgs", "q", "1", digest(0)}, {"b.pkgs", "y", "1", digest(0)}, {"b.pkgs", "y", "2", digest(0)}, {"b.pkgs", "z", "1", digest(0)}}
	if !slices.Equal(rows(first), want) {
		t.Errorf("order %v, want %v", rows(first), want)
	}
	if len(first.Warnings) != 1 || first.Warnings[0] != `layer sha256:222222222222: lines: c.pkgs: bad line "badline"` {
		t.Errorf("warnings = %q", first.Warnings)
	}
	first.Components[0].Name = "changed"
	if layers[0].Files["a.pkgs"][0].Name != "q" {
		t.Error("Merge returned components sharing memory with its input")
	}
	if empty := layer.Merge(nil); empty.Components == nil || len(empty.Components) != 0 || empty.OS != nil {
		t.Errorf("Merge(nil) = %+v", empty)
	}
}

func TestMergeOpaqueRoot(t *testing.T) {
	cat := layer.Merge(image(t,
		[]entry{reg("a/x.pkgs", "x 1"), reg("top.pkgs", "t 1")},
		[]entry{reg(".wh..wh..opq", ""), reg("b/y.pkgs", "y 1")},
	))
	if got := rows(cat); !slices.Equal(got, []row{{"b/y.pkgs", "y", "1", digest(1)}}) {
		t.Errorf("merged %v", got)
	}
}
