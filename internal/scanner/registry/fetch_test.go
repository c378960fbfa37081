package registry_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stockade-dev/stockade/internal/registrytest"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
)

// sharedData is ../shared/data beside the module root.
func sharedData(t *testing.T, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data", rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

var created = time.Date(2023, 6, 7, 8, 9, 10, 0, time.UTC)

// debianLikeImage is four layers with the history a Dockerfile of both
// builders leaves, and the real dpkg database of a Debian bookworm
// minbase system in its first layer.
func debianLikeImage(t *testing.T) v1.Image {
	t.Helper()
	dpkg, err := os.ReadFile(sharedData(t, "os/debian-bookworm-minbase/dpkg-status"))
	if err != nil {
		t.Fatal(err)
	}
	img := registrytest.ImageFromFiles(t,
		map[string][]byte{"etc/os-release": []byte("ID=debian\nVERSION_ID=\"12\"\n"), "var/lib/dpkg/status": dpkg},
		map[string][]byte{"usr/sbin/sshd": []byte("ELF"), "etc/ssh/": nil},
		map[string][]byte{"usr/local/bin/app": []byte("app"), "var/lib/dpkg/.wh.status-old": nil},
		map[string][]byte{"app/config.yaml": []byte("a: 1\n"), "tmp/.wh..wh..opq": nil},
	)
	h := func(createdBy string, empty bool) v1.History {
		return v1.History{CreatedBy: createdBy, EmptyLayer: empty, Created: v1.Time{Time: created}}
	}
	return registrytest.WithConfig(t, img, registrytest.Config{
		User:         "app",
		Env:          []string{"PATH=/usr/local/bin:/usr/bin", "MODE=prod"},
		Entrypoint:   []string{"/usr/local/bin/app"},
		Cmd:          []string{"--serve"},
		WorkingDir:   "/app",
		Labels:       map[string]string{"org.opencontainers.image.source": "https://example.com/app", "team": "payments"},
		ExposedPorts: []string{"8080/tcp", "22/tcp"},
		Volumes:      []string{"/data", "/cache"},
		Created:      created,
		History: []v1.History{
			h("/bin/sh -c #(nop) ADD file:5d9a2c0b1e in / ", false),
			h(`/bin/sh -c #(nop)  CMD ["bash"]`, true),
			h("/bin/sh -c apt-get update && apt-get install -y openssh-server", false),
			h("/bin/sh -c #(nop)  EXPOSE 22/tcp", true),
			h("|2 VERSION=1.2 TARGET=prod /bin/sh -c make install", false),
			h("USER app", true),
			h("COPY config.yaml /app/ # buildkit", false),
			h("EXPOSE map[8080/tcp:{}]", true),
		},
	})
}

func TestFetchMetadataAndLayers(t *testing.T) {
	reg := registrytest.Start(t)
	img := debianLikeImage(t)
	reg.Push(t, "team/app:1.0", img)
	wantDigest, _ := img.Digest()

	got, err := registry.Fetch(t.Context(), reg.Ref("team/app:1.0"), registry.Options{Resolver: insecureResolver(t, reg)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != wantDigest.String() || got.IndexDigest != "" || got.Platform != "linux/amd64" {
		t.Errorf("digest %s index %q platform %q", got.Digest, got.IndexDigest, got.Platform)
	}
	if got.Registry != reg.Host || got.Remote != "team/app" || got.Tag != "1.0" || got.FullName != reg.Host+"/team/app:1.0" {
		t.Errorf("names: %q %q %q %q", got.Registry, got.Remote, got.Tag, got.FullName)
	}
	m := got.Metadata
	if m.User != "app" || m.WorkingDir != "/app" || !m.Created.Equal(created) ||
		strings.Join(m.Env, ",") != "PATH=/usr/local/bin:/usr/bin,MODE=prod" ||
		strings.Join(m.Entrypoint, " ") != "/usr/local/bin/app" || strings.Join(m.Cmd, " ") != "--serve" ||
		strings.Join(m.ExposedPorts, " ") != "22/tcp 8080/tcp" || strings.Join(m.Volumes, " ") != "/cache /data" ||
		m.Labels["team"] != "payments" {
		t.Errorf("metadata = %+v", m)
	}
	type line struct {
		instr, value string
		layer        int // index into the manifest layers, -1 for empty
	}
	want := []line{
		{"ADD", "file:5d9a2c0b1e in /", 0},
		{"CMD", `["bash"]`, -1},
		{"RUN", "apt-get update && apt-get install -y openssh-server", 1},
		{"EXPOSE", "22/tcp", -1},
		{"RUN", "make install", 2},
		{"USER", "app", -1},
		{"COPY", "config.yaml /app/", 3},
		{"EXPOSE", "8080/tcp", -1},
	}
	layers := got.Layers()
	if len(m.Layers) != len(want) || len(layers) != 4 || len(got.Notes) != 0 {
		t.Fatalf("%d history lines, %d layers, notes %v", len(m.Layers), len(layers), got.Notes)
	}
	for i, w := range want {
		l := m.Layers[i]
		if l.Instruction != w.instr || l.Value != w.value || !l.Created.Equal(created) {
			t.Errorf("line %d = %s %q, want %s %q", i, l.Instruction, l.Value, w.instr, w.value)
		}
		if w.layer < 0 {
			if !l.Empty || l.Digest != "" {
				t.Errorf("line %d should be empty: %+v", i, l)
			}
			continue
		}
		if l.Empty || l.Digest != layers[w.layer].Digest || l.Size != layers[w.layer].Size || l.Size <= 0 {
			t.Errorf("line %d: digest %s size %d, want layer %d %s", i, l.Digest, l.Size, w.layer, layers[w.layer].Digest)
		}
	}
	wantLayers, _ := img.Layers()
	for i, l := range layers {
		d, _ := wantLayers[i].Digest()
		if l.Digest != d.String() || !strings.Contains(l.MediaType, "tar") {
			t.Errorf("layer %d = %+v, want %s", i, l, d)
		}
	}

	// The layers read back as their tar files.
	files := readLayer(t, layers[0])
	dpkg, _ := os.ReadFile(sharedData(t, "os/debian-bookworm-minbase/dpkg-status"))
	if files["var/lib/dpkg/status"] != string(dpkg) || !strings.Contains(files["etc/os-release"], "ID=debian") {
		t.Errorf("first layer: %d files, dpkg status %d bytes", len(files), len(files["var/lib/dpkg/status"]))
	}
	if files := readLayer(t, layers[2]); files["var/lib/dpkg/.wh.status-old"] != "" || len(files) != 2 {
		t.Errorf("whiteout layer: %v", files)
	}
	if _, ok := readLayer(t, layers[3])["tmp/.wh..wh..opq"]; !ok {
		t.Error("opaque whiteout missing")
	}

	// The scan result starts from the fetched image.
	si := got.ScanImage()
	if si.Digest != got.Digest || si.FullName != got.FullName || len(si.Metadata.Layers) != 8 {
		t.Errorf("ScanImage = %+v", si)
	}

	// By digest too.
	byDigest, err := registry.Fetch(t.Context(), reg.Ref("team/app@"+wantDigest.String()), registry.Options{Resolver: insecureResolver(t, reg)})
	if err != nil || byDigest.Tag != "" || byDigest.Digest != wantDigest.String() || !strings.HasSuffix(byDigest.FullName, "@"+wantDigest.String()) {
		t.Errorf("by digest: %+v %v", byDigest, err)
	}
}

func TestLayerCompressions(t *testing.T) {
	reg := registrytest.Start(t)
	img := registrytest.ImageFromLayers(t,
		registrytest.LayerFromEntries(t, registrytest.Gzip, registrytest.Entry{Name: "g", Body: []byte("gzip")}),
		registrytest.LayerFromEntries(t, registrytest.Zstd, registrytest.Entry{Name: "z", Body: []byte(strings.Repeat("zstd", 10000))}),
		registrytest.LayerFromEntries(t, registrytest.Uncompressed,
			registrytest.Entry{Name: "u", Body: []byte("plain")},
			registrytest.Entry{Name: "link", Type: tar.TypeSymlink, Linkname: "/etc/passwd"}),
	)
	reg.Push(t, "comp:1", img)
	got, err := registry.Fetch(t.Context(), reg.Ref("comp:1"), registry.Options{Resolver: insecureResolver(t, reg)})
	if err != nil {
		t.Fatal(err)
	}
	layers := got.Layers()
	if len(layers) != 3 || !strings.HasSuffix(layers[1].MediaType, "+zstd") || !strings.HasSuffix(layers[2].MediaType, ".tar") {
		t.Fatalf("layers %+v", layers)
	}
	if f := readLayer(t, layers[0]); f["g"] != "gzip" {
		t.Errorf("gzip layer %v", f)
	}
	if f := readLayer(t, layers[1]); f["z"] != strings.Repeat("zstd", 10000) {
		t.Errorf("zstd layer has %d bytes", len(f["z"]))
	}
	if f := readLayer(t, layers[2]); f["u"] != "plain" || f["link"] != "-> /etc/passwd" {
		t.Errorf("uncompressed layer %v", f)
	}
	// A LayerRef not from Fetch says so.
	if _, err := (registry.LayerRef{Digest: "sha256:x"}).Open(t.Context()); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("bare LayerRef: %v", err)
	}
}

func TestMultiArch(t *testing.T) {
	reg := registrytest.Start(t)
	amd := registrytest.ImageFromFiles(t, map[string][]byte{"arch": []byte("amd64")})
	arm := registrytest.ImageFromFiles(t, map[string][]byte{"arch": []byte("arm64")})
	armv7 := registrytest.ImageFromFiles(t, map[string][]byte{"arch": []byte("armv7")})
	idx := registrytest.Index(t,
		registrytest.PlatformImage{Platform: "linux/arm/v7", Image: armv7},
		registrytest.PlatformImage{Platform: "linux/arm64/v8", Image: arm},
		registrytest.PlatformImage{Platform: "linux/amd64", Image: amd},
		registrytest.PlatformImage{Platform: "unknown/unknown", Image: registrytest.ImageFromFiles(t, map[string][]byte{"att": nil})},
	)
	indexRef := reg.PushIndex(t, "multi:1", idx)
	idxDigest, _ := idx.Digest()
	opts := registry.Options{Resolver: insecureResolver(t, reg)}

	check := func(platform, wantPlatform, wantFile string) {
		t.Helper()
		o := opts
		o.Platform = platform
		got, err := registry.Fetch(t.Context(), reg.Ref("multi:1"), o)
		if err != nil {
			t.Fatalf("platform %q: %v", platform, err)
		}
		if got.IndexDigest != idxDigest.String() || got.Platform != wantPlatform || got.Digest == got.IndexDigest {
			t.Errorf("platform %q: index %s platform %s digest %s", platform, got.IndexDigest, got.Platform, got.Digest)
		}
		if f := readLayer(t, got.Layers()[0]); f["arch"] != wantFile {
			t.Errorf("platform %q: got the %q image", platform, f["arch"])
		}
	}
	check("", "linux/amd64", "amd64")
	check("linux/arm64", "linux/arm64/v8", "arm64")
	check("linux/arm64/v8", "linux/arm64/v8", "arm64")
	check("linux/arm/v7", "linux/arm/v7", "armv7")

	o := opts
	o.Platform = "linux/s390x"
	_, err := registry.Fetch(t.Context(), indexRef, o)
	if !errors.Is(err, registry.ErrNotFound) || !strings.Contains(err.Error(), "no linux/s390x image in the index (platforms: linux/amd64, linux/arm/v7, linux/arm64/v8)") {
		t.Errorf("missing platform: %v", err)
	}
	o.Platform = "linux"
	if _, err := registry.Fetch(t.Context(), indexRef, o); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("bad platform: %v", err)
	}
	// A single-platform image asked for another platform.
	reg.Push(t, "single:1", amd)
	o.Platform = "linux/arm64"
	if _, err := registry.Fetch(t.Context(), reg.Ref("single:1"), o); !errors.Is(err, registry.ErrNotFound) ||
		!strings.Contains(err.Error(), "single-platform linux/amd64 image, not linux/arm64") {
		t.Errorf("single platform mismatch: %v", err)
	}
}

// insecureResolver has one integration for reg, marked insecure when reg
// speaks plain HTTP, with reg's credentials.
func insecureResolver(t *testing.T, reg *registrytest.Registry) *registry.Resolver {
	t.Helper()
	r, err := registry.NewResolver([]registry.Integration{integrationFor(reg)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func integrationFor(reg *registrytest.Registry) registry.Integration {
	return registry.Integration{
		ID: "test", Name: "test registry", Type: registry.TypeDocker, Endpoint: reg.Host,
		Username: reg.Username, Password: registry.Secret(reg.Password), Insecure: !reg.TLS,
	}
}

// readLayer reads a layer's tar into name → content ("-> target" for links).
func readLayer(t *testing.T, l registry.LayerRef) map[string]string {
	t.Helper()
	rc, err := l.Open(t.Context())
	if err != nil {
		t.Fatalf("open layer %s: %v", l.Digest, err)
	}
	files, err := tarFiles(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("read layer %s: %v", l.Digest, err)
	}
	return files
}

func tarFiles(r io.Reader) (map[string]string, error) {
	tr := tar.NewReader(r)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil // stops at the end-of-archive blocks, as tar readers do
		}
		if err != nil {
			return files, err
		}
		if h.Typeflag == tar.TypeSymlink {
			files[h.Name] = "-> " + h.Linkname
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return files, err
		}
		files[h.Name] = string(b)
	}
}

// ctxTimeout is a context for tests that expect a timeout.
func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
