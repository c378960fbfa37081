package version

import (
	"errors"
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// pair is "a op b" with op one of <, =, >.
type pair struct {
	a, op, b string
}

func want(op string) int {
	switch op {
	case "<":
		return -1
	case ">":
		return 1
	}
	return 0
}

// checkPairs checks every pair both ways, so each row also checks
// antisymmetry.
func checkPairs(t *testing.T, s Scheme, pairs []pair) {
	t.Helper()
	for _, p := range pairs {
		got, err := s.Compare(p.a, p.b)
		if err != nil {
			t.Errorf("%s: Compare(%q, %q): %v", s, p.a, p.b, err)
			continue
		}
		if got != want(p.op) {
			t.Errorf("%s: %q %s %q: got %d", s, p.a, p.op, p.b, got)
		}
		rev, err := s.Compare(p.b, p.a)
		if err != nil || rev != -want(p.op) {
			t.Errorf("%s: reversed %q vs %q: got %d, %v", s, p.b, p.a, rev, err)
		}
	}
}

// checkAscending checks that each version sorts strictly after every one
// before it in the list.
func checkAscending(t *testing.T, s Scheme, versions []string) {
	t.Helper()
	for i := range versions {
		for j := i + 1; j < len(versions); j++ {
			got, err := s.Compare(versions[i], versions[j])
			if err != nil {
				t.Errorf("%s: Compare(%q, %q): %v", s, versions[i], versions[j], err)
				continue
			}
			if got != -1 {
				t.Errorf("%s: want %q < %q, got %d", s, versions[i], versions[j], got)
			}
		}
	}
}

func checkInvalid(t *testing.T, s Scheme, versions []string) {
	t.Helper()
	for _, v := range versions {
		err := s.Validate(v)
		var inv *InvalidError
		if !errors.As(err, &inv) {
			t.Errorf("%s: Validate(%q) = %v, want *InvalidError", s, v, err)
			continue
		}
		if inv.Scheme != s {
			t.Errorf("%s: Validate(%q) error names scheme %s", s, v, inv.Scheme)
		}
	}
}

func TestDpkg(t *testing.T) {
	checkPairs(t, Dpkg, []pair{
		// The pairs the brief names.
		{"1.0~rc1", "<", "1.0"},
		{"1:0.1", ">", "2.0"},
		{"2.36-9+deb12u4", "<", "2.36-9+deb12u7"},
		{"1.2.3-1", "<", "1.2.3-1.1"},
		// Policy: ~ before everything, even the end.
		{"1.0~~", "<", "1.0~~a"},
		{"1.0~~a", "<", "1.0~"},
		{"1.0~", "<", "1.0"},
		{"1.0", "<", "1.0a"},
		// Letters before non-letters.
		{"1.0a", "<", "1.0+"},
		{"1.0a", "<", "1.0.1"},
		{"1.0+b1", ">", "1.0"},
		{"1.0.", ">", "1.0"},
		// Numbers compare as numbers, leading zeros do not count.
		{"1.01", "=", "1.1"},
		{"1.001", "=", "1.1"},
		{"10", ">", "9"},
		{"1.10", ">", "1.9"},
		{"1.123456789012345678901234567890", ">", "1.123456789012345678901234567889"},
		// Epochs.
		{"0:1.0", "=", "1.0"},
		{"1:1.0", ">", "9.9"},
		{"2:6.2.1+dfsg1-1.1", ">", "1:6.2.1+dfsg1-1.1"},
		{"00:1.0", "=", "1.0"},
		// Revisions: missing revision equals "0".
		{"1.0", "=", "1.0-0"},
		{"1.0-1", ">", "1.0"},
		{"1.0-1", "<", "1.0-1+b1"},
		{"1.0-1~bpo1", "<", "1.0-1"},
		{"1.0-2", ">", "1.0-1.1"},
		{"1.0-10", ">", "1.0-9"},
		// Hyphens in the upstream version: the revision is after the last.
		{"1.0-beta-1", "<", "1.0-beta-2"},
		{"1.0-beta-1", ">", "1.0-alpha-1"},
		// Colons in the upstream version need an epoch.
		{"1:1.0:2-1", ">", "1:1.0:1-1"},
		// Debian backports, security updates and binNMUs as they appear.
		{"252.39-1~deb12u2", "<", "252.39-1"},
		{"252.38-1~deb12u1", "<", "252.39-1~deb12u2"},
		{"2.38.1-5+deb12u3", ">", "2.38.1-5+deb12u1"},
		{"2.38.1-5+deb12u3", "<", "2.38.1-5+deb12u3+b1"},
		{"1.2.13.dfsg-1", ">", "1.2.11.dfsg-4.1"},
		{"0.0~r119-1", "<", "1.9.2-1"},
		{"0.0~r119-1", "<", "0.0-1"},
		{"2.32-0experimental0", "<", "2.32-5"},
		{"2.36-9+deb12u10", ">", "2.36-9+deb12u9"},
		{"6.1+20191019-1", "<", "6.4-4"},
		{"5.3.28+dfsg1-0.9", "<", "5.3.28+dfsg2-1"},
		{"1.46.6~rc1-1", "<", "1.46.6-1"},
		{"1.0.4-2ubuntu4", ">", "1.0.4-2"},
		{"2.35-0ubuntu3.4", ">", "2.35-0ubuntu3"},
		{"2.35-0ubuntu3.4", "<", "2.35-0ubuntu3.10"},
	})
	checkAscending(t, Dpkg, []string{
		"0~", "0", "0a", "0+", "0.1~~", "0.1~", "0.1", "0.1-1", "0.1-1.1", "0.1-2",
		"0.1a", "0.1+", "0.1.0", "1.0~alpha1", "1.0~beta1", "1.0~rc1", "1.0",
		"1.0-1~bpo11+1", "1.0-1", "1.0-1+b1", "1.0-1+deb12u1", "1.0-1.1", "1.0-2",
		"1.0a", "1.0+really0.9", "1.0.1", "1.1", "1:0", "1:0.1", "2:0",
	})
	checkInvalid(t, Dpkg, []string{
		"", ":1.0", "1:", "a:1.0", "-1:1.0", "1.0-", "1.0 2", "1.0_1", "1.0-1_1",
		"99999999999999999999:1.0", "1.0\n", "1.0-1:2",
	})
}

func TestAPK(t *testing.T) {
	checkPairs(t, APK, []pair{
		// Suffixes: pre-releases before the release, post-releases after.
		{"1.0_alpha", "<", "1.0_beta"},
		{"1.0_beta", "<", "1.0_pre"},
		{"1.0_pre", "<", "1.0_rc"},
		{"1.0_rc", "<", "1.0"},
		{"1.0", "<", "1.0_cvs"},
		{"1.0_cvs", "<", "1.0_svn"},
		{"1.0_svn", "<", "1.0_git"},
		{"1.0_git", "<", "1.0_hg"},
		{"1.0_hg", "<", "1.0_p"},
		{"1.0_rc1", "<", "1.0_rc2"},
		{"1.0_rc", "<", "1.0_rc1"},
		{"1.0_rc9", "<", "1.0_rc10"},
		{"1.0_p9", "<", "1.0_p10"},
		{"1.0_alpha_pre2", "<", "1.0_alpha"},
		{"1.0_p1", ">", "1.0-r1"},
		{"1.0_rc1", "<", "1.0-r1"},
		{"1.0_rc1-r5", "<", "1.0-r0"},
		// Revisions.
		{"1.0-r1", ">", "1.0"},
		{"1.0-r0", ">", "1.0"},
		{"1.0-r1", "<", "1.0-r2"},
		{"1.0-r9", "<", "1.0-r10"},
		{"1.0-r1", "<", "1.0.1"},
		{"1.2.3-r4", "<", "1.2.4-r0"},
		// Letters.
		{"1.0a", ">", "1.0"},
		{"1.0a", "<", "1.0b"},
		{"1.0a", "<", "1.0.1"},
		{"1.0a-r1", ">", "1.0a"},
		{"1.0a", ">", "1.0-r5"},
		{"0.9.8c-r1", "<", "0.9.8d"},
		{"1.7", "<", "1.7b"},
		// Numbers, and apk's fractional reading of leading zeros after a dot.
		{"1.10", ">", "1.9"},
		{"1.01", "<", "1.1"},
		{"1.001", "<", "1.01"},
		{"1.02", "<", "1.10"},
		{"1.0", "<", "1.0.0"},
		{"1.0.2", "<", "1.1"},
		{"006", ">", "1.0.0"},
		{"021109-r3", "<", "20060512"},
		{"2.1.9.200602141850", ">", "2.1.9.200602141849"},
		{"20050718-r1", ">", "2.59"},
		{"1.2", "<", "1.2.0"},
		{"1.2.3", ">", "1.2"},
		{"3.1_p16", "<", "3.1_p17"},
		{"2.9.11_pre20051101-r2", "<", "2.9.11_pre20061021-r1"},
		{"1.0.0_pre20191002222144-r0", "<", "1.0.0_pre20210530193627-r0"},
		// Equal.
		{"1.0", "=", "1.0"},
		{"1.0-r0", "=", "1.0-r0"},
		{"01.0", "=", "1.0"},
		{"1.0_rc01", "=", "1.0_rc1"},
		// Commit hashes compare as strings, before the revision.
		{"1.0_git20200101~abc123-r0", "<", "1.0_git20200101~def456-r0"},
		{"1.0_git20200101~abc123-r1", "<", "1.0_git20200101~def456-r0"},
		{"1.0_git20200101~abc123-r1", ">", "1.0_git20200101~abc123-r0"},
		{"1.0~abc123", ">", "1.0"},
		{"1.0~abc123", ">", "1.0-r0"},
		// Leading zeros after a dot compare as strings.
		{"8.2.0015", "<", "8.2.002"},
		{"1.0", "<", "1.00"},
		// Alpine versions seen in the secdb.
		{"1.1.1g-r0", ">", "1.1.1f-r0"},
		{"1.1.1d-r3", "<", "1.1.1g-r0"},
		{"2.9.10-r4", ">", "2.9.10-r3"},
		{"7.66.0-r0", "<", "7.67.0-r0"},
		{"9.4_p1-r0", ">", "9.4-r0"},
	})
	checkAscending(t, APK, []string{
		"0.1", "0.1.0_alpha", "0.1.0_beta2", "0.1.0_rc1", "0.1.0", "0.1.0-r1",
		"0.1.0_p1", "0.1.0a", "0.1.0.1", "0.1.1", "0.2", "1.0_rc1", "1.0", "1.0-r1",
		"1.0a", "1.0b-r2", "1.0.0", "1.01", "1.1", "1.9", "1.10", "2",
	})
	checkInvalid(t, APK, []string{
		"", "a1.0", "1.0-", "1.0-1", "1.0_foo", "1.0_rc.1", "1.0A", "1.0-r1-x",
		"1.0-r1.2", "1.0a.1", "1.0 ", "1..0", "1.0-r", "1.0~", "1.0~xyz", "1.0__rc",
		"1.0bc", "1.0a1", "1.0_alphabet", "1.0.", "23_foo", "1.0_rc1~ab~cd",
	})
}

func TestRPM(t *testing.T) {
	checkPairs(t, RPM, []pair{
		{"1.0", "=", "1.0"},
		{"1.0", "<", "2.0"},
		{"2.0.1", ">", "2.0"},
		{"2.0.1a", ">", "2.0.1"},
		{"5.5p1", "<", "5.5p2"},
		{"5.5p10", ">", "5.5p1"},
		{"10xyz", "<", "10.1xyz"},
		{"xyz10", "<", "xyz10.1"},
		{"1.0", "<", "1.0.1"},
		{"1.0aa", ">", "1.0a"},
		{"1.0a", "<", "1.0b"},
		{"1.0a", "<", "1.0.1"},
		{"1.0", "<", "1.0a"},
		{"2a", "<", "2.0"},
		{"1.0.0", "=", "1.0..0"},
		{"1.0", "=", "1_0"},
		{"1.01", "=", "1.1"},
		{"1.001", "=", "1.01"},
		{"a", "<", "1"},
		{"1.0~rc1", "<", "1.0"},
		{"1.0~rc1", "<", "1.0~rc2"},
		{"1.0~rc1~git123", "<", "1.0~rc1"},
		{"1.0^", ">", "1.0"},
		{"1.0^git1", ">", "1.0"},
		{"1.0^git1", "<", "1.0.1"},
		{"1.0^git1", "<", "1.0^git2"},
		{"1.0^git1", ">", "1.0~rc1"},
		{"1.0~rc1^git1", "<", "1.0~rc1^git2"},
		{"1.0~rc1^git1", ">", "1.0~rc1"},
		{"1.0~rc1^git1", "<", "1.0"},
		// Epoch, version, release.
		{"1:1.0-1", ">", "2.0-1"},
		{"0:1.0-1", "=", "1.0-1"},
		{"1.0-1", "<", "1.0-2"},
		{"1.0-1.el9", "<", "1.0-1.el9_2"},
		{"1.0-1.el9_2", "<", "1.0-2.el9"},
		{"2.34-60.el9", "<", "2.34-60.el9_2.7"},
		{"2.34-83.el9_3.7", ">", "2.34-60.el9_2.7"},
		{"1.0", "<", "1.0-1"},
		{"3.0.7-24.el9", "<", "1:3.0.7-25.el9_3"},
		{"1.0-1", "=", "1.0-1"},
	})
	checkInvalid(t, RPM, []string{"", "1.0-", "-1", "1:", "a:1.0", "1.0 1", "1:2:3"})
}

func TestSemVer(t *testing.T) {
	checkPairs(t, SemVer, []pair{
		{"1.0.0", "=", "1.0.0"},
		{"1.0.0", "=", "v1.0.0"},
		{"1.0.0+build1", "=", "1.0.0+build2"},
		{"1.0.0", "<", "1.0.1"},
		{"1.9.0", "<", "1.10.0"},
		{"1.0.0-rc.1", "<", "1.0.0"},
		{"4.17.20", "<", "4.17.21"},
		{"10.0.0", ">", "9.99.99"},
		{"1.0.0", "<", "1.0.18446744073709551616"},
	})
	// The SemVer 2.0 specification's own precedence example.
	checkAscending(t, SemVer, []string{
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0",
		"2.1.0", "2.1.1",
	})
	checkAscending(t, SemVer, []string{
		"1.0.0-0", "1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-a", "1.0.0-a.0",
	})
	checkInvalid(t, SemVer, []string{
		"", "1", "1.0", "1.0.0.0", "01.0.0", "1.0.0-", "1.0.0-01", "1.0.0+",
		"a.b.c", "1.0.0-rc..1", " 1.0.0", "=1.0.0", "vv1.0.0",
	})
}

func TestGo(t *testing.T) {
	checkPairs(t, Go, []pair{
		{"v1.2.3", "=", "1.2.3"},
		{"v0.3.5", "<", "0.3.7"},
		{"v0.7.0", "<", "0.7.1"},
		{"v0.0.0-20210428140749-89ef3d95e781", "<", "0.0.0-20220412211240-33da011f77ad"},
		{"v0.0.0-20210428140749-89ef3d95e781", "<", "v0.1.0"},
		// A pseudo-version after a tag sorts between the tag and the next.
		{"v1.2.4-0.20210101000000-abcdefabcdef", ">", "v1.2.3"},
		{"v1.2.4-0.20210101000000-abcdefabcdef", "<", "v1.2.4"},
		{"v2.0.0+incompatible", "=", "2.0.0"},
		{"v2.1.0+incompatible", ">", "2.0.0"},
		{"v1.20.0-0", "<", "v1.20.0-rc.1"},
		// Toolchain versions as build info writes them.
		{"go1.20.1", "=", "1.20.1"},
		{"go1.20", "=", "1.20.0"},
		{"go1.20", ">", "1.20.0-0"},
		{"go1.20.1", "<", "1.20.2"},
		{"go1.21rc2", "=", "1.21.0-rc.2"},
		{"go1.21rc2", "<", "go1.21.0"},
		{"go1.18beta1", "<", "go1.18rc1"},
		{"go1.22.0 X:loopvar", "=", "1.22.0"},
		{"go1.9", "<", "go1.10"},
	})
	checkInvalid(t, Go, []string{"", "v1", "1.2", "go", "go1", "gox.y", "go1.21rc", "go1.2.3.4", "latest"})
}

func TestGoSemVer(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":              "v1.2.3",
		"1.2.3":               "v1.2.3",
		"go1.20":              "v1.20.0",
		"go1.21.3":            "v1.21.3",
		"go1.21rc2":           "v1.21.0-rc.2",
		"go1.18beta1":         "v1.18.0-beta.1",
		"go1.22.0 X:loopvar":  "v1.22.0",
		"v2.0.0+incompatible": "v2.0.0+incompatible",
	} {
		got, ok := GoSemVer(in)
		if !ok || got != want {
			t.Errorf("GoSemVer(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestPEP440(t *testing.T) {
	checkPairs(t, PEP440, []pair{
		// Normalisation.
		{"1.0", "=", "1.0.0"},
		{"1.0", "=", "v1.0"},
		{"1.0a1", "=", "1.0.alpha.1"},
		{"1.0a1", "=", "1.0-A1"},
		{"1.0b2", "=", "1.0beta2"},
		{"1.0rc1", "=", "1.0c1"},
		{"1.0rc1", "=", "1.0pre1"},
		{"1.0rc1", "=", "1.0preview1"},
		{"1.0a", "=", "1.0a0"},
		{"1.0.post1", "=", "1.0-1"},
		{"1.0.post1", "=", "1.0post1"},
		{"1.0.post1", "=", "1.0.rev1"},
		{"1.0.post1", "=", "1.0-r1"},
		{"1.0.post", "=", "1.0.post0"},
		{"1.0.dev", "=", "1.0.dev0"},
		{"1.0-dev1", "=", "1.0.dev1"},
		{"1!1.0", "=", "1!1.0.0"},
		{"0!1.0", "=", "1.0"},
		{"1.0+ubuntu.1", "=", "1.0+ubuntu-1"},
		{"1.0+Ubuntu_1", "=", "1.0+ubuntu.1"},
		{" 1.0 ", "=", "1.0"},
		{"1.01", "=", "1.1"},
		// Order.
		{"1!0.1", ">", "2.0"},
		{"1.0", "<", "1.0.1"},
		{"1.9", "<", "1.10"},
		{"2.31.0", "<", "2.32.0"},
		{"1.26.17", "<", "1.26.18"},
		{"1.0.post1.dev1", "<", "1.0.post1"},
		{"1.0a1.post1", ">", "1.0a1"},
		{"1.0a1.post1", "<", "1.0a2"},
		{"1.0a.post1", "=", "1.0a0.post1"},
	})
	// The ordering example of PEP 440 with local versions added.
	checkAscending(t, PEP440, []string{
		"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
		"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
		"1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5",
		"1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1",
	})
	checkAscending(t, PEP440, []string{
		"1.0", "1.0+a", "1.0+a.b", "1.0+a.0", "1.0+a.1", "1.0+0", "1.0+0.a",
	})
	checkInvalid(t, PEP440, []string{
		"", "a", "1.0+", "1.0+a..b", "1.0-", "1.0.x", "1.0a1a2", "1!", "!1",
		"1.0+a_", "1.0 1",
	})
}

func TestMaven(t *testing.T) {
	checkPairs(t, Maven, []pair{
		// Padding and null items.
		{"1", "=", "1.0"},
		{"1", "=", "1.0.0"},
		{"1", "=", "1-0"},
		{"1", "=", "1.0-0"},
		{"1", "=", "1-ga"},
		{"1", "=", "1.ga"},
		{"1", "=", "1-final"},
		{"1", "=", "1.0.RELEASE"},
		{"1", "=", "1-GA"},
		{"5.3.18.RELEASE", "=", "5.3.18"},
		// Qualifier order and aliases.
		{"1-alpha", "<", "1-beta"},
		{"1-beta", "<", "1-milestone"},
		{"1-milestone", "<", "1-rc"},
		{"1-rc", "=", "1-cr"},
		{"1-rc", "<", "1-snapshot"},
		{"1-snapshot", "<", "1"},
		{"1", "<", "1-sp"},
		{"1-sp", "<", "1-abc"},
		{"1-abc", "<", "1-def"},
		{"1a1", "=", "1-alpha-1"},
		{"1b2", "=", "1-beta-2"},
		{"1m3", "=", "1-milestone-3"},
		{"1.0-alpha1", "=", "1.0-alpha-1"},
		{"1.0.RC1", "=", "1.0-rc1"},
		{"1.0.0.x", "=", "1-x"},
		// Dots and hyphens.
		{"1-1", "<", "1.1"},
		{"1-sp", "<", "1-1"},
		{"1.foo", "<", "1-1"},
		{"1-foo2", "<", "1-foo10"},
		{"1-ga-1", "<", "1-1"},
		{"1-sp-1", "<", "1-ga-1"}, // 1-ga-1 is 1-[[1]]
		{"2.0.a", "=", "2.0.0.a"},
		// Versions from advisories.
		{"2.15.0", ">", "2.14.1"},
		{"2.15.0-rc1", "<", "2.15.0"},
		{"2.0-beta9", "<", "2.0"},
		{"2.0-beta9", "<", "2.0-rc1"},
		{"2.12.6.1", ">", "2.12.6"},
		{"2.13.2.2", "<", "2.13.3"},
		{"5.2.20.RELEASE", "<", "5.3.18"},
		{"1.0.0-SNAPSHOT", "<", "1.0.0"},
		{"10.0.0", ">", "9.0.0"},
		{"1.0.10", ">", "1.0.9"},
		{"1.12345678901234567890", ">", "1.12345678901234567889"},
	})
	// Maven's own qualifier and number sequences.
	checkAscending(t, Maven, []string{
		"1-alpha2snapshot", "1-alpha2", "1-alpha-123", "1-beta-2", "1-beta123",
		"1-m2", "1-m11", "1-rc", "1-cr2", "1-rc123", "1-SNAPSHOT", "1", "1-sp",
		"1-sp2", "1-sp123", "1-abc", "1-def", "1-pom-1", "1-1-snapshot", "1-1",
		"1-2", "1-123",
	})
	checkAscending(t, Maven, []string{
		"2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a",
		"2.1b", "2.1-c", "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11",
		"11.b2", "11.b11", "11.m2", "11.m11", "11", "11.a", "11b", "11c", "11m",
	})
	checkInvalid(t, Maven, []string{""})
}

func TestSchemeFor(t *testing.T) {
	for eco, want := range map[catalog.Ecosystem]Scheme{
		catalog.Debian:     Dpkg,
		"Debian:12":        Dpkg,
		"Ubuntu:22.04:LTS": Dpkg,
		catalog.Alpine:     APK,
		"Alpine:v3.19":     APK,
		catalog.RedHat:     RPM,
		catalog.Rocky:      RPM,
		"AlmaLinux:9":      RPM,
		catalog.Go:         Go,
		catalog.Npm:        SemVer,
		catalog.CratesIO:   SemVer,
		catalog.PyPI:       PEP440,
		catalog.Maven:      Maven,
	} {
		got, err := SchemeFor(eco)
		if err != nil || got != want {
			t.Errorf("SchemeFor(%q) = %v, %v; want %v", eco, got, err, want)
		}
	}
	if _, err := SchemeFor("Hackage"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("SchemeFor(Hackage) error = %v, want ErrUnsupported", err)
	}
	if _, err := Compare("Hackage", "1", "2"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Compare(Hackage) error = %v, want ErrUnsupported", err)
	}
	if c, err := Compare("Debian:12", "1.0~rc1", "1.0"); err != nil || c != -1 {
		t.Errorf("Compare(Debian:12) = %d, %v", c, err)
	}
}

func TestTooLong(t *testing.T) {
	long := make([]byte, MaxLen+1)
	for i := range long {
		long[i] = '1'
	}
	for _, s := range []Scheme{Dpkg, APK, RPM, SemVer, Go, PEP440, Maven} {
		if _, err := s.Compare(string(long), "1"); err == nil {
			t.Errorf("%s: a %d-byte version was accepted", s, len(long))
		}
	}
}
