package registrytest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// defaultCreated is the creation time of images and tar entries built here
// unless a test sets another, so that the same files make the same digests.
func defaultCreated() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }

// Entry is one tar entry of a layer, for layers a map of files cannot say:
// symlinks, hard links, modes, owners.
type Entry struct {
	Name     string
	Type     byte // tar.TypeReg when zero
	Linkname string
	Mode     int64 // 0644 for files, 0755 for directories when zero
	UID, GID int
	Body     []byte
}

// Compression of a layer blob.
type Compression string

// Layer compressions.
const (
	Gzip         Compression = "gzip"
	Zstd         Compression = "zstd"
	Uncompressed Compression = "none"
)

// Layer makes a gzip layer whose tar holds files, in path order. A key
// ending in "/" is a directory; whiteouts are ordinary names
// ("etc/.wh.passwd" deletes etc/passwd, "var/cache/.wh..wh..opq" empties
// var/cache), as in image layers.
func Layer(t testing.TB, files map[string][]byte) v1.Layer {
	t.Helper()
	return LayerFromEntries(t, Gzip, filesToEntries(files)...)
}

func filesToEntries(files map[string][]byte) []Entry {
	var entries []Entry
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if strings.HasSuffix(p, "/") {
			entries = append(entries, Entry{Name: p, Type: tar.TypeDir})
			continue
		}
		entries = append(entries, Entry{Name: p, Body: files[p]})
	}
	return entries
}

// LayerFromEntries makes a layer of the entries, in the order given, with
// the compression asked for.
func LayerFromEntries(t testing.TB, c Compression, entries ...Entry) v1.Layer {
	t.Helper()
	tarBytes, err := tarOf(entries)
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	opener := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tarBytes)), nil }
	var l v1.Layer
	switch c {
	case Gzip, "":
		l, err = tarball.LayerFromOpener(opener)
	case Zstd:
		l, err = tarball.LayerFromOpener(opener, tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	case Uncompressed:
		l = static.NewLayer(tarBytes, types.OCIUncompressedLayer)
	default:
		t.Fatalf("registrytest: unknown compression %q", c)
	}
	if err != nil {
		t.Fatalf("registrytest: layer: %v", err)
	}
	return l
}

func tarOf(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name:     e.Name,
			Typeflag: e.Type,
			Linkname: e.Linkname,
			Mode:     e.Mode,
			Uid:      e.UID,
			Gid:      e.GID,
			ModTime:  defaultCreated(),
			Format:   tar.FormatPAX,
		}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar entry %s: %w", e.Name, err)
		}
		if h.Size > 0 {
			if _, err := tw.Write(e.Body); err != nil {
				return nil, fmt.Errorf("tar entry %s: %w", e.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close tar: %w", err)
	}
	return buf.Bytes(), nil
}

// ImageFromFiles makes a linux/amd64 image with one gzip layer per map of
// files (see Layer), each with a history entry as docker's classic builder
// writes for ADD. Images and tar entries are dated 2024-01-02T03:04:05Z, so
// the same files make the same digests.
func ImageFromFiles(t testing.TB, layers ...map[string][]byte) v1.Image {
	t.Helper()
	ls := make([]v1.Layer, len(layers))
	for i, files := range layers {
		ls[i] = Layer(t, files)
	}
	return ImageFromLayers(t, ls...)
}

// ImageFromLayers makes a linux/amd64 image of the layers. It uses Docker
// media types unless a layer has an OCI media type (zstd, uncompressed),
// which needs an OCI manifest.
func ImageFromLayers(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	base := empty.Image
	for _, l := range layers {
		mt, err := l.MediaType()
		if err != nil {
			t.Fatalf("registrytest: layer media type: %v", err)
		}
		if !strings.Contains(string(mt), types.DockerVendorPrefix) {
			base = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
			break
		}
	}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		diffID, err := l.DiffID()
		if err != nil {
			t.Fatalf("registrytest: layer diff id: %v", err)
		}
		adds[i] = mutate.Addendum{Layer: l, History: v1.History{
			CreatedBy: fmt.Sprintf("/bin/sh -c #(nop) ADD file:%s in / ", diffID.Hex),
			Created:   v1.Time{Time: defaultCreated()},
		}}
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		t.Fatalf("registrytest: append layers: %v", err)
	}
	return WithConfig(t, img, Config{Created: defaultCreated(), OS: "linux", Architecture: "amd64"})
}

