package match

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/semver"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
)

// The correctness bar: for the bookworm minbase image, every CVE in the
// changelog data whose fixing version is newer than the installed source
// version is reported, with that version as the fix, and no other.
func TestDebianBookworm(t *testing.T) {
	ctx := context.Background()
	fixes := changelogFixes(t)
	db := openDB(t)
	importPaths(t, db, writeRecords(t, "debian-12.jsonl", debianFixture(t, "12", fixes)))
	comps := bookwormPackages(t)

	got, err := Match(ctx, db, bookworm, comps)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(comps) {
		t.Fatalf("%d components back, %d given", len(got), len(comps))
	}

	// The expectation, computed from the table alone: per source package
	// and CVE the fix is the smallest changelog version naming it.
	fix := map[[2]string]string{}
	for _, fx := range fixes {
		k := [2]string{fx.source, fx.cve}
		if old, ok := fix[k]; !ok || dpkgLess(t, fx.version, old) {
			fix[k] = fx.version
		}
	}
	total, withFindings, fixedAlready := 0, 0, 0
	for i, c := range got {
		if c.Name != comps[i].Name || c.Version != comps[i].Version {
			t.Fatalf("component %d is %s %s, given %s %s", i, c.Name, c.Version, comps[i].Name, comps[i].Version)
		}
		want := map[string]string{}
		for k, v := range fix {
			if k[0] != comps[i].SourceName {
				continue
			}
			if dpkgLess(t, comps[i].SourceVersion, v) {
				want[k[1]] = v
			} else {
				fixedAlready++
			}
		}
		gotFix := map[string]string{}
		for _, v := range c.Vulns {
			gotFix[v.ID] = v.FixedBy
			if !slices.Contains(v.Aliases, "DEBIAN-"+v.ID) {
				t.Errorf("%s %s: aliases %v lack the record id", c.Name, v.ID, v.Aliases)
			}
			if v.Link != "https://security-tracker.debian.org/tracker/"+v.ID {
				t.Errorf("%s %s: link %q", c.Name, v.ID, v.Link)
			}
			if v.Severity == scan.SeverityUnknown {
				t.Errorf("%s %s: severity UNKNOWN although the feed has an urgency", c.Name, v.ID)
			}
		}
		for cve, v := range want {
			if g, ok := gotFix[cve]; !ok {
				t.Errorf("%s (source %s %s): %s fixed in %s not reported", c.Name, comps[i].SourceName, comps[i].SourceVersion, cve, v)
			} else if g != v {
				t.Errorf("%s: %s fixed by %q, want %q", c.Name, cve, g, v)
			}
		}
		for cve := range gotFix {
			if _, ok := want[cve]; !ok {
				t.Errorf("%s (source %s %s): %s reported, but its fix is installed or it is not in the data", c.Name, comps[i].SourceName, comps[i].SourceVersion, cve)
			}
		}
		total += len(c.Vulns)
		if len(c.Vulns) > 0 {
			withFindings++
		}
	}
	if total == 0 || fixedAlready == 0 {
		t.Fatalf("degenerate data: %d findings, %d fixes already installed", total, fixedAlready)
	}
	t.Logf("%d findings on %d of %d packages; %d package/CVE pairs already fixed", total, withFindings, len(comps), fixedAlready)

	// Spot checks that do not depend on the computation above: glibc's
	// CVE-2023-4911 was fixed in 2.36-9+deb12u3 (installed: u14), apt's
	// CVE-2026-109518 is fixed in 2.6.2 (installed: 2.6.1), and util-linux
	// is compared by its source version, not bsdutils' epoch 1: version.
	libc := find(t, got, "libc6")
	if hasVuln(libc, "CVE-2023-4911") {
		t.Error("libc6: CVE-2023-4911 reported although 2.36-9+deb12u14 is installed")
	}
	if v := vulnByID(find(t, got, "apt"), "CVE-2026-109518"); v == nil || v.FixedBy != "2.6.2" {
		t.Errorf("apt: CVE-2026-109518 = %+v, want fixed by 2.6.2", v)
	}
	if !slices.Equal(ids(find(t, got, "bsdutils")), ids(find(t, got, "libblkid1"))) {
		t.Errorf("bsdutils (epoch 1:) and libblkid1 of the same source differ: %v vs %v",
			ids(find(t, got, "bsdutils")), ids(find(t, got, "libblkid1")))
	}
}

