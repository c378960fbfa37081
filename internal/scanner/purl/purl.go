// Package purl builds the package URLs (purl-spec) of the components the
// analyzers report, on github.com/package-url/packageurl-go.
//
// The one idea: every analyzer names its packages through this package, so
// that a component's PURL is spelled one way wherever it comes from, and
// the SBOM writers and the layer merge can parse what was written.
package purl

import (
	"fmt"
	"strings"

	packageurl "github.com/package-url/packageurl-go"
)

// Package URL types the analyzers report, as purl-spec names them.
const (
	TypeDeb    = "deb"
	TypeAPK    = "apk"
	TypeRPM    = "rpm"
	TypeGolang = "golang"
	TypeMaven  = "maven"
	TypeNPM    = "npm"
	TypePyPI   = "pypi"
	TypeOCI    = "oci"
)

// Deb is the package URL of a Debian binary package:
// pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64. namespace is the
// distribution ("debian", "ubuntu").
func Deb(namespace, name, version, arch string) string {
	return build(TypeDeb, namespace, name, version, qualifiers("arch", arch))
}

// APK is the package URL of an Alpine package, with the name in lower case
// as purl-spec asks: pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64.
func APK(namespace, name, version, arch string) string {
	return build(TypeAPK, namespace, strings.ToLower(name), version, qualifiers("arch", arch))
}

// RPM is the package URL of an rpm package; version is version-release and
// the epoch, when there is one, is a qualifier:
// pkg:rpm/redhat/openssl@3.0.7-24.el9?arch=x86_64&epoch=1.
func RPM(namespace, name, version, arch, epoch string) string {
	return build(TypeRPM, namespace, name, version, qualifiers("arch", arch, "epoch", epoch))
}

// Golang is the package URL of a Go module version, the module path split
// into namespace and name: pkg:golang/golang.org/x/net@v0.7.0.
func Golang(module, version string) string {
	ns, name := "", module
	if i := strings.LastIndexByte(module, '/'); i >= 0 {
		ns, name = module[:i], module[i+1:]
	}
	return build(TypeGolang, ns, name, version, nil)
}

// Maven is the package URL of a Maven artifact:
// pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1. An artifact whose
// group is unknown has no namespace.
func Maven(group, artifact, version string) string {
	return build(TypeMaven, group, artifact, version, nil)
}

// NPM is the package URL of an npm package, the scope as namespace with its
// "@" encoded: pkg:npm/%40babel/core@7.22.5, pkg:npm/lodash@4.17.21.
func NPM(name, version string) string {
	ns := ""
	if scope, rest, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") {
		ns, name = scope, rest
	}
	return build(TypeNPM, ns, name, version, nil)
}

// PyPI is the package URL of a Python distribution, the name in lower case
// with "_" replaced by "-" as purl-spec asks: pkg:pypi/pyyaml@6.0.1.
func PyPI(name, version string) string {
	return build(TypePyPI, "", strings.ReplaceAll(strings.ToLower(name), "_", "-"), version, nil)
}

// OCI is the package URL of a container image by digest, as purl-spec's
// oci type has it: the last path segment of the repository, lower-cased, as
// the name, and the full repository and the tag as qualifiers:
// pkg:oci/app@sha256%3Aabc…?repository_url=registry.example.com/team/app&tag=1.
// registry is "docker.io" for Docker Hub images.
func OCI(registry, remote, digest, tag string) string {
	name := strings.ToLower(remote[strings.LastIndexByte(remote, '/')+1:])
	repo := remote
	if registry != "" {
		repo = registry + "/" + remote
	}
	return build(TypeOCI, "", name, digest, qualifiers("repository_url", repo, "tag", tag))
}

// WithDistro returns the package URL p with its namespace replaced (the
// dpkg analyzer cannot tell Debian from Ubuntu) and a distro qualifier
// ("debian-12") added unless p has one. It fails when p does not parse.
func WithDistro(p, namespace, distro string) (string, error) {
	u, err := packageurl.FromString(p)
	if err != nil {
		return "", fmt.Errorf("package URL %q: %w", p, err)
	}
	u.Namespace = namespace
	q := u.Qualifiers.Map()
	if q["distro"] == "" && distro != "" {
		q["distro"] = distro
	}
	u.Qualifiers = packageurl.QualifiersFromMap(q)
	return u.ToString(), nil
}

// Type returns the type of a package URL ("deb", "golang"), or "" when
// s is not one.
func Type(s string) string {
	rest, ok := strings.CutPrefix(s, "pkg:")
	if !ok {
		return ""
	}
	typ, _, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	return strings.ToLower(typ)
}

// build writes the package URL. The library encodes each segment and sorts
// the qualifiers; a "/" in a name is encoded, so that a name never turns
// into a namespace.
func build(typ, ns, name, version string, q packageurl.Qualifiers) string {
	return packageurl.NewPackageURL(typ, ns, name, version, q, "").ToString()
}

// qualifiers builds the qualifiers of key/value pairs, leaving out empty
// values; nil when none is left.
func qualifiers(kv ...string) packageurl.Qualifiers {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = kv[i+1]
		}
	}
	if len(m) == 0 {
		return nil
	}
	return packageurl.QualifiersFromMap(m)
}