// Config is what WithConfig sets in an image config; zero fields leave the
// image's value as it is.
type Config struct {
	User         string
	Env          []string
	Entrypoint   []string
	Cmd          []string
	WorkingDir   string
	Labels       map[string]string
	ExposedPorts []string // "22/tcp"
	Volumes      []string
	Created      time.Time
	// History replaces the image's history. Entries without EmptyLayer
	// belong to the layers, in order, so there must be one per layer.
	History []v1.History

	OS, Architecture, Variant string
}

// WithConfig returns img with c applied to its config.
func WithConfig(t testing.TB, img v1.Image, c Config) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("registrytest: config file: %v", err)
	}
	cf = cf.DeepCopy()
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&cf.Config.User, c.User)
	set(&cf.Config.WorkingDir, c.WorkingDir)
	set(&cf.OS, c.OS)
	set(&cf.Architecture, c.Architecture)
	set(&cf.Variant, c.Variant)
	if c.Env != nil {
		cf.Config.Env = c.Env
	}
	if c.Entrypoint != nil {
		cf.Config.Entrypoint = c.Entrypoint
	}
	if c.Cmd != nil {
		cf.Config.Cmd = c.Cmd
	}
	if c.Labels != nil {
		cf.Config.Labels = c.Labels
	}
	if c.ExposedPorts != nil {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range c.ExposedPorts {
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	if c.Volumes != nil {
		cf.Config.Volumes = map[string]struct{}{}
		for _, v := range c.Volumes {
			cf.Config.Volumes[v] = struct{}{}
		}
	}
	if !c.Created.IsZero() {
		cf.Created = v1.Time{Time: c.Created}
	}
	if c.History != nil {
		nonEmpty := 0
		for _, h := range c.History {
			if !h.EmptyLayer {
				nonEmpty++
			}
		}
		if nonEmpty != len(cf.RootFS.DiffIDs) {
			t.Fatalf("registrytest: history has %d non-empty entries for %d layers", nonEmpty, len(cf.RootFS.DiffIDs))
		}
		cf.History = c.History
	}
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatalf("registrytest: set config: %v", err)
	}
	return out
}

// PlatformImage is an image of a multi-arch index with its platform
// ("linux/arm64", "linux/arm/v7").
type PlatformImage struct {
	Platform string
	Image    v1.Image
}

// Index makes a multi-arch index of the images, setting each image config's
// os, architecture and variant to its platform. It is a Docker manifest list
// when all images are Docker images, an OCI index otherwise.
func Index(t testing.TB, images ...PlatformImage) v1.ImageIndex {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	docker := true
	adds := make([]mutate.IndexAddendum, len(images))
	for i, pi := range images {
		p, err := v1.ParsePlatform(pi.Platform)
		if err != nil {
			t.Fatalf("registrytest: platform %q: %v", pi.Platform, err)
		}
		img := WithConfig(t, pi.Image, Config{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant})
		mt, err := img.MediaType()
		if err != nil {
			t.Fatalf("registrytest: image media type: %v", err)
		}
		docker = docker && strings.Contains(string(mt), types.DockerVendorPrefix)
		adds[i] = mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{MediaType: mt, Platform: p}}
	}
	if docker {
		idx = mutate.IndexMediaType(idx, types.DockerManifestList)
	}
	return mutate.AppendManifests(idx, adds...)
}
