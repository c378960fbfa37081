package layer_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

func TestFSCache(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "cache")
	c, err := layer.NewFSCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	res := image(t, []entry{reg("usr/lib/os-release", testdata(t, "os-release")), reg("var/lib/dpkg/status", testdata(t, "status-v1")), reg("opt/.wh.x", "")})[0]
	versions := res.AnalyzerVersions

	if _, ok := c.Get(ctx, res.Digest, versions); ok {
		t.Fatal("hit in an empty cache")
	}
	if err := c.Put(ctx, res); err != nil {
		t.Fatal(err)
	}
	got, ok := c.Get(ctx, res.Digest, versions)
	if !ok || !reflect.DeepEqual(got, res) {
		t.Fatalf("Get after Put = %+v, %v; want %+v", got, ok, res)
	}

	bumped := maps.Clone(versions)
	bumped["dpkg"]++
	if _, ok := c.Get(ctx, res.Digest, bumped); ok {
		t.Error("hit with a bumped analyzer version")
	}
	fewer := maps.Clone(versions)
	delete(fewer, "apk")
	if _, ok := c.Get(ctx, res.Digest, fewer); ok {
		t.Error("hit with a different analyzer set")
	}
	if _, ok := c.Get(ctx, digest(7), versions); ok {
		t.Error("hit for another digest")
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "sha256-"+strings.Repeat("1", 64)+".json" {
		t.Errorf("cache directory holds %v, want one JSON file named for the digest", entries)
	}
	if st, _ := entries[0].Info(); st.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v", st.Mode())
	}

	// A corrupt entry is a miss, and the next Put repairs it.
	name := filepath.Join(dir, entries[0].Name())
	if err := os.WriteFile(name, []byte(`{"digest": "sha256:1111`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(ctx, res.Digest, versions); ok {
		t.Error("hit on a corrupt entry")
	}
	if err := c.Put(ctx, res); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(ctx, res.Digest, versions); !ok {
		t.Error("miss after repairing Put")
	}

	// Digests are checked before they become file names.
	for _, bad := range []string{"../../etc/passwd", "sha256:../../x", "sha256:abc/def", "", "sha256:"} {
		r := res
		r.Digest = bad
		if err := c.Put(ctx, r); err == nil {
			t.Errorf("Put accepted digest %q", bad)
		}
		if _, ok := c.Get(ctx, bad, versions); ok {
			t.Errorf("Get hit for digest %q", bad)
		}
	}
	if err := c.Delete(res.Digest); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(ctx, res.Digest, versions); ok {
		t.Error("hit after Delete")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left in the cache directory: %v", left)
	}
}

// counted is a layer whose opens are counted, as a registry download would be.
type counted struct {
	data  []byte
	opens atomic.Int32
}

func (c *counted) ref(d string) layer.LayerRef {
	return layer.LayerRef{Digest: d, Open: func(context.Context) (io.ReadCloser, error) {
		c.opens.Add(1)
		return io.NopCloser(bytes.NewReader(c.data)), nil
	}}
}

func TestScannerSecondScanOpensNothing(t *testing.T) {
	ctx := context.Background()
	cache, err := layer.NewFSCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	layers := []*counted{
		{data: tarball(t, reg("usr/lib/os-release", testdata(t, "os-release")), reg("var/lib/dpkg/status", testdata(t, "status-v1")))},
		{data: tarball(t, reg("opt/a.pkgs", "a 1"))},
		{data: tarball(t, reg("var/lib/dpkg/status", testdata(t, "status-v2")))},
	}
	refs := func() []layer.LayerRef {
		var out []layer.LayerRef
		for i, l := range layers {
			out = append(out, l.ref(digest(i)))
		}
		return out
	}
	opens := func() (n int32) {
		for _, l := range layers {
			n += l.opens.Load()
		}
		return n
	}
	s := layer.NewScanner(layer.NewWalker(registry(t), layer.WalkerOptions{}), layer.ScannerOptions{Cache: cache, Parallel: 2})

	first, err := s.Scan(ctx, refs())
	if err != nil {
		t.Fatal(err)
	}
	if got := opens(); got != 3 {
		t.Fatalf("first scan opened %d layers, want 3", got)
	}
	second, err := s.Scan(ctx, refs())
	if err != nil {
		t.Fatal(err)
	}
	if got := opens(); got != 3 {
		t.Errorf("second scan opened %d more layers, want 0", got-3)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("cached scan differs:\n%+v\n%+v", first, second)
	}
	if got := rows(second); len(got) != 2 || got[1].name != "libssl3" || got[1].version != "3.0.13-1~deb12u1" || got[1].layer != digest(2) {
		t.Errorf("catalog rows %v", got)
	}

	// A fresh scanner over the same cache directory (a new process) also
	// opens nothing; a new analyzer set misses.
	s2 := layer.NewScanner(layer.NewWalker(registry(t), layer.WalkerOptions{}), layer.ScannerOptions{Cache: cache})
	if _, err := s2.Scan(ctx, refs()); err != nil || opens() != 3 {
		t.Errorf("new scanner: err %v, opens %d", err, opens())
	}
	s3 := layer.NewScanner(layer.NewWalker(registry(t, named("extra")), layer.WalkerOptions{}), layer.ScannerOptions{Cache: cache})
	if _, err := s3.Scan(ctx, refs()); err != nil || opens() != 6 {
		t.Errorf("new analyzer set: err %v, opens %d, want 6", err, opens())
	}

	// Rescan walks everything again.
	if _, err := s.Rescan(ctx, refs()); err != nil || opens() != 9 {
		t.Errorf("rescan: err %v, opens %d, want 9", err, opens())
	}
}

func TestScannerDoesNotCacheIncompleteLayers(t *testing.T) {
	ctx := context.Background()
	cache, err := layer.NewFSCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := &counted{data: tarball(t, reg("a.pkgs", "a 1"), entry{Name: "big", Type: tar.TypeReg, Size: 2 << 20})}
	s := layer.NewScanner(layer.NewWalker(registry(t), layer.WalkerOptions{Limits: layer.Limits{MaxLayerBytes: 1 << 20}}), layer.ScannerOptions{Cache: cache})
	for range 2 {
		cat, err := s.Scan(ctx, []layer.LayerRef{l.ref(digest(0))})
		if err != nil {
			t.Fatal(err)
		}
		if len(cat.Warnings) != 1 || !strings.Contains(cat.Warnings[0], "stopped after 1048576 bytes") {
			t.Errorf("warnings = %q", cat.Warnings)
		}
	}
	if got := l.opens.Load(); got != 2 {
		t.Errorf("opened %d times, want 2 (a partial result is not cached)", got)
	}
}

func TestScannerErrorsAndParallelism(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	running, peak := 0, 0
	gate := make(chan struct{})
	var refs []layer.LayerRef
	for i := range 6 {
		refs = append(refs, layer.LayerRef{Digest: digest(i), Open: func(context.Context) (io.ReadCloser, error) {
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			<-gate
			return &closer{Reader: bytes.NewReader(tarball(t, reg("a.pkgs", "a 1"))), done: func() {
				mu.Lock()
				running--
				mu.Unlock()
			}}, nil
		}})
	}
	// The same layer twice is walked once.
	refs = append(refs, refs[0])
	s := layer.NewScanner(layer.NewWalker(registry(t), layer.WalkerOptions{}), layer.ScannerOptions{Parallel: 3})
	go func() {
		for range 6 {
			gate <- struct{}{}
		}
	}()
	rs, err := s.Layers(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 7 || rs[6].Digest != digest(0) || rs[3].Digest != digest(3) {
		t.Errorf("results out of order")
	}
	if peak > 3 || peak < 1 {
		t.Errorf("peak parallel walks %d, want 1..3", peak)
	}

	failing := layer.LayerRef{Digest: digest(8), Open: func(context.Context) (io.ReadCloser, error) {
		return nil, errors.New("registry said 404")
	}}
	_, err = s.Scan(ctx, []layer.LayerRef{failing})
	if err == nil || err.Error() != "open layer "+digest(8)+": registry said 404" {
		t.Errorf("Scan error = %v", err)
	}
	broken := layer.LayerRef{Digest: digest(9), Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(strings.Repeat("x", 2000))), nil
	}}
	if _, err := s.Scan(ctx, []layer.LayerRef{broken}); err == nil || !strings.Contains(err.Error(), "walk layer "+digest(9)) {
		t.Errorf("Scan error = %v", err)
	}
	if _, err := s.Scan(ctx, []layer.LayerRef{{Open: failing.Open}}); err == nil {
		t.Error("layer without digest accepted")
	}
}

