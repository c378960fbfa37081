package purl

import (
	"testing"

	packageurl "github.com/package-url/packageurl-go"
)

func TestBuilders(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Deb("debian", "libc6", "2.36-9+deb12u4", "amd64"), "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64"},
		{Deb("debian", "login", "1:4.13+dfsg1-1+b1", "amd64"), "pkg:deb/debian/login@1:4.13%2Bdfsg1-1%2Bb1?arch=amd64"},
		{Deb("debian", "tzdata", "2024a-0+deb12u1", ""), "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1"},
		{APK("alpine", "Musl", "1.2.4-r2", "x86_64"), "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64"},
		{RPM("redhat", "openssl", "3.0.7-24.el9", "x86_64", "1"), "pkg:rpm/redhat/openssl@3.0.7-24.el9?arch=x86_64&epoch=1"},
		{RPM("redhat", "bash", "5.1.8-6.el9", "", ""), "pkg:rpm/redhat/bash@5.1.8-6.el9"},
		{Golang("golang.org/x/net", "v0.7.0"), "pkg:golang/golang.org/x/net@v0.7.0"},
		{Golang("github.com/Azure/go-autorest", "v14.2.0+incompatible"), "pkg:golang/github.com/Azure/go-autorest@v14.2.0%2Bincompatible"},
		{Golang("stdlib", "v1.21.3"), "pkg:golang/stdlib@v1.21.3"},
		{Maven("org.apache.logging.log4j", "log4j-core", "2.14.1"), "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"},
		{Maven("", "vendor-sdk", "4.2.0"), "pkg:maven/vendor-sdk@4.2.0"},
		{Maven("g", "a", "1.0+build 1"), "pkg:maven/g/a@1.0%2Bbuild%201"},
		{NPM("@babel/core", "7.22.5"), "pkg:npm/%40babel/core@7.22.5"},
		{NPM("lodash", ""), "pkg:npm/lodash"},
		{NPM("evil/../name", "1"), "pkg:npm/evil%2F..%2Fname@1"},
		{PyPI("typing_extensions", "4.7.1"), "pkg:pypi/typing-extensions@4.7.1"},
		{PyPI("PyYAML", "6.0"), "pkg:pypi/pyyaml@6.0"},
		{OCI("registry.example.com:5000", "Team/App", "sha256:abc", "1.0"), "pkg:oci/app@sha256:abc?repository_url=registry.example.com:5000%2FTeam%2FApp&tag=1.0"},
		{OCI("", "app", "sha256:abc", ""), "pkg:oci/app@sha256:abc?repository_url=app"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
		// What is written reads back with the library, with the same type.
		p, err := packageurl.FromString(tc.got)
		if err != nil {
			t.Errorf("%s does not parse: %v", tc.got, err)
			continue
		}
		if p.ToString() != tc.got && p.Type != TypeGolang {
			// Parsing lower-cases some names; Go module paths keep their case.
			t.Errorf("%s reads back as %s", tc.got, p.ToString())
		}
	}
}

func TestTypesAreTheLibrarys(t *testing.T) {
	for mine, lib := range map[string]string{
		TypeDeb: packageurl.TypeDebian, TypeAPK: packageurl.TypeApk, TypeRPM: packageurl.TypeRPM,
		TypeGolang: packageurl.TypeGolang, TypeMaven: packageurl.TypeMaven, TypeNPM: packageurl.TypeNPM, TypePyPI: packageurl.TypePyPi, TypeOCI: packageurl.TypeOCI,
	} {
		if mine != lib {
			t.Errorf("type %q, library says %q", mine, lib)
		}
	}
}

func TestWithDistro(t *testing.T) {
	got, err := WithDistro(Deb("debian", "bash", "5.2.15-2+b2", "amd64"), "ubuntu", "ubuntu-22.04")
	if err != nil {
		t.Fatal(err)
	}
	if want := "pkg:deb/ubuntu/bash@5.2.15-2%2Bb2?arch=amd64&distro=ubuntu-22.04"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// An existing distro qualifier is kept.
	got, err = WithDistro("pkg:deb/debian/bash@5?distro=debian-11", "debian", "debian-12")
	if err != nil || got != "pkg:deb/debian/bash@5?distro=debian-11" {
		t.Errorf("got %s, %v", got, err)
	}
	if _, err := WithDistro("not a purl", "debian", "debian-12"); err == nil {
		t.Error("no error for a string that is not a package URL")
	}
}

func TestType(t *testing.T) {
	for in, want := range map[string]string{
		"pkg:deb/debian/bash@5": "deb", "pkg:GOLANG/x@1": "golang", "deb/debian/bash": "", "pkg:nothing": "", "": "",
	} {
		if got := Type(in); got != want {
			t.Errorf("Type(%q) = %q, want %q", in, got, want)
		}
	}
}