// A bookworm fix does not apply to bullseye, and a bullseye record does not
// apply to bookworm.
func TestDebianRelease(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	recs := debianFixture(t, "12", changelogFixes(t))
	recs = append(recs, vulndb.Record{
		ID: "DEBIAN-CVE-2099-0001", Aliases: []string{"CVE-2099-0001"}, Modified: time.Now().UTC(),
		Affected: []vulndb.Affected{{
			Package: vulndb.Package{Ecosystem: "Debian:11", Name: "glibc"},
			Ranges:  []vulndb.Range{{Type: "ECOSYSTEM", Events: []vulndb.Event{{Introduced: "0"}, {Fixed: "2.99-1"}}}},
		}},
	})
	importPaths(t, db, writeRecords(t, "debian.jsonl", recs))
	comps := bookwormPackages(t)

	bullseye := &catalog.OS{ID: "debian", VersionID: "11", VersionCodename: "bullseye"}
	got, err := Match(ctx, db, bullseye, comps)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		for _, v := range c.Vulns {
			if v.ID != "CVE-2099-0001" {
				t.Errorf("bullseye: %s reported %s from a bookworm record", c.Name, v.ID)
			}
		}
	}
	if !hasVuln(find(t, got, "libc6"), "CVE-2099-0001") {
		t.Error("bullseye: the bullseye glibc record is not reported")
	}

	got, err = Match(ctx, db, bookworm, comps)
	if err != nil {
		t.Fatal(err)
	}
	if hasVuln(find(t, got, "libc6"), "CVE-2099-0001") {
		t.Error("bookworm: a bullseye record is reported")
	}
	// VERSION_ID missing (testing, sid): the codename decides.
	got, err = Match(ctx, db, &catalog.OS{ID: "debian", VersionCodename: "bookworm"}, comps)
	if err != nil {
		t.Fatal(err)
	}
	if len(find(t, got, "apt").Vulns) == 0 {
		t.Error("bookworm by codename: no findings for apt")
	}
	// Without an OS there is no release to look up.
	got, err = Match(ctx, db, nil, comps)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		if len(c.Vulns) > 0 {
			t.Errorf("no OS: %s has findings %v", c.Name, ids(c))
		}
	}
}

