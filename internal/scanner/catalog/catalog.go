// Package catalog is what an image contains: its operating system and every
// package (component) the analyzers found, layer by layer.
//
// The one idea: analyzers report components per file path, and layers are
// merged in order with whiteouts applied, so a package installed in one layer
// and removed in a later one is not in the image. Each layer's result is
// cacheable on its own, keyed by the layer digest and the analyzer versions.
package catalog

// Ecosystem names follow OSV's ecosystem names, so that findings join the
// vulnerability records without translation. Distribution ecosystems carry
// the release in OSV ("Debian:12", "Alpine:v3.19"); components carry the bare
// name and the OS says the release.
type Ecosystem string

// Ecosystems the analyzers report.
const (
	Debian    Ecosystem = "Debian"
	Ubuntu    Ecosystem = "Ubuntu"
	Alpine    Ecosystem = "Alpine"
	RedHat    Ecosystem = "Red Hat"
	Rocky     Ecosystem = "Rocky Linux"
	AlmaLinux Ecosystem = "AlmaLinux"
	Go        Ecosystem = "Go"
	Npm       Ecosystem = "npm"
	PyPI      Ecosystem = "PyPI"
	Maven     Ecosystem = "Maven"
	CratesIO  Ecosystem = "crates.io"
)

// OS is the image's operating system, from etc/os-release and friends.
type OS struct {
	ID              string `json:"id"`                        // "debian", "alpine", "ubuntu", "rhel", …
	VersionID       string `json:"versionId,omitempty"`       // "12", "3.19.1"
	VersionCodename string `json:"versionCodename,omitempty"` // "bookworm"
	PrettyName      string `json:"prettyName,omitempty"`
}

// Component is one installed package.
type Component struct {
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	Ecosystem Ecosystem `json:"ecosystem"`
	// SourceName and SourceVersion name the source package a binary package
	// was built from (dpkg Source:, apk origin, rpm source RPM); distribution
	// feeds are keyed by source package. Empty when the same as Name/Version.
	SourceName    string `json:"sourceName,omitempty"`
	SourceVersion string `json:"sourceVersion,omitempty"`
	// Path is the file the component was found in (the package database,
	// the Go binary, the jar, the package.json), without a leading slash.
	Path string `json:"path"`
	// Layer is the digest of the layer that last wrote Path.
	Layer string `json:"layer,omitempty"`
	// PURL is the package URL (purl-spec), used in SBOMs.
	PURL string `json:"purl,omitempty"`
	// License is the declared licence, when the package metadata has one.
	License string `json:"license,omitempty"`
}

// Catalog is everything found in an image (or a file system).
type Catalog struct {
	OS         *OS         `json:"os,omitempty"`
	Components []Component `json:"components"`
	// Warnings are problems that did not stop the scan: a corrupt package
	// database, a skipped hostile entry, a file over the size limit.
	Warnings []string `json:"warnings,omitempty"`
}

// LayerResult is what the analyzers found in one layer, by file path, and
// which paths the layer deletes. It is the unit of caching.
type LayerResult struct {
	Digest string `json:"digest"`
	// AnalyzerVersions is the analyzer name → version set that produced the
	// result; a cached result is valid only for the same set.
	AnalyzerVersions map[string]int `json:"analyzerVersions"`
	// OS is set when the layer writes an os-release file.
	OS *OS `json:"os,omitempty"`
	// Files maps a path (no leading slash) to the components found in it; a
	// path with an empty list is a package database that was emptied.
	Files map[string][]Component `json:"files"`
	// Whiteouts are paths this layer deletes ("a/b" deletes a/b and
	// everything under it); OpaqueDirs are directories whose earlier content
	// the layer hides.
	Whiteouts  []string `json:"whiteouts,omitempty"`
	OpaqueDirs []string `json:"opaqueDirs,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
}