type closer struct {
	io.Reader
	done func()
}

func (c *closer) Close() error {
	c.done()
	return nil
}

// TestCacheRoundTripKeepsEverything guards the JSON shape: a cached result
// merges to the same catalog as a fresh one.
func TestCacheRoundTripKeepsEverything(t *testing.T) {
	ctx := context.Background()
	cache, err := layer.NewFSCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	results := image(t,
		[]entry{reg("usr/lib/os-release", testdata(t, "os-release")), reg("var/lib/dpkg/status", testdata(t, "status-v1")), reg("x.pkgs", "bad")},
		[]entry{reg("opt/.wh.app", ""), reg("srv/.wh..wh..opq", ""), reg("var/lib/dpkg/status", "")},
	)
	var back []catalog.LayerResult
	for _, r := range results {
		if err := cache.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, ok := cache.Get(ctx, r.Digest, r.AnalyzerVersions)
		if !ok {
			t.Fatal("miss")
		}
		back = append(back, got)
	}
	if !reflect.DeepEqual(back, results) {
		t.Errorf("round trip changed results:\n%+v\n%+v", back, results)
	}
	if got := back[1].Files["var/lib/dpkg/status"]; got == nil || len(got) != 0 {
		t.Errorf("emptied database lost in the cache: %#v", got)
	}
}