// goRecords reads the Go vulnerability database.
func goRecords(t testing.TB) []vulndb.Record {
	t.Helper()
	f, err := os.Open(dataPath(t, goVulnDB))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vulndb.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r vulndb.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

const goVulnDB = "vulns/osv-go/go-vulndb-osv.jsonl"

// goExpected evaluates the Go records for a module version the simple way
// Go's ranges allow (events in order, SemVer from x/mod), independently of
// the matcher.
func goExpected(recs []vulndb.Record, module, v string) []string {
	var out []string
	for _, r := range recs {
		if r.Withdrawn != nil {
			continue
		}
		hit := false
		for _, a := range r.Affected {
			if a.Package.Ecosystem != "Go" || a.Package.Name != module {
				continue
			}
			for _, rg := range a.Ranges {
				in := false
				for _, e := range rg.Events {
					switch {
					case e.Introduced == "0":
						in = true
					case e.Introduced != "" && semver.Compare(v, "v"+e.Introduced) >= 0:
						in = true
					case e.Fixed != "" && semver.Compare(v, "v"+e.Fixed) >= 0:
						in = false
					}
				}
				hit = hit || (rg.Type == "SEMVER" && in)
			}
		}
		if hit {
			out = append(out, r.ID)
		}
	}
	slices.Sort(out)
	return out
}

func TestGo(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	importPaths(t, db, dataPath(t, goVulnDB))
	recs := goRecords(t)

	comps := []catalog.Component{
		{Name: "golang.org/x/text", Version: "v0.3.5", Ecosystem: catalog.Go, Path: "app/server"},
		{Name: "golang.org/x/net", Version: "v0.7.0", Ecosystem: catalog.Go, Path: "app/server"},
		{Name: "stdlib", Version: "v1.20.1", Ecosystem: catalog.Go, Path: "app/server"},
		{Name: "stdlib", Version: "v1.20.1", Ecosystem: catalog.Go, Path: "usr/local/go/bin/go"},
		{Name: "k8s.io/kubernetes", Version: "v1.20.0", Ecosystem: catalog.Go, Path: "app/server"},
	}
	got, err := Match(ctx, db, bookworm, comps)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range got[:3] {
		want := goExpected(recs, c.Name, c.Version)
		if g := ids(c); !slices.Equal(g, want) {
			t.Errorf("%s %s:\n got %v\nwant %v", c.Name, c.Version, g, want)
		}
		if len(want) == 0 {
			t.Errorf("%s: the data has no finding to compare", comps[i].Name)
		}
	}
	// The go command also carries the toolchain's own vulnerabilities.
	wantGo := append(goExpected(recs, "stdlib", "v1.20.1"), goExpected(recs, "toolchain", "v1.20.1")...)
	slices.Sort(wantGo)
	if g := ids(got[3]); !slices.Equal(g, wantGo) {
		t.Errorf("go command:\n got %v\nwant %v", g, wantGo)
	}
	if hasVuln(got[2], "GO-2023-1842") || !hasVuln(got[3], "GO-2023-1842") {
		t.Error("toolchain record GO-2023-1842 (cmd/go) must match the go command only")
	}

	// Known ids, checked by hand against the records.
	for _, c := range []struct {
		comp    int
		id      string
		want    bool
		fixedBy string
	}{
		{0, "GO-2021-0113", true, "0.3.7"},
		{0, "GO-2022-1059", true, "0.3.8"},
		{1, "GO-2023-1988", true, "0.13.0"},
		{1, "GO-2023-2102", true, "0.17.0"},
		{1, "GO-2024-2687", true, "0.23.0"},
		{1, "GO-2023-1571", false, ""}, // fixed in 0.7.0
		{2, "GO-2023-1621", true, "1.20.2"},
		{2, "GO-2023-1705", true, "1.20.3"},
		{2, "GO-2023-2102", true, "1.20.10"},
		{2, "GO-2023-1570", false, ""}, // fixed in 1.20.1
		{4, "GO-2022-0617", false, ""}, // withdrawn
	} {
		v := vulnByID(got[c.comp], c.id)
		switch {
		case c.want && v == nil:
			t.Errorf("%s %s: %s not reported", comps[c.comp].Name, comps[c.comp].Version, c.id)
		case !c.want && v != nil:
			t.Errorf("%s %s: %s reported", comps[c.comp].Name, comps[c.comp].Version, c.id)
		case v != nil && v.FixedBy != c.fixedBy:
			t.Errorf("%s: %s fixed by %q, want %q", comps[c.comp].Name, c.id, v.FixedBy, c.fixedBy)
		}
	}
	v := vulnByID(got[1], "GO-2023-2102")
	if v == nil || !strings.HasPrefix(v.Link, "https://") ||
		!slices.Contains(v.Aliases, "CVE-2023-39325") || !slices.Contains(v.Aliases, "GHSA-4374-p667-p6c8") {
		t.Errorf("GO-2023-2102 = %+v", v)
	}
}

// A GHSA record and a Go record for the same issue are one finding: the Go
// id, both other ids as aliases, the CVSS from the GHSA vector; and NVD's
// score is attached by CVE.
func TestDedupAndScores(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	importPaths(t, db, dataPath(t, goVulnDB), dataPath(t, "vulns/ghsa-sample"), dataPath(t, "vulns/nvd-sample"),
		dataPath(t, "vulns/ubuntu-sample"))
	comps := []catalog.Component{
		{Name: "golang.org/x/net", Version: "v0.7.0", Ecosystem: catalog.Go, Path: "app/server"},
		{Name: "libc6", Version: "2.35-0ubuntu3.1", SourceName: "glibc", SourceVersion: "2.35-0ubuntu3.1", Ecosystem: catalog.Debian, Path: "var/lib/dpkg/status"},
		{Name: "libc6", Version: "2.35-0ubuntu3.4", SourceName: "glibc", SourceVersion: "2.35-0ubuntu3.4", Ecosystem: catalog.Debian, Path: "var/lib/dpkg/status"},
	}
	got, err := Match(ctx, db, &catalog.OS{ID: "ubuntu", VersionID: "22.04"}, comps)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range got[0].Vulns {
		if v.ID == "GHSA-4374-p667-p6c8" || slices.Contains(v.Aliases, "GHSA-4374-p667-p6c8") {
			n++
		}
	}
	v := vulnByID(got[0], "GO-2023-2102")
	if n != 1 || v == nil {
		t.Fatalf("x/net: %d findings carry GHSA-4374-p667-p6c8, GO-2023-2102 = %+v", n, v)
	}
	if v.CVSS != 7.5 || v.CVSSVector != "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H" || v.Severity != scan.SeverityImportant {
		t.Errorf("GO-2023-2102: CVSS %v %q severity %s, want 7.5 from the GHSA vector, IMPORTANT", v.CVSS, v.CVSSVector, v.Severity)
	}

	// Ubuntu: the record is keyed by source package and release, the id is
	// the CVE, CVSS comes from the record's vector, NVD's score from NVD.
	v = vulnByID(got[1], "CVE-2023-4911")
	if v == nil {
		t.Fatalf("libc6 2.35-0ubuntu3.1: CVE-2023-4911 not reported: %v", ids(got[1]))
	}
	if v.FixedBy != "2.35-0ubuntu3.4" || v.CVSS != 7.8 || v.NVDCVSS != 7.8 || v.Severity != scan.SeverityImportant ||
		!slices.Contains(v.Aliases, "UBUNTU-CVE-2023-4911") || v.Link != "https://ubuntu.com/security/CVE-2023-4911" {
		t.Errorf("CVE-2023-4911 = %+v", v)
	}
	if len(got[2].Vulns) != 0 {
		t.Errorf("libc6 2.35-0ubuntu3.4 (fixed): %v", ids(got[2]))
	}
}

func TestLanguageEcosystems(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	importPaths(t, db, dataPath(t, "vulns/ghsa-sample"))
	comps := []catalog.Component{
		{Name: "org.apache.logging.log4j:log4j-core", Version: "2.14.1", Ecosystem: catalog.Maven},
		{Name: "org.apache.logging.log4j:log4j-core", Version: "2.12.2", Ecosystem: catalog.Maven},
		{Name: "org.springframework:spring-beans", Version: "5.3.17", Ecosystem: catalog.Maven},
		{Name: "org.springframework:spring-beans", Version: "5.2.20.RELEASE", Ecosystem: catalog.Maven},
		{Name: "com.fasterxml.jackson.core:jackson-databind", Version: "2.13.2", Ecosystem: catalog.Maven},
		{Name: "lodash", Version: "4.17.20", Ecosystem: catalog.Npm},
		{Name: "semver", Version: "6.3.0", Ecosystem: catalog.Npm},
		{Name: "semver", Version: "7.5.2", Ecosystem: catalog.Npm},
		{Name: "minimist", Version: "1.2.5", Ecosystem: catalog.Npm},
		{Name: "Requests", Version: "2.30.0", Ecosystem: catalog.PyPI},
		{Name: "urllib3", Version: "1.26.16", Ecosystem: catalog.PyPI},
		{Name: "urllib3", Version: "2.0.6", Ecosystem: catalog.PyPI},
		{Name: "lodash", Version: "not-a-version", Ecosystem: catalog.Npm},
		{Name: "whatever", Version: "1.0", Ecosystem: "Hackage"},
	}
	got, err := Match(ctx, db, nil, comps)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ id, fixedBy string }{
		{"GHSA-jfh8-c2jp-5v3q", "2.15.0"},
		{},
		{"GHSA-36p3-wjmg-h94x", "5.3.18"},
		{},
		{"GHSA-57j2-w4cx-62h2", "2.13.2.1"},
		{"GHSA-35jh-r3h4-6jhm", "4.17.21"},
		{"GHSA-c2qf-rxjj-qqgw", "6.3.1"},
		{},
		{"GHSA-xvch-5gv4-984h", "1.2.6"},
		{"GHSA-j8r2-6x86-q33q", "2.31.0"},
		{"GHSA-v845-jxx5-vc9f", "1.26.17"},
		{},
		{},
		{},
	}
	for i, w := range want {
		c := got[i]
		if w.id == "" {
			if len(c.Vulns) != 0 {
				t.Errorf("%s %s: %v, want none", c.Name, c.Version, ids(c))
			}
			continue
		}
		if len(c.Vulns) != 1 || c.Vulns[0].ID != w.id || c.Vulns[0].FixedBy != w.fixedBy {
			t.Errorf("%s %s: %+v, want %s fixed by %s", c.Name, c.Version, c.Vulns, w.id, w.fixedBy)
			continue
		}
		if v := c.Vulns[0]; v.CVSS == 0 || v.CVSSVector == "" || v.Severity == scan.SeverityUnknown || v.Published.IsZero() ||
			v.Link != "https://github.com/advisories/"+w.id && !strings.HasPrefix(v.Link, "https://") {
			t.Errorf("%s: incomplete finding %+v", w.id, v)
		}
	}
	if v := got[0].Vulns[0]; v.CVSS != 10 || v.Severity != scan.SeverityCritical {
		t.Errorf("Log4Shell: CVSS %v severity %s, want 10 CRITICAL", v.CVSS, v.Severity)
	}
}

