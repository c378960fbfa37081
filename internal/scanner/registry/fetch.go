package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// Options are the settings of Fetch and Test.
type Options struct {
	// Resolver picks credentials; nil means anonymous access over HTTPS.
	Resolver *Resolver
	// Platform selects from a multi-arch index ("linux/arm64",
	// "linux/arm/v7"); empty means linux/amd64.
	Platform string
	// RootCAs are the CAs trusted for registry TLS; nil means the system's.
	RootCAs *x509.CertPool
	// Logger gets debug records of what was fetched; nil discards them.
	Logger *slog.Logger
	// UserAgent is sent to registries; empty means "stockade".
	UserAgent string
}

// DefaultPlatform is the platform picked from a multi-arch index when
// Options.Platform is empty.
const DefaultPlatform = "linux/amd64"

// Image is an image's metadata as the registry serves it, with access to
// its layers.
type Image struct {
	// Name is the reference as asked for; FullName is normalized
	// ("docker.io/library/nginx:1.25"); Registry ("docker.io"), Remote
	// ("library/nginx") and Tag are its parts.
	Name     string
	FullName string
	Registry string
	Remote   string
	Tag      string
	// Digest is the image manifest's digest (the chosen platform's, for an
	// index); IndexDigest is the index's, when the reference named one.
	Digest      string
	IndexDigest string
	Platform    string // "linux/amd64"
	MediaType   string // of the image manifest
	Metadata    scan.Metadata
	// Source says whose credentials were used (see Access.Source).
	Source string
	// Notes are oddities that did not stop the fetch (history that does
	// not match the layers).
	Notes []string

	layers []LayerRef
}

// Layers returns the image's layers, base first.
func (im *Image) Layers() []LayerRef { return slices.Clone(im.layers) }

// ScanImage is the start of a scan result for the image: its names,
// digests and metadata, with no components yet.
func (im *Image) ScanImage() scan.Image {
	return scan.Image{
		Name: im.Name, FullName: im.FullName, Registry: im.Registry, Remote: im.Remote, Tag: im.Tag,
		Digest: im.Digest, IndexDigest: im.IndexDigest, Platform: im.Platform,
		Metadata: im.Metadata, Notes: slices.Clone(im.Notes),
	}
}

