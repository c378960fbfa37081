package match

import (
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/version"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
)

func intro(v string) vulndb.Event { return vulndb.Event{Introduced: v} }
func fixed(v string) vulndb.Event { return vulndb.Event{Fixed: v} }
func last(v string) vulndb.Event  { return vulndb.Event{LastAffected: v} }
func limit(v string) vulndb.Event { return vulndb.Event{Limit: v} }

func rng(typ string, evs ...vulndb.Event) vulndb.Range {
	return vulndb.Range{Type: typ, Events: evs}
}

func TestEvaluate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		scheme    version.Scheme
		installed string
		affected  vulndb.Affected
		want      bool
		fixedBy   string
	}{
		{"introduced 0 fixed above", version.Dpkg, "1.0-1",
			vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("0"), fixed("1.0-2"))}}, true, "1.0-2"},
		{"fixed equal", version.Dpkg, "1.0-2",
			vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("0"), fixed("1.0-2"))}}, false, ""},
		{"fixed below", version.Dpkg, "1.0-3",
			vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("0"), fixed("1.0-2"))}}, false, ""},
		{"tilde before the fix", version.Dpkg, "1.0-2~bpo1",
			vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("0"), fixed("1.0-2"))}}, true, "1.0-2"},
		{"no fix", version.Dpkg, "9.9",
			vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("0"))}}, true, ""},
		{"below introduced", version.SemVer, "1.9.0",
			vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("2.0.0"), fixed("2.5.0"))}}, false, ""},
		{"at introduced", version.SemVer, "2.0.0",
			vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("2.0.0"), fixed("2.5.0"))}}, true, "2.5.0"},
		// Two segments in one range, events given out of order.
		{"second segment", version.SemVer, "3.1.0",
			vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", fixed("3.2.0"), intro("3.0.0"), fixed("1.5.0"), intro("0"))}}, true, "3.2.0"},
		{"between segments", version.SemVer, "2.0.0",
			vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", fixed("3.2.0"), intro("3.0.0"), fixed("1.5.0"), intro("0"))}}, false, ""},
		{"first segment fix is the smallest above", version.SemVer, "1.0.0",
			vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("0"), fixed("1.5.0"), intro("3.0.0"), fixed("3.2.0"))}}, true, "1.5.0"},
		// Several fixes for one range (a security upload and a point release).
		{"smallest of two fixes", version.Dpkg, "2.36-9+deb12u3",
			vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("0"), fixed("2.36-9+deb12u5"), fixed("2.36-9+deb12u4"))}}, true, "2.36-9+deb12u4"},
		{"between two fixes", version.Dpkg, "2.36-9+deb12u4",
			vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("0"), fixed("2.36-9+deb12u5"), fixed("2.36-9+deb12u4"))}}, false, ""},
		{"last_affected equal", version.SemVer, "1.2.0",
			vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("1.0.0"), last("1.2.0"))}}, true, ""},
		{"last_affected above", version.SemVer, "1.2.1",
			vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("1.0.0"), last("1.2.0"))}}, false, ""},
		{"introduced equals fixed is empty", version.SemVer, "1.0.0",
			vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", fixed("1.0.0"), intro("1.0.0"))}}, false, ""},
		{"below limit", version.SemVer, "1.5.0",
			vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("0"), limit("2.0.0"))}}, true, ""},
		{"at limit", version.SemVer, "2.0.0",
			vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("0"), limit("2.0.0"))}}, false, ""},
		{"star limit", version.SemVer, "9.0.0",
			vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("0"), limit("*"))}}, true, ""},
		// Multiple ranges: any one suffices; the fix is the smallest above.
		{"second range", version.Maven, "5.3.10",
			vulndb.Affected{Ranges: []vulndb.Range{
				rng("ECOSYSTEM", intro("0"), fixed("5.2.20.RELEASE")),
				rng("ECOSYSTEM", intro("5.3.0"), fixed("5.3.18")),
			}}, true, "5.3.18"},
		{"Maven release qualifier", version.Maven, "5.2.20.RELEASE",
			vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("0"), fixed("5.2.20.RELEASE"))}}, false, ""},
		{"GIT ranges ignored", version.SemVer, "1.0.0",
			vulndb.Affected{Ranges: []vulndb.Range{{Type: "GIT", Repo: "https://example.org/r", Events: []vulndb.Event{intro("0")}}}}, false, ""},
		{"versions list", version.PEP440, "2.0",
			vulndb.Affected{Versions: []string{"1.0", "2.0.0"}}, true, ""},
		{"versions list miss", version.PEP440, "2.1",
			vulndb.Affected{Versions: []string{"1.0", "2.0.0"}}, false, ""},
		{"apk revision", version.APK, "1.1.1g-r0",
			vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("0"), fixed("1.1.1g-r1"))}}, true, "1.1.1g-r1"},
		{"rpm epoch", version.RPM, "1:3.0.7-24.el9",
			vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("0"), fixed("1:3.0.7-25.el9_3"))}}, true, "1:3.0.7-25.el9_3"},
		{"PyPI post release", version.PEP440, "2.31.0.post1",
			vulndb.Affected{Ranges: []vulndb.Range{rng("ECOSYSTEM", intro("2.3.0"), fixed("2.31.0"))}}, false, ""},
		{"Go stdlib", version.Go, "v1.20.1",
			vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("0"), fixed("1.19.7"), intro("1.20.0-0"), fixed("1.20.2"))}}, true, "1.20.2"},
		{"Go stdlib release candidate", version.Go, "v1.20.0-rc.3",
			vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("0"), fixed("1.19.7"), intro("1.20.0-0"), fixed("1.20.2"))}}, true, "1.20.2"},
		{"Go pseudo-version", version.Go, "v0.0.0-20220412211240-33da011f77ad",
			vulndb.Affected{Ranges: []vulndb.Range{rng("SEMVER", intro("0"), fixed("0.0.0-20220906165146-f3363e06e74c"))}}, true, "0.0.0-20220906165146-f3363e06e74c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			semver := version.SemVer
			if tc.scheme == version.Go {
				semver = version.Go
			}
			v, err := evaluate(tc.scheme, semver, tc.installed, &tc.affected)
			if err != nil {
				t.Fatal(err)
			}
			if v.affected != tc.want || v.fixedBy != tc.fixedBy {
				t.Errorf("evaluate(%q) = %v, fixed by %q; want %v, %q", tc.installed, v.affected, v.fixedBy, tc.want, tc.fixedBy)
			}
		})
	}
}

// A range whose versions do not parse is skipped with an error; the other
// ranges still count.
func TestEvaluateBadRange(t *testing.T) {
	a := vulndb.Affected{Ranges: []vulndb.Range{
		rng("ECOSYSTEM", intro("0"), fixed("not a version!")),
		rng("ECOSYSTEM", intro("0"), fixed("1.0-3")),
	}}
	v, err := evaluate(version.Dpkg, version.SemVer, "1.0-1", &a)
	if err == nil {
		t.Error("no error for an unparseable fixed version")
	}
	if !v.affected || v.fixedBy != "1.0-3" {
		t.Errorf("got %+v; want affected, fixed by 1.0-3", v)
	}
}