func TestAlpine(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	importPaths(t, db, dataPath(t, "vulns/alpine-secdb/v3.10/main.yaml"))
	comps := []catalog.Component{
		{Name: "libssl1.1", Version: "1.1.1c-r0", SourceName: "openssl", SourceVersion: "1.1.1c-r0", Ecosystem: catalog.Alpine},
		{Name: "libssl1.1", Version: "1.1.1g-r0", SourceName: "openssl", SourceVersion: "1.1.1g-r0", Ecosystem: catalog.Alpine},
	}
	got, err := Match(ctx, db, &catalog.OS{ID: "alpine", VersionID: "3.10.2"}, comps)
	if err != nil {
		t.Fatal(err)
	}
	old, fresh := got[0], got[1]
	if len(old.Vulns) == 0 {
		t.Fatal("openssl 1.1.1c-r0 on Alpine 3.10: no findings")
	}
	for _, v := range old.Vulns {
		if v.FixedBy == "" || !apkLess(t, "1.1.1c-r0", v.FixedBy) {
			t.Errorf("%s fixed by %q, not above 1.1.1c-r0", v.ID, v.FixedBy)
		}
	}
	if len(fresh.Vulns) >= len(old.Vulns) {
		t.Errorf("openssl 1.1.1g-r0 has %d findings, 1.1.1c-r0 %d", len(fresh.Vulns), len(old.Vulns))
	}
	// Another Alpine release does not see 3.10's fixes.
	got, err = Match(ctx, db, &catalog.OS{ID: "alpine", VersionID: "3.19.1"}, comps[:1])
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0].Vulns) != 0 {
		t.Errorf("Alpine 3.19: %v from the 3.10 secdb", ids(got[0]))
	}
}

