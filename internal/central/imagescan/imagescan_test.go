package imagescan

import (
	"slices"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
)

func TestSummarizeCountsDistinctVulnerabilities(t *testing.T) {
	img := &scan.Image{Digest: "sha256:a", FullName: "r/x:1", Components: []scan.Component{
		{Component: catalog.Component{Name: "openssl"}, Vulns: []scan.Vuln{
			{ID: "CVE-1", Severity: scan.SeverityModerate},
			{ID: "CVE-2", Severity: scan.SeverityCritical, FixedBy: "1.1"},
		}},
		// The same CVE in another package, rated higher there: counted once,
		// at its highest severity; fixable because one package has a fix.
		{Component: catalog.Component{Name: "libssl"}, Vulns: []scan.Vuln{
			{ID: "CVE-1", Severity: scan.SeverityImportant, FixedBy: "2.0"},
			{ID: "CVE-3", Severity: scan.SeverityLow},
			{ID: "GO-4", Severity: scan.SeverityUnknown},
		}},
		{Component: catalog.Component{Name: "busybox"}},
	}}
	got := Summarize(img)
	if got.Components != 3 || got.Vulns != 4 || got.Critical != 1 || got.Important != 1 || got.Moderate != 0 || got.Low != 1 || got.Fixable != 2 {
		t.Errorf("Summarize = %+v", got)
	}
}

func TestImageNames(t *testing.T) {
	for _, tc := range []struct {
		img  scan.Image
		want []string
	}{
		{scan.Image{FullName: "r:5000/a/b:1", Registry: "r:5000", Remote: "a/b", Digest: "sha256:m"},
			[]string{"r:5000/a/b:1", "r:5000/a/b@sha256:m"}},
		{scan.Image{FullName: "r/a@sha256:i", Registry: "r", Remote: "a", Digest: "sha256:m", IndexDigest: "sha256:i"},
			[]string{"r/a@sha256:i", "r/a@sha256:m"}},
		{scan.Image{FullName: "r/a@sha256:m", Registry: "r", Remote: "a", Digest: "sha256:m"},
			[]string{"r/a@sha256:m"}},
	} {
		got := imageNames(&tc.img)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("imageNames(%s) = %v, want %v", tc.img.FullName, got, tc.want)
		}
	}
}

func TestVersionOfChangesWithEachImport(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	empty := versionOf(vulndb.Status{})
	a := versionOf(vulndb.Status{LastImport: t0, Records: 10})
	b := versionOf(vulndb.Status{LastImport: t0.Add(time.Nanosecond), Records: 10})
	if empty == a || a == b || a != versionOf(vulndb.Status{LastImport: t0, Records: 10}) {
		t.Errorf("versions %q %q %q", empty, a, b)
	}
}