// Fetch resolves ref (a tag or digest reference) in its registry with the
// credentials opts.Resolver picks, chooses the platform from a multi-arch
// index, and reads the image's manifest and config. Layer content is read
// later, through Layers. Errors are *Error values naming the registry and
// the reference.
func Fetch(ctx context.Context, ref string, opts Options) (*Image, error) {
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Ref: ref, Msg: fmt.Sprintf("invalid image reference %q", ref), Err: err}
	}
	want, explicit, err := platformOf(opts.Platform)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Ref: ref, Msg: fmt.Sprintf("invalid platform %q", opts.Platform), Err: err}
	}
	access := opts.Resolver.Access(parsed.Context())
	if access.Insecure {
		if parsed, err = name.ParseReference(ref, name.Insecure); err != nil {
			return nil, &Error{Kind: KindInvalid, Ref: ref, Msg: fmt.Sprintf("invalid image reference %q", ref), Err: err}
		}
	}
	repo := parsed.Context()
	f := failure{host: repo.RegistryStr(), ref: ref, who: access.who(), anonymous: access.Anonymous()}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger.DebugContext(ctx, "fetch image", "ref", ref, "credentials", access.Source, "insecure", access.Insecure)

	puller, err := remote.NewPuller(remoteOptions(access, opts)...)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Host: f.host, Ref: ref, Msg: "registry client options", Err: err}
	}
	what := "image " + ref
	desc, err := puller.Get(ctx, parsed)
	if err != nil {
		return nil, f.classify(err, what)
	}

	im := &Image{Name: ref, Source: access.Source}
	var img v1.Image
	switch {
	case desc.MediaType.IsIndex():
		im.IndexDigest = desc.Digest.String()
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, f.classify(err, what)
		}
		manifest, err := idx.IndexManifest()
		if err != nil {
			return nil, f.classify(err, "index of "+what)
		}
		chosen, err := choosePlatform(manifest.Manifests, want)
		if err != nil {
			return nil, &Error{Kind: KindNotFound, Host: f.host, Ref: ref, Msg: fmt.Sprintf("%s: %v", what, err)}
		}
		if chosen.MediaType.IsIndex() {
			return nil, &Error{Kind: KindInvalid, Host: f.host, Ref: ref,
				Msg: fmt.Sprintf("%s: the %s entry of the index is itself an index, which is not supported", what, want)}
		}
		im.Platform = chosen.Platform.String()
		if img, err = idx.Image(chosen.Digest); err != nil {
			return nil, f.classify(err, fmt.Sprintf("%s manifest of %s", im.Platform, what))
		}
	case desc.MediaType.IsSchema1():
		return nil, &Error{Kind: KindInvalid, Host: f.host, Ref: ref,
			Msg: fmt.Sprintf("%s uses the retired Docker schema 1 manifest format, which is not supported; push it again with a current client", what)}
	case desc.MediaType.IsImage():
		if img, err = desc.Image(); err != nil {
			return nil, f.classify(err, what)
		}
	default:
		return nil, &Error{Kind: KindInvalid, Host: f.host, Ref: ref,
			Msg: fmt.Sprintf("%s is a %s, not an image", what, desc.MediaType)}
	}

	digest, err := img.Digest()
	if err != nil {
		return nil, f.classify(err, what)
	}
	mediaType, err := img.MediaType()
	if err != nil {
		return nil, f.classify(err, what)
	}
	manifest, err := img.Manifest()
	if err != nil {
		return nil, f.classify(err, "manifest of "+what)
	}
	if manifest.Config.Size > maxConfigSize {
		return nil, &Error{Kind: KindInvalid, Host: f.host, Ref: ref,
			Msg: fmt.Sprintf("config of %s is %d bytes, more than the %d an image config may have", what, manifest.Config.Size, maxConfigSize)}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, f.classify(err, "config of "+what)
	}
	if im.Platform == "" {
		have := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		im.Platform = have.String()
		if explicit && !platformMatches(have, want) {
			return nil, &Error{Kind: KindNotFound, Host: f.host, Ref: ref,
				Msg: fmt.Sprintf("%s is a single-platform %s image, not %s", what, im.Platform, want)}
		}
	}

	im.Digest = digest.String()
	im.MediaType = string(mediaType)
	im.Registry = displayRegistry(repo.RegistryStr())
	im.Remote = repo.RepositoryStr()
	im.FullName = im.Registry + "/" + im.Remote
	if tag, ok := parsed.(name.Tag); ok {
		im.Tag = tag.TagStr()
		im.FullName += ":" + im.Tag
	} else {
		im.FullName += "@" + parsed.Identifier()
	}
	im.Metadata = metadataOf(cf)
	im.Metadata.Layers, im.Notes = historyLayers(cf.History, manifest.Layers)
	opener := &layerOpener{puller: puller, repo: repo, f: f, ref: ref}
	for _, d := range manifest.Layers {
		im.layers = append(im.layers, LayerRef{
			Digest: d.Digest.String(), Size: d.Size, MediaType: string(d.MediaType), opener: opener,
		})
	}
	logger.DebugContext(ctx, "fetched image", "ref", ref, "digest", im.Digest, "platform", im.Platform, "layers", len(im.layers))
	return im, nil
}

// maxConfigSize bounds the image config read into memory; real configs are
// kilobytes, a few megabytes with a very long history.
const maxConfigSize = 32 << 20

// retryBackoff retries network flakes quickly; a registry that is down
// stays down, and the caller's context bounds the whole.
func retryBackoff() remote.Backoff {
	return remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2.5, Jitter: 0.1, Steps: 3}
}

func remoteOptions(access Access, opts Options) []remote.Option {
	ua := opts.UserAgent
	if ua == "" {
		ua = "stockade"
	}
	return []remote.Option{
		remote.WithAuth(access.Auth),
		remote.WithTransport(newTransport(access, opts.RootCAs)),
		remote.WithUserAgent(ua),
		remote.WithRetryBackoff(retryBackoff()),
	}
}

// responseHeaderTimeout bounds the wait for a registry to start answering a
// request, so a hung registry fails even under a context without deadline.
const responseHeaderTimeout = 2 * time.Minute