// failingDB injects database errors.
type failingDB struct{ err error }

func (f failingDB) BulkAffecting(context.Context, catalog.Ecosystem, string, []string) (map[string][]vulndb.Record, error) {
	return nil, f.err
}

func (f failingDB) NVD(context.Context, []string) (map[string]vulndb.CVSS, error) {
	return nil, f.err
}

func TestErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	comps := []catalog.Component{{Name: "lodash", Version: "4.17.20", Ecosystem: catalog.Npm}}
	if _, err := Match(context.Background(), failingDB{boom}, nil, comps); !errors.Is(err, boom) {
		t.Errorf("database error: got %v", err)
	}
	db := openDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Match(ctx, db, nil, comps); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
	got, err := Match(context.Background(), db, nil, nil)
	if err != nil || len(got) != 0 {
		t.Errorf("no components: %v, %v", got, err)
	}
}

func find(t testing.TB, comps []scan.Component, name string) scan.Component {
	t.Helper()
	for _, c := range comps {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no component %s", name)
	return scan.Component{}
}

func ids(c scan.Component) []string {
	out := make([]string, 0, len(c.Vulns))
	for _, v := range c.Vulns {
		out = append(out, v.ID)
	}
	return out
}

func vulnByID(c scan.Component, id string) *scan.Vuln {
	for i := range c.Vulns {
		if c.Vulns[i].ID == id {
			return &c.Vulns[i]
		}
	}
	return nil
}

func hasVuln(c scan.Component, id string) bool { return vulnByID(c, id) != nil }

// Records of one issue from two feeds (a GHSA and a CVE record, linked by
// alias) are one finding under the CVE id; a withdrawn record never matches.
func TestDedupPrefersCVE(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	pkg := vulndb.Package{Ecosystem: "npm", Name: "left-pad"}
	affects := func(fix string) []vulndb.Affected {
		return []vulndb.Affected{{Package: pkg, Ranges: []vulndb.Range{{Type: "SEMVER",
			Events: []vulndb.Event{{Introduced: "0"}, {Fixed: fix}}}}}}
	}
	withdrawn := now
	importPaths(t, db, writeRecords(t, "npm.jsonl", []vulndb.Record{
		{ID: "GHSA-aaaa-bbbb-cccc", Aliases: []string{"CVE-2026-0001"}, Modified: now, Summary: "from GitHub",
			Severity: []vulndb.Severity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
			Affected: affects("1.3.0")},
		{ID: "CVE-2026-0001", Modified: now, Summary: "from the CVE feed", Affected: affects("1.3.1"),
			References: []vulndb.Reference{{Type: "FIX", URL: "https://example.org/fix"}, {Type: "WEB", URL: "https://example.org/cve"}}},
		{ID: "GHSA-dddd-eeee-ffff", Modified: now, Withdrawn: &withdrawn, Affected: affects("9.0.0")},
	}))
	got, err := Match(ctx, db, nil, []catalog.Component{{Name: "left-pad", Version: "1.2.0", Ecosystem: catalog.Npm}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0].Vulns) != 1 {
		t.Fatalf("findings %v, want one", ids(got[0]))
	}
	v := got[0].Vulns[0]
	if v.ID != "CVE-2026-0001" || !slices.Equal(v.Aliases, []string{"GHSA-aaaa-bbbb-cccc"}) ||
		v.Summary != "from the CVE feed" || v.Link != "https://example.org/cve" ||
		v.FixedBy != "1.3.1" || v.CVSS != 9.8 || v.Severity != scan.SeverityCritical {
		t.Errorf("merged finding %+v", v)
	}
}

// Debian fixes are source versions: a binary package with an epoch of its
// own or a binNMU suffix is judged by its source version.
func TestSourceVersion(t *testing.T) {
	db := openDB(t)
	importPaths(t, db, writeRecords(t, "debian.jsonl", []vulndb.Record{{
		ID: "DEBIAN-CVE-2026-0002", Aliases: []string{"CVE-2026-0002"}, Modified: time.Now().UTC(),
		Affected: []vulndb.Affected{{
			Package: vulndb.Package{Ecosystem: "Debian:12", Name: "util-linux"},
			Ranges:  []vulndb.Range{{Type: "ECOSYSTEM", Events: []vulndb.Event{{Introduced: "0"}, {Fixed: "2.38.1-5+deb12u4"}}}},
		}},
	}}))
	comps := []catalog.Component{
		{Name: "bsdutils", Version: "1:2.38.1-5+deb12u3", SourceName: "util-linux", SourceVersion: "2.38.1-5+deb12u3", Ecosystem: catalog.Debian},
		{Name: "libuuid1", Version: "2.38.1-5+deb12u3+b1", SourceName: "util-linux", SourceVersion: "2.38.1-5+deb12u3", Ecosystem: catalog.Debian},
		{Name: "mount", Version: "2.38.1-5+deb12u4", SourceName: "util-linux", SourceVersion: "2.38.1-5+deb12u4", Ecosystem: catalog.Debian},
		{Name: "util-linux", Version: "2.38.1-5+deb12u3", Ecosystem: catalog.Debian}, // no Source: field
	}
	got, err := Match(context.Background(), db, bookworm, comps)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, false, true} {
		if hasVuln(got[i], "CVE-2026-0002") != want {
			t.Errorf("%s %s (source %s): reported %v, want %v", comps[i].Name, comps[i].Version, comps[i].SourceVersion, !want, want)
		}
	}
}
