package version

import "testing"

var allSchemes = []Scheme{Dpkg, APK, RPM, SemVer, Go, PEP440, Maven}

// FuzzCompare checks, for every scheme, that Compare never panics, is
// antisymmetric, reflexive on valid input, and transitive on the triple.
// Maven is exempt from transitivity: ComparableVersion itself is not
// transitive on odd input (maven-artifact 3.8.7 orders 0a0-! < 0.0 < AA <
// 0a0-!), and the scheme follows it.
//
//	go test -run '^$' -fuzz FuzzCompare -fuzztime 30s ./internal/scanner/version
func FuzzCompare(f *testing.F) {
	for _, seed := range [][3]string{
		{"1.0~rc1", "1.0", "1:0.1"},
		{"2.36-9+deb12u4", "2.36-9+deb12u7", "2.36-9+deb12u10"},
		{"1.0_rc1-r0", "1.0-r1", "1.0_p1"},
		{"1.0~git^1", "1.0^git2", "1:1.0-1.el9"},
		{"v1.2.3", "go1.21rc2", "v0.0.0-20210101000000-abcdefabcdef"},
		{"1.0.0-alpha.1", "1.0.0+build", "1.0.0"},
		{"1!1.0a1.post2.dev3+local.1", "1.0", "1.0.post1"},
		{"1.0-SNAPSHOT", "1-ga-1", "1.0.0.x1"},
		{"", "~", "-"},
		{"1..2", "1-.-2", "a:b"},
		{"0a0-!", "0.0", "AA"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		for _, s := range allSchemes {
			ab, errAB := s.Compare(a, b)
			ba, errBA := s.Compare(b, a)
			if (errAB == nil) != (errBA == nil) {
				t.Fatalf("%s: Compare(%q, %q) error %v, reversed %v", s, a, b, errAB, errBA)
			}
			if errAB != nil {
				continue
			}
			if ab != -ba {
				t.Fatalf("%s: Compare(%q, %q) = %d, reversed %d", s, a, b, ab, ba)
			}
			if aa, err := s.Compare(a, a); err != nil || aa != 0 {
				t.Fatalf("%s: Compare(%q, itself) = %d, %v", s, a, aa, err)
			}
			bc, err := s.Compare(b, c)
			if err != nil || s == Maven {
				continue
			}
			ac, err := s.Compare(a, c)
			if err != nil {
				t.Fatalf("%s: %q and %q are valid with %q, but %q vs %q: %v", s, a, b, c, a, c, err)
			}
			if ab <= 0 && bc <= 0 && ac > 0 || ab >= 0 && bc >= 0 && ac < 0 {
				t.Fatalf("%s: not transitive: %q ? %q = %d, %q ? %q = %d, %q ? %q = %d", s, a, b, ab, b, c, bc, a, c, ac)
			}
		}
	})
}

func BenchmarkCompareDpkg(b *testing.B) {
	for b.Loop() {
		if _, err := Dpkg.Compare("2.36-9+deb12u10", "2.36-9+deb12u4"); err != nil {
			b.Fatal(err)
		}
	}
}