// newTransport is the HTTP transport to a registry: TLS as the access
// says, and plain HTTP refused unless the access is insecure
// (go-containerregistry would otherwise fall back to HTTP for loopback and
// private addresses on its own).
func newTransport(access Access, roots *x509.CertPool) http.RoundTripper {
	base := remote.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		RootCAs:            roots,
		InsecureSkipVerify: access.SkipTLSVerify, //nolint:gosec // G402: the integration asks for it explicitly
	}
	base.ResponseHeaderTimeout = responseHeaderTimeout
	return &schemeGuard{inner: base, insecure: access.Insecure}
}

// schemeGuard refuses plain HTTP requests unless insecure.
type schemeGuard struct {
	inner    http.RoundTripper
	insecure bool
}

func (g *schemeGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.insecure {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("%s http://%s%s: %w", req.Method, req.URL.Host, req.URL.Path, errPlainHTTP)
	}
	return g.inner.RoundTrip(req)
}

// platformOf parses the wanted platform; explicit says whether one was
// given.
func platformOf(s string) (v1.Platform, bool, error) {
	if s == "" {
		p, err := v1.ParsePlatform(DefaultPlatform)
		return *p, false, err
	}
	p, err := v1.ParsePlatform(s)
	if err != nil {
		return v1.Platform{}, true, err
	}
	if p.OS == "" || p.Architecture == "" {
		return v1.Platform{}, true, fmt.Errorf("want os/architecture[/variant]")
	}
	return *p, true, nil
}

// platformMatches says whether have is the wanted platform: same OS and
// architecture, and the same variant when one is wanted (arm64's "v8" is
// its default).
func platformMatches(have, want v1.Platform) bool {
	if have.OS != want.OS || have.Architecture != want.Architecture {
		return false
	}
	if want.OSVersion != "" && have.OSVersion != want.OSVersion {
		return false
	}
	if want.Variant == "" || want.Variant == have.Variant {
		return true
	}
	return have.Architecture == "arm64" && (have.Variant == "" || have.Variant == "v8") && (want.Variant == "" || want.Variant == "v8")
}

// choosePlatform picks the index entry for want, preferring an entry
// without variant when none is wanted.
func choosePlatform(manifests []v1.Descriptor, want v1.Platform) (v1.Descriptor, error) {
	var matches []v1.Descriptor
	var available []string
	for _, d := range manifests {
		if d.Platform == nil || d.Platform.OS == "unknown" {
			continue // attestations and unlabeled entries
		}
		available = append(available, d.Platform.String())
		if platformMatches(*d.Platform, want) {
			matches = append(matches, d)
		}
	}
	if len(matches) == 0 {
		sort.Strings(available)
		return v1.Descriptor{}, fmt.Errorf("no %s image in the index (platforms: %s)", want.String(), strings.Join(available, ", "))
	}
	for _, d := range matches {
		if d.Platform.Variant == want.Variant {
			return d, nil
		}
	}
	return matches[0], nil
}

// displayRegistry names Docker Hub as people write it.
func displayRegistry(reg string) string {
	if canonicalHost(reg) == dockerHubHost {
		return "docker.io"
	}
	return reg
}

// metadataOf converts the image config.
func metadataOf(cf *v1.ConfigFile) scan.Metadata {
	c := cf.Config
	m := scan.Metadata{
		Created:    cf.Created.Time,
		User:       c.User,
		Env:        slices.Clone(c.Env),
		Entrypoint: slices.Clone(c.Entrypoint),
		Cmd:        slices.Clone(c.Cmd),
		WorkingDir: c.WorkingDir,
	}
	for p := range c.ExposedPorts {
		m.ExposedPorts = append(m.ExposedPorts, p)
	}
	sort.Slice(m.ExposedPorts, func(i, j int) bool { return portLess(m.ExposedPorts[i], m.ExposedPorts[j]) })
	for v := range c.Volumes {
		m.Volumes = append(m.Volumes, v)
	}
	sort.Strings(m.Volumes)
	if len(c.Labels) > 0 {
		m.Labels = make(map[string]string, len(c.Labels))
		for k, v := range c.Labels {
			m.Labels[k] = v
		}
	}
	return m
}

// portLess orders "22/tcp" before "80/tcp" before "80/udp" before "443/tcp".
func portLess(a, b string) bool {
	an, ap, _ := strings.Cut(a, "/")
	bn, bp, _ := strings.Cut(b, "/")
	if len(an) != len(bn) {
		return len(an) < len(bn)
	}
	if an != bn {
		return an < bn
	}
	return ap < bp
}
