package scanner

import (
	"context"
	"testing"

	"github.com/stockade-dev/stockade/internal/registrytest"
	"github.com/stockade-dev/stockade/internal/shareddata"
)

// benchImage is the bookworm minbase package database with its os-release,
// as one layer: the image the performance targets are stated for.
func benchImage(b *testing.B, e *env) string {
	b.Helper()
	img := registrytest.ImageFromFiles(b, map[string][]byte{
		"etc/os-release":      readFile(b, "testdata/debian-bookworm-os-release"),
		"var/lib/dpkg/status": readFile(b, shareddata.Path(b, "os", "debian-bookworm-minbase", "dpkg-status")),
	})
	return e.push(b, "debian/minbase:bookworm", img)
}

// BenchmarkScanCold is a scan with no cached layer: manifest, download,
// catalog and match, against a database holding the whole Go vulnerability
// database, Alpine 3.4's secdb and the Debian bookworm fixture.
func BenchmarkScanCold(b *testing.B) {
	e := newEnv(b)
	ref := benchImage(b, e)
	s := e.scanner(b, b.TempDir())
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Scan(ctx, ref, ScanOptions{Force: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanWarm is a rescan with every layer cached: the manifest and
// config are read again, the catalog comes from the cache and is matched.
// Target: under 100 ms.
func BenchmarkScanWarm(b *testing.B) {
	e := newEnv(b)
	ref := benchImage(b, e)
	s := e.scanner(b, b.TempDir())
	ctx := context.Background()
	if _, err := s.Scan(ctx, ref, ScanOptions{}); err != nil {
		b.Fatal(err)
	}
	e.proxy.reset()
	for b.Loop() {
		if _, err := s.Scan(ctx, ref, ScanOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	e.proxy.mu.Lock()
	n := len(e.proxy.blobs)
	e.proxy.mu.Unlock()
	// The config blob is read on each scan; layers never are.
	if n > 1 {
		b.Fatalf("warm rescans downloaded %d distinct blobs, want only the config", n)
	}
}
