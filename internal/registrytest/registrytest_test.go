package registrytest_test

import (
	"archive/tar"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/stockade-dev/stockade/internal/registrytest"
)

func pull(t *testing.T, reg *registrytest.Registry, ref string, auth authn.Authenticator) (v1.Image, error) {
	t.Helper()
	var opts []name.Option
	if !reg.TLS {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(reg.Ref(ref), opts...)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, remote.WithAuth(auth), remote.WithTransport(reg.Transport()), remote.WithContext(t.Context()),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}))
	if err != nil {
		return nil, err
	}
	// Fetch the config too, so auth on blobs is exercised.
	if _, err := img.ConfigFile(); err != nil {
		return nil, err
	}
	return img, nil
}

// get reports whether GET url got an answer at all.
func get(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func statusOf(err error) int {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode
	}
	return 0
}

// tarNames lists the entry names of a layer.
func tarNames(t *testing.T, l v1.Layer) map[string]string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = string(b)
	}
}

func TestAnonymousPushAndPull(t *testing.T) {
	reg := registrytest.Start(t)
	if !strings.HasPrefix(reg.Host, "127.0.0.1:") {
		t.Fatalf("Host = %q", reg.Host)
	}
	img := registrytest.ImageFromFiles(t,
		map[string][]byte{"etc/os-release": []byte("ID=debian\n"), "etc/passwd": []byte("root:x:0:0::/root:/bin/sh\n"), "var/cache/": nil},
		map[string][]byte{"etc/.wh.passwd": nil, "var/cache/.wh..wh..opq": nil, "usr/bin/app": []byte("#!/bin/sh\n")},
	)
	digestRef := reg.Push(t, "team/app:1", img)
	want, _ := img.Digest()
	if !strings.HasSuffix(digestRef, "/team/app@"+want.String()) {
		t.Fatalf("Push returned %q, want …/team/app@%s", digestRef, want)
	}
	got, err := pull(t, reg, "team/app:1", authn.Anonymous)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	gotDigest, _ := got.Digest()
	if gotDigest != want {
		t.Fatalf("pulled digest %s, pushed %s", gotDigest, want)
	}
	layers, err := got.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("layers = %d, %v", len(layers), err)
	}
	second := tarNames(t, layers[1])
	for _, n := range []string{"etc/.wh.passwd", "var/cache/.wh..wh..opq", "usr/bin/app"} {
		if _, ok := second[n]; !ok {
			t.Errorf("layer 2 lacks %s: %v", n, second)
		}
	}
	if first := tarNames(t, layers[0]); first["etc/os-release"] != "ID=debian\n" {
		t.Errorf("layer 1 = %v", first)
	}
	cf, _ := got.ConfigFile()
	if cf.OS != "linux" || cf.Architecture != "amd64" || len(cf.History) != 2 ||
		!strings.HasPrefix(cf.History[0].CreatedBy, "/bin/sh -c #(nop) ADD file:") {
		t.Errorf("config = %s/%s history %+v", cf.OS, cf.Architecture, cf.History)
	}
}

func TestHtpasswd(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithHtpasswd(), registrytest.WithUser("reader", "s3cret"))
	if reg.Username == "" || reg.Password == "" {
		t.Fatal("no generated credentials")
	}
	reg.Push(t, "app:1", registrytest.ImageFromFiles(t, map[string][]byte{"a": []byte("a")}))
	if _, err := pull(t, reg, "app:1", reg.Authenticator()); err != nil {
		t.Fatalf("pull with credentials: %v", err)
	}
	if _, err := pull(t, reg, "app:1", &authn.Basic{Username: "reader", Password: "s3cret"}); err != nil {
		t.Fatalf("pull as the extra user: %v", err)
	}
	_, err := pull(t, reg, "app:1", &authn.Basic{Username: reg.Username, Password: "wrong"})
	if statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("wrong password: %v, want 401", err)
	}
	_, err = pull(t, reg, "app:1", authn.Anonymous)
	if statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("anonymous: %v, want 401", err)
	}
}

