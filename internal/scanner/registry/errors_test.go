package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stockade-dev/stockade/internal/registrytest"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
)

// faultProxy stands between the client and a real anonymous registry to
// inject the failures a registry cannot be made to produce on purpose: a
// slow answer, a blob cut short or altered.
type faultProxy struct {
	Host string
	// delay holds requests whose path contains delayPath.
	delay     time.Duration
	delayPath string
	// blob is the digest whose download fault alters.
	blob  string
	fault string // "short", "cut", "corrupt", "long"
	// manifest rewrites manifests as a hostile registry would.
	manifest func([]byte) []byte
}

func startProxy(t *testing.T, reg *registrytest.Registry, p *faultProxy) *faultProxy {
	t.Helper()
	target, _ := url.Parse(reg.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.delay > 0 && strings.Contains(r.URL.Path, p.delayPath) {
			select {
			case <-time.After(p.delay):
			case <-r.Context().Done():
				return
			}
		}
		if p.fault != "" && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+p.blob) {
			p.serveFaultyBlob(w, r, reg)
			return
		}
		if p.manifest != nil && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
			req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, reg.URL()+r.URL.Path, nil)
			req.Header = r.Header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = p.manifest(body)
			w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	p.Host = hs.Listener.Addr().String()
	return p
}

func (p *faultProxy) serveFaultyBlob(w http.ResponseWriter, r *http.Request, reg *registrytest.Registry) {
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, reg.URL()+r.URL.Path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Docker-Content-Digest", p.blob)
	switch p.fault {
	case "short": // a consistent answer, just shorter than the blob
		body = body[:len(body)/2]
	case "cut": // the connection drops mid-body
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case "corrupt":
		body = bytes.Clone(body)
		body[len(body)/2] ^= 0xff
	case "long":
		body = append(bytes.Clone(body), make([]byte, 4096)...)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// proxied fetches ref through the proxy, as an insecure integration.
func proxied(ctx context.Context, t *testing.T, p *faultProxy, repoRef string) (*registry.Image, error) {
	t.Helper()
	r := resolverOf(t, registry.Integration{Name: "proxy", Type: registry.TypeDocker, Endpoint: p.Host, Insecure: true})
	return registry.Fetch(ctx, p.Host+"/"+repoRef, registry.Options{Resolver: r})
}

func TestRegistryDown(t *testing.T) {
	reg := registrytest.Start(t)
	reg.Push(t, "app:1", smallImage(t, "x").Image)
	reg.Stop()
	start := time.Now()
	_, err := registry.Fetch(t.Context(), reg.Ref("app:1"), registry.Options{Resolver: insecureResolver(t, reg)})
	want := "registry " + reg.Host + " is not reachable: "
	if !errors.Is(err, registry.ErrUnreachable) || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("down: %v\nwant prefix %q", err, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a refused connection took %s to report", d)
	}
	var re *registry.Error
	if !errors.As(err, &re) || re.Host != reg.Host || re.Ref != reg.Ref("app:1") || re.Kind != registry.KindUnreachable {
		t.Errorf("error fields %+v", re)
	}
}

func TestNotFound(t *testing.T) {
	reg := registrytest.Start(t)
	reg.Push(t, "app:1", smallImage(t, "x").Image)
	r := insecureResolver(t, reg)
	for _, ref := range []string{"app:nope", "missing/app:1", "app@sha256:" + strings.Repeat("0", 64)} {
		_, err := registry.Fetch(t.Context(), reg.Ref(ref), registry.Options{Resolver: r})
		want := "image " + reg.Ref(ref) + " not found in registry " + reg.Host
		if !errors.Is(err, registry.ErrNotFound) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v\nwant prefix %q", ref, err, want)
		}
	}
	_, err := registry.Fetch(t.Context(), "Not A Reference", registry.Options{Resolver: r})
	if !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), `invalid image reference "Not A Reference"`) {
		t.Errorf("bad reference: %v", err)
	}
}

