package vulndb

import (
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

func TestSplitEcosystem(t *testing.T) {
	tests := []struct {
		in, eco, release string
	}{
		{"Go", "Go", ""},
		{"Debian:12", "Debian", "12"},
		{"Debian:11", "Debian", "11"},
		{"Alpine:v3.19", "Alpine", "v3.19"},
		{"Ubuntu:22.04:LTS", "Ubuntu", "22.04"},
		{"Ubuntu:Pro:18.04:LTS", "Ubuntu", "Pro:18.04"},
		{"Ubuntu:23.10", "Ubuntu", "23.10"},
		{"crates.io", "crates.io", ""},
	}
	for _, tt := range tests {
		eco, release := SplitEcosystem(tt.in)
		if string(eco) != tt.eco || release != tt.release {
			t.Errorf("SplitEcosystem(%q) = %q, %q, want %q, %q", tt.in, eco, release, tt.eco, tt.release)
		}
	}
}

func TestNormalizeRelease(t *testing.T) {
	tests := []struct {
		eco      catalog.Ecosystem
		in, want string
	}{
		{catalog.Alpine, "3.19.1", "v3.19"},
		{catalog.Alpine, "v3.4", "v3.4"},
		{catalog.Alpine, "3.10", "v3.10"},
		{catalog.Alpine, "edge", "edge"},
		{catalog.Debian, "bookworm", "12"},
		{catalog.Debian, "Bullseye", "11"},
		{catalog.Debian, "12", "12"},
		{catalog.Debian, "12.5", "12"},
		{catalog.Debian, "sid", "sid"},
		{catalog.Ubuntu, "22.04", "22.04"},
		{catalog.Go, "", ""},
		{catalog.RedHat, "enterprise_linux:9::appstream", "9"},
		{catalog.RedHat, "enterprise_linux:8::baseos", "8"},
		{catalog.RedHat, "9.4", "9"},
		{catalog.Rocky, "9", "9"},
		{catalog.AlmaLinux, "8.10", "8"},
	}
	for _, tt := range tests {
		if got := NormalizeRelease(tt.eco, tt.in); got != tt.want {
			t.Errorf("NormalizeRelease(%s, %q) = %q, want %q", tt.eco, tt.in, got, tt.want)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"Requests": "requests", "zope.interface": "zope-interface", "Foo__Bar--baz": "foo-bar-baz", "a_": "a",
	} {
		if got := NormalizeName(catalog.PyPI, in); got != want {
			t.Errorf("NormalizeName(PyPI, %q) = %q, want %q", in, got, want)
		}
	}
	if got := NormalizeName(catalog.Go, "github.com/Foo/Bar"); got != "github.com/Foo/Bar" {
		t.Errorf("Go names are exact: %q", got)
	}
}

// A Red Hat OSV record keyed by stream matches an image's VERSION_ID.
func TestRedHatStreamsMatchImageRelease(t *testing.T) {
	eco, release := SplitEcosystem("Red Hat:enterprise_linux:9::appstream")
	if eco != catalog.RedHat || release != NormalizeRelease(catalog.RedHat, "9.4") {
		t.Fatalf("SplitEcosystem = %q %q, want Red Hat and the release of VERSION_ID 9.4", eco, release)
	}
}