func TestTokenAuth(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithToken(), registrytest.WithUser("limited", "pw", "team/"))
	if !strings.HasPrefix(reg.TokenRealm, "http://localhost:") {
		t.Fatalf("realm = %q", reg.TokenRealm)
	}
	reg.Push(t, "team/app:1", registrytest.ImageFromFiles(t, map[string][]byte{"a": []byte("a")}))
	reg.Push(t, "other/app:1", registrytest.ImageFromFiles(t, map[string][]byte{"b": []byte("b")}))
	if reg.TokensIssued() == 0 {
		t.Fatal("push did not go through the token server")
	}
	if _, err := pull(t, reg, "team/app:1", reg.Authenticator()); err != nil {
		t.Fatalf("pull: %v", err)
	}
	if _, err := pull(t, reg, "team/app:1", &authn.Basic{Username: "limited", Password: "pw"}); err != nil {
		t.Fatalf("pull as limited user in its repositories: %v", err)
	}
	_, err := pull(t, reg, "other/app:1", &authn.Basic{Username: "limited", Password: "pw"})
	if statusOf(err) != http.StatusForbidden {
		t.Fatalf("limited user outside its repositories: %v, want 403", err)
	}
	_, err = pull(t, reg, "team/app:1", &authn.Basic{Username: reg.Username, Password: "wrong"})
	if statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("wrong password: %v, want 401", err)
	}
	// docker's config.json identitytoken: the OAuth2 refresh-token grant.
	if _, err := pull(t, reg, "team/app:1", authn.FromConfig(authn.AuthConfig{IdentityToken: reg.IdentityToken})); err != nil {
		t.Fatalf("pull with identity token: %v", err)
	}
	_, err = pull(t, reg, "team/app:1", authn.FromConfig(authn.AuthConfig{IdentityToken: "not-the-token"}))
	if statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("bad identity token: %v, want 401", err)
	}

	// The registry itself refuses a request without a token.
	resp, err := http.Get(reg.URL() + "/v2/team/app/manifests/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `realm="`+reg.TokenRealm+`"`) {
		t.Fatalf("without token: %s %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestTokenClaims(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithToken())
	u, _ := url.Parse(reg.TokenRealm)
	q := u.Query()
	q.Set("service", registrytest.Service)
	q.Add("scope", "repository:team/app:pull,push")
	u.RawQuery = q.Encode()
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	req.SetBasicAuth(reg.Username, reg.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %s %v", resp.Status, err)
	}
	parts := strings.Split(body.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	// The signature verifies with the certificate in the x5c header.
	headerJSON, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var header struct {
		Alg string
		X5c []string
	}
	if err := json.Unmarshal(headerJSON, &header); err != nil || header.Alg != "ES256" || len(header.X5c) != 1 {
		t.Fatalf("header %s: %v", headerJSON, err)
	}
	der, _ := base64.StdEncoding.DecodeString(header.X5c[0])
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	pub := cert.PublicKey.(*ecdsa.PublicKey)
	if len(sig) != 64 || !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("token signature does not verify")
	}
	claimsJSON, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Iss, Sub, Aud string
		Exp           int64
		Access        []struct {
			Type, Name string
			Actions    []string
		}
	}
	if err := json.Unmarshal(claimsJSON, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Iss != registrytest.Issuer || claims.Aud != registrytest.Service || claims.Sub != reg.Username ||
		time.Unix(claims.Exp, 0).Before(time.Now()) || len(claims.Access) != 1 ||
		claims.Access[0].Name != "team/app" || strings.Join(claims.Access[0].Actions, ",") != "pull,push" {
		t.Fatalf("claims = %s", claimsJSON)
	}
}

func TestTLS(t *testing.T) {
	for _, opts := range [][]registrytest.Option{
		{registrytest.WithTLS()},
		{registrytest.WithTLS(), registrytest.WithToken()},
	} {
		reg := registrytest.Start(t, opts...)
		if reg.CA == nil || reg.CAFile == "" || !strings.HasPrefix(reg.URL(), "https://") {
			t.Fatalf("TLS registry without CA: %+v", reg)
		}
		if reg.Auth == registrytest.AuthToken && !strings.HasPrefix(reg.TokenRealm, "https://") {
			t.Fatalf("token realm of a TLS registry = %q", reg.TokenRealm)
		}
		reg.Push(t, "app:1", registrytest.ImageFromFiles(t, map[string][]byte{"a": []byte("a")}))
		if _, err := pull(t, reg, "app:1", reg.Authenticator()); err != nil {
			t.Fatalf("pull over TLS: %v", err)
		}
		// A client that does not trust the CA is refused.
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
		err := get(client, reg.URL()+"/v2/")
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("untrusted client: %v", err)
		}
	}
}

