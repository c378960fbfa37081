// Command bigimage builds a large image for the image-scan memory benchmark
// and pushes it to a docker-registry it starts on a free loopback port.
//
// The image (linux/amd64, gzip layers) holds:
//   - a Debian bookworm base: etc/os-release and the real dpkg status of
//     debootstrap --variant=minbase (88 packages), from the shared data;
//   - -blobs files of -blob-mib MiB of incompressible bytes from a seeded
//     PRNG, one layer each;
//   - a Go binary (-go-binary, gofmt of the Go toolchain);
//   - a jar-like zip of -jar-mib MiB: a manifest, Maven pom.properties and
//     stored (uncompressed) random class files.
//
// Layers are written once, gzip-compressed, into -dir, hashing the tar and
// the blob on the way; the push reads them back from disk, so building a
// 1 GiB image takes little memory. The registry keeps running after bigimage
// exits (its storage is under -dir): bigimage prints "HOST PID" on stdout,
// and the caller stops the registry by that PID.
package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const osRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
`

// created dates the image and its tar entries, so that the same flags make
// the same digests.
func created() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }

type options struct {
	dir      string
	shared   string
	repo     string
	blobs    int
	blobMiB  int64
	jarMiB   int64
	seed     uint64
	registry string
	goBinary string
}

func main() {
	var o options
	flag.StringVar(&o.dir, "dir", "", "work directory for layer blobs and the registry's storage (required)")
	flag.StringVar(&o.shared, "shared", "../shared/data", "the shared test data directory")
	flag.StringVar(&o.repo, "repo", "big:1", "repository and tag to push")
	flag.IntVar(&o.blobs, "blobs", 4, "number of random-file layers")
	flag.Int64Var(&o.blobMiB, "blob-mib", 256, "size of each random file, MiB")
	flag.Int64Var(&o.jarMiB, "jar-mib", 100, "size of the jar, MiB")
	flag.Uint64Var(&o.seed, "seed", 1, "PRNG seed of the random bytes")
	flag.StringVar(&o.goBinary, "go-binary", "/usr/local/go/bin/gofmt", "Go binary to put in the image")
	flag.StringVar(&o.registry, "registry-bin", "docker-registry", "docker-registry binary")
	flag.Parse()
	if o.dir == "" {
		fmt.Fprintln(os.Stderr, "bigimage: -dir is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	host, pid, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bigimage:", err)
		os.Exit(1)
	}
	fmt.Printf("%s %d\n", host, pid)
}

func run(ctx context.Context, o options) (string, int, error) {
	layerDir := filepath.Join(o.dir, "layers")
	if err := os.MkdirAll(layerDir, 0o700); err != nil {
		return "", 0, fmt.Errorf("create %s: %w", layerDir, err)
	}
	img, err := buildImage(o, layerDir)
	if err != nil {
		return "", 0, err
	}
	reg, err := startRegistry(ctx, o.registry, filepath.Join(o.dir, "registry"))
	if err != nil {
		return "", 0, err
	}
	ref, err := name.ParseReference(reg.host+"/"+o.repo, name.Insecure)
	if err != nil {
		reg.kill()
		return "", 0, fmt.Errorf("reference %s: %w", o.repo, err)
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithJobs(2)); err != nil {
		reg.kill()
		return "", 0, fmt.Errorf("push %s: %w", ref, err)
	}
	// The blobs are in the registry's storage now.
	if err := os.RemoveAll(layerDir); err != nil {
		reg.kill()
		return "", 0, fmt.Errorf("remove %s: %w", layerDir, err)
	}
	return reg.host, reg.cmd.Process.Pid, nil
}

func buildImage(o options, dir string) (v1.Image, error) {
	status, err := os.ReadFile(filepath.Join(o.shared, "os", "debian-bookworm-minbase", "dpkg-status"))
	if err != nil {
		return nil, fmt.Errorf("read dpkg status: %w", err)
	}
	gofmt := o.goBinary
	if _, err := os.Stat(gofmt); err != nil {
		return nil, fmt.Errorf("go binary: %w", err)
	}
	rng := rand.NewChaCha8(seed32(o.seed))

	var layers []v1.Layer
	add := func(n string, write func(*tar.Writer) error) error {
		l, err := writeLayer(filepath.Join(dir, n+".tar.gz"), write)
		if err != nil {
			return fmt.Errorf("layer %s: %w", n, err)
		}
		layers = append(layers, l)
		return nil
	}
	if err := add("base", func(tw *tar.Writer) error {
		for _, d := range []string{"etc/", "var/", "var/lib/", "var/lib/dpkg/"} {
			if err := tw.WriteHeader(header(d, tar.TypeDir, 0)); err != nil {
				return err
			}
		}
		if err := writeBytes(tw, "etc/os-release", []byte(osRelease)); err != nil {
			return err
		}
		return writeBytes(tw, "var/lib/dpkg/status", status)
	}); err != nil {
		return nil, err
	}
	for i := range o.blobs {
		if err := add(fmt.Sprintf("blob-%d", i), func(tw *tar.Writer) error {
			h := header(fmt.Sprintf("opt/data/blob-%d.bin", i), tar.TypeReg, o.blobMiB<<20)
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			_, err := io.CopyN(tw, rng, h.Size)
			return err
		}); err != nil {
			return nil, err
		}
	}
	if err := add("gofmt", func(tw *tar.Writer) error { return writeFile(tw, "usr/local/bin/gofmt", gofmt, 0o755) }); err != nil {
		return nil, err
	}
	jar := filepath.Join(dir, "app.jar")
	if err := writeJar(jar, o.jarMiB<<20, rng); err != nil {
		return nil, fmt.Errorf("jar: %w", err)
	}
	if err := add("jar", func(tw *tar.Writer) error { return writeFile(tw, "opt/app/app.jar", jar, 0o644) }); err != nil {
		return nil, err
	}
	if err := os.Remove(jar); err != nil {
		return nil, fmt.Errorf("remove jar: %w", err)
	}

	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		d, _ := l.DiffID() // fileLayer knows it
		adds[i] = mutate.Addendum{Layer: l, History: v1.History{
			CreatedBy: "/bin/sh -c #(nop) ADD file:" + d.Hex + " in / ",
			Created:   v1.Time{Time: created()},
		}}
	}
	img, err := mutate.Append(empty.Image, adds...)
	if err != nil {
		return nil, fmt.Errorf("append layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", "amd64", v1.Time{Time: created()}
	cf.Config.Cmd = []string{"/usr/local/bin/gofmt"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	return img, nil
}

func seed32(s uint64) [32]byte {
	var b [32]byte
	binary.LittleEndian.PutUint64(b[:], s)
	return b
}

func header(n string, typ byte, size int64) *tar.Header {
	mode := int64(0o644)
	if typ == tar.TypeDir {
		mode = 0o755
	}
	return &tar.Header{Name: n, Typeflag: typ, Mode: mode, Size: size, ModTime: created(), Format: tar.FormatPAX}
}

func writeBytes(tw *tar.Writer, n string, b []byte) error {
	if err := tw.WriteHeader(header(n, tar.TypeReg, int64(len(b)))); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

func writeFile(tw *tar.Writer, n, path string, mode int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read-only
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	h := header(n, tar.TypeReg, fi.Size())
	h.Mode = mode
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("copy %s: %w", path, err)
	}
	return nil
}

// writeJar writes a zip of about size bytes shaped like a Maven jar: a
// manifest, pom.properties, and stored class files of random bytes.
func writeJar(path string, size int64, rng io.Reader) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := zip.NewWriter(bw)
	text := map[string]string{
		"META-INF/MANIFEST.MF": "Manifest-Version: 1.0\r\nImplementation-Title: bigapp\r\nImplementation-Version: 1.0.0\r\n" +
			"Implementation-Vendor: Stockade bench\r\nMain-Class: dev.stockade.bench.Main\r\n\r\n",
		"META-INF/maven/dev.stockade.bench/bigapp/pom.properties": "groupId=dev.stockade.bench\nartifactId=bigapp\nversion=1.0.0\n",
	}
	for _, n := range []string{"META-INF/MANIFEST.MF", "META-INF/maven/dev.stockade.bench/bigapp/pom.properties"} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: created()})
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, text[n]); err != nil {
			return err
		}
	}
	const classSize = 256 << 10
	for i := int64(0); i*classSize < size; i++ {
		n := fmt.Sprintf("dev/stockade/bench/p%03d/C%05d.class", i/100, i)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store, Modified: created()})
		if err != nil {
			return err
		}
		if _, err := io.CopyN(w, rng, min(classSize, size-i*classSize)); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// writeLayer writes the tar that write makes, gzip-compressed, to path, and
// returns it as a layer whose digests were computed on the way.
func writeLayer(path string, write func(*tar.Writer) error) (_ v1.Layer, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	blobHash, tarHash := sha256.New(), sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, blobHash), 1<<20)
	gz, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(io.MultiWriter(gz, tarHash))
	if err := write(tw); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return &fileLayer{path: path, size: fi.Size(), digest: sum(blobHash), diffID: sum(tarHash)}, nil
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
}

// fileLayer is a gzip layer blob on disk with known digests.
type fileLayer struct {
	path           string
	size           int64
	digest, diffID v1.Hash
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("gunzip %s: %w", l.path, err)
	}
	return &gunzipFile{Reader: gz, f: f}, nil
}

type gunzipFile struct {
	*gzip.Reader
	f *os.File
}

func (g *gunzipFile) Close() error {
	return errors.Join(g.Reader.Close(), g.f.Close())
}

type registryProc struct {
	host string
	cmd  *exec.Cmd
}

func (r *registryProc) kill() { _ = r.cmd.Process.Kill() }

// startRegistry runs an anonymous plain-HTTP docker-registry on a free
// loopback port with its storage in dir, and waits until it answers.
func startRegistry(ctx context.Context, bin, dir string) (*registryProc, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	host := ln.Addr().String()
	_ = ln.Close() // the registry binds it next
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %q
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %q
`, filepath.Join(dir, "storage"), host)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("write registry config: %w", err)
	}
	logFile, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		return nil, fmt.Errorf("create registry log: %w", err)
	}
	cmd := exec.Command(bin, "serve", cfgPath) //nolint:noctx,gosec // the registry outlives bigimage, the caller stops it by PID; G204: our binary, our config
	cmd.Stdout, cmd.Stderr, cmd.Dir = logFile, logFile, dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	startErr := cmd.Start()
	_ = logFile.Close() // the child has its own descriptor
	if startErr != nil {
		return nil, fmt.Errorf("run %s: %w", bin, startErr)
	}
	r := &registryProc{host: host, cmd: cmd}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/v2/", nil)
		if err != nil {
			r.kill()
			return nil, err
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.kill()
			return nil, fmt.Errorf("docker-registry on %s not ready (see %s): %w", host, filepath.Join(dir, "registry.log"), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
