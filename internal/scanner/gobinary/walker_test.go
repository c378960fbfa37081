package gobinary

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"slices"
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

// TestWalkLayer runs the analyzer inside the real layer walker: a layer
// holding the Go binary (spooled to disk: it is above the walker's memory
// threshold), a symlink to it, a C binary and a script.
func TestWalkLayer(t *testing.T) {
	bin, err := os.ReadFile(binaries(t)["linux"])
	if err != nil {
		t.Fatal(err)
	}
	sh, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, data []byte) {
		h.Size = int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	add(&tar.Header{Name: "usr/local/bin/vulnapp", Mode: 0o755, Typeflag: tar.TypeReg}, bin)
	add(&tar.Header{Name: "usr/bin/vulnapp", Typeflag: tar.TypeSymlink, Linkname: "../local/bin/vulnapp"}, nil)
	add(&tar.Header{Name: "bin/sh", Mode: 0o755, Typeflag: tar.TypeReg}, sh)
	add(&tar.Header{Name: "usr/local/bin/entrypoint.sh", Mode: 0o755, Typeflag: tar.TypeReg}, bytes.Repeat([]byte("echo hi\n"), 1<<14))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}

	reg, err := layer.NewRegistry(New())
	if err != nil {
		t.Fatal(err)
	}
	w := layer.NewWalker(reg, layer.WalkerOptions{TempDir: t.TempDir(), Limits: layer.Limits{MemThreshold: 1 << 20}})
	res, err := w.Walk(context.Background(), "sha256:test", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) > 0 {
		t.Errorf("warnings: %q", res.Warnings)
	}
	got := res.Files["usr/local/bin/vulnapp"]
	var names []string
	for _, c := range got {
		if c.Ecosystem != catalog.Go || c.Layer != "sha256:test" || c.Path != "usr/local/bin/vulnapp" {
			t.Errorf("component %+v", c)
		}
		names = append(names, c.Name+"@"+c.Version)
	}
	slices.Sort(names)
	want := []string{"golang.org/x/net@v0.7.0", "golang.org/x/text@v0.3.5"}
	if len(names) != 3 || !slices.Equal(names[:2], want) || names[2][:len("stdlib@v1.")] != "stdlib@v1." {
		t.Errorf("components = %v", names)
	}
	for _, p := range []string{"bin/sh", "usr/local/bin/entrypoint.sh", "usr/bin/vulnapp"} {
		if len(res.Files[p]) > 0 {
			t.Errorf("%s: components %+v", p, res.Files[p])
		}
	}
}
