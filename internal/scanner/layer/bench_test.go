package layer_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stockade-dev/stockade/internal/shareddata"

	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

// BenchmarkWalk walks a layer holding the real bookworm dpkg database, its
// os-release and a 100 MB file no analyzer wants: the cost of reading past
// content plus parsing the database.
func BenchmarkWalk(b *testing.B) {
	status, err := os.ReadFile(filepath.Join(shareddata.Dir(b), "os", "debian-bookworm-minbase", "dpkg-status"))
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeTar(&buf, []entry{
		reg("etc/os-release", testdata(b, "os-release")),
		reg("var/lib/dpkg/status", string(status)),
		{Name: "usr/lib/filler.bin", Type: tar.TypeReg, Size: 100 << 20},
	}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	w := layer.NewWalker(registry(b), layer.WalkerOptions{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := w.Walk(context.Background(), "sha256:aaaa", bytes.NewReader(data))
		if err != nil || len(res.Files["var/lib/dpkg/status"]) != 88 {
			b.Fatalf("Walk = %d packages, %v", len(res.Files["var/lib/dpkg/status"]), err)
		}
	}
}

// BenchmarkWarmScan is a rescan of the same image with every layer cached:
// no layer is opened, only cache files are read and merged.
func BenchmarkWarmScan(b *testing.B) {
	status, err := os.ReadFile(filepath.Join(shareddata.Dir(b), "os", "debian-bookworm-minbase", "dpkg-status"))
	if err != nil {
		b.Fatal(err)
	}
	data := tarball(b, reg("etc/os-release", testdata(b, "os-release")), reg("var/lib/dpkg/status", string(status)))
	cache, err := layer.NewFSCache(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	s := layer.NewScanner(layer.NewWalker(registry(b), layer.WalkerOptions{}), layer.ScannerOptions{Cache: cache})
	opens := 0
	refs := []layer.LayerRef{{Digest: digest(0), Open: func(context.Context) (io.ReadCloser, error) {
		opens++
		return io.NopCloser(bytes.NewReader(data)), nil
	}}}
	if _, err := s.Scan(context.Background(), refs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cat, err := s.Scan(context.Background(), refs)
		if err != nil || len(cat.Components) != 88 {
			b.Fatalf("Scan = %d components, %v", len(cat.Components), err)
		}
	}
	if opens != 1 {
		b.Fatalf("layer opened %d times", opens)
	}
}