func TestStopEndsProcess(t *testing.T) {
	reg := registrytest.Start(t)
	pid := registrytest.PID(reg)
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		t.Fatalf("registry pid %d not running", pid)
	}
	reg.Stop()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("registry pid %d still there after Stop: %v", pid, err)
	}
	if err := get(http.DefaultClient, reg.URL()+"/v2/"); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("stopped registry answered: %v", err)
	}
	reg.Stop() // twice is harmless
}

func TestStopAtTestEnd(t *testing.T) {
	var pid int
	t.Run("inner", func(t *testing.T) {
		pid = registrytest.PID(registrytest.Start(t))
	})
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("registry pid %d outlived its test: %v", pid, err)
	}
}

func TestIndexAndCompressions(t *testing.T) {
	reg := registrytest.Start(t)
	zstdImg := registrytest.ImageFromLayers(t,
		registrytest.LayerFromEntries(t, registrytest.Zstd, registrytest.Entry{Name: "z", Body: []byte("zstd")}),
		registrytest.LayerFromEntries(t, registrytest.Uncompressed,
			registrytest.Entry{Name: "bin/", Type: tar.TypeDir},
			registrytest.Entry{Name: "bin/sh", Type: tar.TypeSymlink, Linkname: "/bin/busybox"}),
	)
	if mt, _ := zstdImg.MediaType(); mt != types.OCIManifestSchema1 {
		t.Fatalf("zstd image media type %s", mt)
	}
	idx := registrytest.Index(t,
		registrytest.PlatformImage{Platform: "linux/amd64", Image: registrytest.ImageFromFiles(t, map[string][]byte{"arch": []byte("amd64")})},
		registrytest.PlatformImage{Platform: "linux/arm64/v8", Image: zstdImg},
	)
	reg.PushIndex(t, "multi:1", idx)
	r, _ := name.ParseReference(reg.Ref("multi:1"), name.Insecure)
	got, err := remote.Index(r, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	im, err := got.IndexManifest()
	if err != nil || len(im.Manifests) != 2 {
		t.Fatalf("index manifests: %v %v", im, err)
	}
	if p := im.Manifests[1].Platform; p == nil || p.String() != "linux/arm64/v8" {
		t.Fatalf("second platform %v", p)
	}
	arm, err := got.Image(im.Manifests[1].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := arm.ConfigFile()
	if err != nil || cf.Architecture != "arm64" || cf.Variant != "v8" {
		t.Fatalf("arm config %+v %v", cf, err)
	}
	layers, _ := arm.Layers()
	if names := tarNames(t, layers[0]); names["z"] != "zstd" {
		t.Fatalf("zstd layer %v", names)
	}
	if names := tarNames(t, layers[1]); len(names) != 2 {
		t.Fatalf("uncompressed layer %v", names)
	}
}

func TestWithConfigChecksHistory(t *testing.T) {
	img := registrytest.ImageFromFiles(t, map[string][]byte{"a": nil})
	ft := &fakeT{TB: t}
	func() {
		defer func() { _ = recover() }()
		registrytest.WithConfig(ft, img, registrytest.Config{History: []v1.History{{CreatedBy: "x"}, {CreatedBy: "y"}}})
	}()
	if !strings.Contains(ft.msg, "2 non-empty entries for 1 layers") {
		t.Fatalf("mismatched history not reported: %q", ft.msg)
	}
	img = registrytest.WithConfig(t, img, registrytest.Config{
		User: "app", Env: []string{"A=1"}, ExposedPorts: []string{"22/tcp"}, Labels: map[string]string{"l": "v"},
		History: []v1.History{{CreatedBy: "/bin/sh -c #(nop)  EXPOSE 22/tcp", EmptyLayer: true}, {CreatedBy: "COPY a /a # buildkit"}},
	})
	cf, _ := img.ConfigFile()
	if cf.Config.User != "app" || cf.Config.Env[0] != "A=1" || len(cf.History) != 2 || cf.Config.Labels["l"] != "v" {
		t.Fatalf("config %+v", cf.Config)
	}
	if _, ok := cf.Config.ExposedPorts["22/tcp"]; !ok {
		t.Fatalf("ports %v", cf.Config.ExposedPorts)
	}
}

// fakeT records a Fatalf instead of ending the test.
type fakeT struct {
	testing.TB
	msg string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic("fatal")
}