func TestSlowRegistry(t *testing.T) {
	reg := registrytest.Start(t)
	img := smallImage(t, "slow").Image
	reg.Push(t, "app:1", img)

	// The manifest does not come in time.
	p := startProxy(t, reg, &faultProxy{delay: 10 * time.Second, delayPath: "/manifests/"})
	start := time.Now()
	_, err := proxied(ctxTimeout(t, 500*time.Millisecond), t, p, "app:1")
	want := "registry " + p.Host + " did not answer in time for image " + p.Host + "/app:1"
	if !errors.Is(err, registry.ErrTimeout) || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("slow manifest: %v\nwant prefix %q", err, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %s", d)
	}

	// The layer does not come in time.
	layer, _ := img.Layers()
	d, _ := layer[0].Digest()
	p = startProxy(t, reg, &faultProxy{delay: 10 * time.Second, delayPath: "/blobs/" + d.String()})
	got, err := proxied(t.Context(), t, p, "app:1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = got.Layers()[0].Open(ctxTimeout(t, 500*time.Millisecond))
	if !errors.Is(err, registry.ErrTimeout) || !strings.Contains(err.Error(), "did not answer in time for layer "+d.String()) {
		t.Errorf("slow layer: %v", err)
	}
}

func TestTruncatedOrCorruptBlob(t *testing.T) {
	reg := registrytest.Start(t)
	gz := registrytest.ImageFromFiles(t, map[string][]byte{"data": bytes.Repeat([]byte("stockade layer data "), 5000)})
	plain := registrytest.ImageFromLayers(t, registrytest.LayerFromEntries(t, registrytest.Uncompressed,
		registrytest.Entry{Name: "data", Body: bytes.Repeat([]byte("uncompressed "), 3000)}))
	reg.Push(t, "gz:1", gz)
	reg.Push(t, "plain:1", plain)
	layerDigest := func(img v1.Image) string {
		ls, _ := img.Layers()
		d, _ := ls[0].Digest()
		return d.String()
	}
	for _, tc := range []struct {
		repo  string
		img   v1.Image
		fault string
	}{
		{"gz:1", gz, "short"},
		{"gz:1", gz, "cut"},
		{"gz:1", gz, "corrupt"},
		{"gz:1", gz, "long"},
		{"plain:1", plain, "short"},
		{"plain:1", plain, "corrupt"}, // only the digest can tell: tar has no data checksums
		{"plain:1", plain, "long"},
	} {
		t.Run(tc.repo+"-"+tc.fault, func(t *testing.T) {
			digest := layerDigest(tc.img)
			p := startProxy(t, reg, &faultProxy{blob: digest, fault: tc.fault})
			got, err := proxied(t.Context(), t, p, tc.repo)
			if err != nil {
				t.Fatal(err) // the manifest and config are intact
			}
			rc, err := got.Layers()[0].Open(t.Context())
			if err == nil {
				_, err = tarFiles(rc)
				if cerr := rc.Close(); err == nil {
					err = cerr
				}
			}
			want := "layer " + digest + " of " + p.Host + "/" + tc.repo + " from registry " + p.Host + " is truncated or corrupted: "
			if !errors.Is(err, registry.ErrCorrupt) || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("%s: %v\nwant prefix %q", tc.fault, err, want)
			}
			t.Log(err)
		})
	}

	// A corrupt config stops Fetch itself.
	cfgDigest, _ := gz.ConfigName()
	p := startProxy(t, reg, &faultProxy{blob: cfgDigest.String(), fault: "corrupt"})
	_, err := proxied(t.Context(), t, p, "gz:1")
	if !errors.Is(err, registry.ErrCorrupt) || !strings.Contains(err.Error(), "config of image "+p.Host+"/gz:1 from registry "+p.Host+" is truncated or corrupted") {
		t.Errorf("corrupt config: %v", err)
	}

	// The same layer through an honest path reads whole.
	p = startProxy(t, reg, &faultProxy{})
	got, err := proxied(t.Context(), t, p, "gz:1")
	if err != nil {
		t.Fatal(err)
	}
	if files := readLayer(t, got.Layers()[0]); len(files["data"]) != 5000*len("stockade layer data ") {
		t.Errorf("honest proxy: %d bytes", len(files["data"]))
	}
}

func TestHostileManifest(t *testing.T) {
	reg := registrytest.Start(t)
	reg.Push(t, "app:1", smallImage(t, "x").Image)
	// A config claimed to be 1 GiB is refused before it is read.
	p := startProxy(t, reg, &faultProxy{manifest: func(b []byte) []byte {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return b
		}
		m["config"].(map[string]any)["size"] = 1 << 30
		out, _ := json.Marshal(m)
		return out
	}})
	_, err := proxied(t.Context(), t, p, "app:1")
	if !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), "is 1073741824 bytes, more than the 33554432 an image config may have") {
		t.Errorf("huge config: %v", err)
	}
	// A manifest that is not JSON.
	p = startProxy(t, reg, &faultProxy{manifest: func([]byte) []byte { return []byte("<html>proxy error</html>") }})
	_, err = proxied(t.Context(), t, p, "app:1")
	if !errors.Is(err, registry.ErrCorrupt) || !strings.HasPrefix(err.Error(), "manifest of image "+p.Host+"/app:1 from registry "+p.Host+" is malformed: ") {
		t.Errorf("garbage manifest: %v", err)
	}
}
