package layer

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/purl"
)

// Merge applies layer results bottom to top and returns the image's catalog.
//
// For each layer in order: its whiteouts delete a path and everything under
// it, its opaque directories delete everything under them (both only affect
// earlier layers), then its files replace whatever earlier layers had at the
// same paths. The OS is the one of the last layer that declared one. Each
// component's Layer is the digest of the layer that last wrote its path, and
// OS packages get the distribution in their ecosystem and PURL ("Ubuntu",
// pkg:deb/ubuntu/…?distro=ubuntu-22.04) once the OS is known.
//
// Not modelled: a file replacing a directory that held analyzed files
// (the directory's files stay), and links whose targets are in other layers.
func Merge(layers []catalog.LayerResult) catalog.Catalog {
	files := map[string][]catalog.Component{}
	var cat catalog.Catalog
	for _, l := range layers {
		if len(l.Whiteouts) > 0 || len(l.OpaqueDirs) > 0 {
			deleteHidden(files, l.Whiteouts, l.OpaqueDirs)
		}
		for p, cs := range l.Files {
			out := make([]catalog.Component, len(cs))
			for i, c := range cs {
				c.Layer = l.Digest
				out[i] = c
			}
			files[p] = out
		}
		if l.OS != nil {
			os := *l.OS
			cat.OS = &os
		}
		for _, w := range l.Warnings {
			cat.Warnings = append(cat.Warnings, fmt.Sprintf("layer %s: %s", shortDigest(l.Digest), w))
		}
	}
	n := 0
	for _, cs := range files {
		n += len(cs)
	}
	cat.Components = make([]catalog.Component, 0, n)
	for _, cs := range files {
		for _, c := range cs {
			if cat.OS != nil {
				c = withDistro(c, *cat.OS)
			}
			cat.Components = append(cat.Components, c)
		}
	}
	slices.SortFunc(cat.Components, compareComponents)
	return cat
}

// deleteHidden removes the paths a layer's whiteouts and opaque directories
// hide. It checks each known path's ancestors against the sets, so the cost
// is the number of analyzed paths times their depth.
func deleteHidden(files map[string][]catalog.Component, whiteouts, opaque []string) {
	wh := make(map[string]bool, len(whiteouts))
	for _, w := range whiteouts {
		wh[w] = true
	}
	op := make(map[string]bool, len(opaque))
	for _, o := range opaque {
		op[o] = true
	}
	for p := range files {
		if wh[p] || op[""] {
			delete(files, p)
			continue
		}
		for i := strings.LastIndexByte(p, '/'); i > 0; i = strings.LastIndexByte(p[:i], '/') {
			if dir := p[:i]; wh[dir] || op[dir] {
				delete(files, p)
				break
			}
		}
	}
}

func compareComponents(a, b catalog.Component) int {
	return cmp.Or(
		cmp.Compare(a.Path, b.Path),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Version, b.Version),
		cmp.Compare(a.Ecosystem, b.Ecosystem),
		cmp.Compare(a.SourceName, b.SourceName),
		cmp.Compare(a.SourceVersion, b.SourceVersion),
		cmp.Compare(a.PURL, b.PURL),
		cmp.Compare(a.Layer, b.Layer),
	)
}

func shortDigest(d string) string {
	if _, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return d[:len(d)-len(hex)+12]
	}
	return d
}

// distribution says which package type a distribution uses, its OSV
// ecosystem (empty when OSV has none) and its PURL namespace.
func distribution(id string) (purlType string, eco catalog.Ecosystem, namespace string, ok bool) {
	switch id {
	case "debian":
		return purl.TypeDeb, catalog.Debian, "debian", true
	case "ubuntu":
		return purl.TypeDeb, catalog.Ubuntu, "ubuntu", true
	case "alpine":
		return purl.TypeAPK, catalog.Alpine, "alpine", true
	case "rhel":
		return purl.TypeRPM, catalog.RedHat, "redhat", true
	case "rocky":
		return purl.TypeRPM, catalog.Rocky, "rocky", true
	case "almalinux":
		return purl.TypeRPM, catalog.AlmaLinux, "almalinux", true
	case "centos", "fedora":
		return purl.TypeRPM, "", id, true
	}
	return "", "", "", false
}

// withDistro puts the OS into an OS package's ecosystem and PURL: the dpkg,
// apk and rpm analyzers cannot know whether a dpkg database is Debian's or
// Ubuntu's, nor the release.
func withDistro(c catalog.Component, os catalog.OS) catalog.Component {
	typ, eco, ns, ok := distribution(os.ID)
	if !ok || c.PURL == "" || !strings.HasPrefix(c.PURL, "pkg:"+typ+"/") {
		return c
	}
	distro := ""
	switch {
	case os.VersionID != "":
		distro = os.ID + "-" + os.VersionID
	case os.VersionCodename != "":
		distro = os.ID + "-" + os.VersionCodename
	}
	p, err := purl.WithDistro(c.PURL, ns, distro)
	if err != nil {
		return c
	}
	if eco != "" {
		c.Ecosystem = eco
	}
	c.PURL = p
	return c
}
