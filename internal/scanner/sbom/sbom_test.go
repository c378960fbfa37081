package sbom

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/apk"
	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/dpkg"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/shareddata"
)

var fixedTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// realImage catalogs a layer holding the real bookworm minbase dpkg
// database with the layer walker, and adds what the matcher would: a
// vulnerability in two packages of the same source, plus two copies of
// one npm package at different paths (same PURL) and a licence text.
func realImage(t *testing.T) *scan.Image {
	t.Helper()
	status, err := os.ReadFile(shareddata.Path(t, "os", "debian-bookworm-minbase", "dpkg-status"))
	if err != nil {
		t.Fatal(err)
	}
	osRelease, err := os.ReadFile("../testdata/debian-bookworm-os-release")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range map[string][]byte{"etc/os-release": osRelease, "var/lib/dpkg/status": status} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	reg, err := layer.NewRegistry(dpkg.New(), apk.New())
	if err != nil {
		t.Fatal(err)
	}
	const digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	res, err := layer.NewWalker(reg, layer.WalkerOptions{}).Walk(context.Background(), digest, &buf)
	if err != nil {
		t.Fatal(err)
	}
	cat := layer.Merge([]catalog.LayerResult{res})
	img := &scan.Image{
		Name: "registry.example.com/team/app:1", FullName: "registry.example.com/team/app:1",
		Registry: "registry.example.com", Remote: "team/app", Tag: "1",
		Digest:   "sha256:abababababababababababababababababababababababababababababababab",
		Platform: "linux/amd64", OS: cat.OS, ScanTime: fixedTime,
	}
	glibc := scan.Vuln{ID: "CVE-2023-4911", Aliases: []string{"DSA-5514-1"}, Severity: scan.SeverityImportant, CVSS: 7.8,
		CVSSVector: "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", FixedBy: "2.36-9+deb12u3", NVDCVSS: 7.8,
		Link: "https://security-tracker.debian.org/tracker/CVE-2023-4911", Published: time.Date(2023, 10, 3, 0, 0, 0, 0, time.UTC)}
	for _, c := range cat.Components {
		sc := scan.Component{Component: c}
		if c.SourceName == "glibc" {
			sc.Vulns = []scan.Vuln{glibc}
		}
		img.Components = append(img.Components, sc)
	}
	for _, path := range []string{"app/node_modules/ms/package.json", "app/node_modules/debug/node_modules/ms/package.json"} {
		img.Components = append(img.Components, scan.Component{
			Component: catalog.Component{Name: "ms", Version: "2.0.0", Ecosystem: catalog.Npm, Path: path,
				PURL: "pkg:npm/ms@2.0.0", License: "MIT"},
			Vulns: []scan.Vuln{{ID: "GHSA-w9mr-4mfr-499f", Aliases: []string{"CVE-2017-20162"}, Severity: scan.SeverityModerate, FixedBy: "2.0.1"}},
		})
	}
	img.Components = append(img.Components, scan.Component{Component: catalog.Component{
		Name: "weird", Version: "1", Ecosystem: catalog.PyPI, Path: "usr/lib/python3/dist-packages/weird.dist-info/METADATA",
		PURL: "pkg:pypi/weird@1", License: "GPL-2+ with \"exceptions\" <see COPYING>"}})
	return img
}

type cdxDoc struct {
	Schema       string `json:"$schema"`
	BOMFormat    string `json:"bomFormat"`
	SpecVersion  string `json:"specVersion"`
	SerialNumber string `json:"serialNumber"`
	Version      int    `json:"version"`
	Metadata     struct {
		Timestamp string `json:"timestamp"`
		Tools     struct {
			Components []struct {
				Name, Version string
			} `json:"components"`
		} `json:"tools"`
		Component cdxTestComp `json:"component"`
	} `json:"metadata"`
	Components   []cdxTestComp `json:"components"`
	Dependencies []struct {
		Ref       string   `json:"ref"`
		DependsOn []string `json:"dependsOn"`
	} `json:"dependencies"`
	Vulnerabilities []struct {
		BOMRef     string `json:"bom-ref"`
		ID         string `json:"id"`
		References []struct {
			ID string `json:"id"`
		} `json:"references"`
		Ratings []struct {
			Score    float64 `json:"score"`
			Severity string  `json:"severity"`
			Method   string  `json:"method"`
			Vector   string  `json:"vector"`
		} `json:"ratings"`
		Recommendation string `json:"recommendation"`
		Affects        []struct {
			Ref      string `json:"ref"`
			Versions []struct {
				Version, Status string
			} `json:"versions"`
		} `json:"affects"`
	} `json:"vulnerabilities"`
}

type cdxTestComp struct {
	Type     string `json:"type"`
	BOMRef   string `json:"bom-ref"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	PURL     string `json:"purl"`
	Licenses []struct {
		License struct {
			Name string `json:"name"`
		} `json:"license"`
	} `json:"licenses"`
	Hashes []struct {
		Alg, Content string
	} `json:"hashes"`
}

func writeCDX(t *testing.T, img *scan.Image, opt Options) ([]byte, cdxDoc) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteCycloneDX(&b, img, opt); err != nil {
		t.Fatal(err)
	}
	var doc cdxDoc
	dec := json.NewDecoder(bytes.NewReader(b.Bytes()))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("CycloneDX output is not JSON: %v", err)
	}
	return b.Bytes(), doc
}

var uuidURN = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCycloneDX(t *testing.T) {
	img := realImage(t)
	out, doc := writeCDX(t, img, Options{ToolVersion: "v1.2.3"})

	if doc.Schema != CycloneDXSchema || doc.BOMFormat != "CycloneDX" || doc.SpecVersion != "1.5" || doc.Version != 1 {
		t.Errorf("header %q %q %q %d", doc.Schema, doc.BOMFormat, doc.SpecVersion, doc.Version)
	}
	if !uuidURN.MatchString(doc.SerialNumber) {
		t.Errorf("serial number %q is not a urn:uuid", doc.SerialNumber)
	}
	if doc.Metadata.Timestamp != "2026-03-04T05:06:07Z" {
		t.Errorf("timestamp %q, want the scan time", doc.Metadata.Timestamp)
	}
	if len(doc.Metadata.Tools.Components) != 1 || doc.Metadata.Tools.Components[0].Version != "v1.2.3" {
		t.Errorf("tools %+v", doc.Metadata.Tools)
	}
	mc := doc.Metadata.Component
	if mc.Type != "container" || mc.Name != "registry.example.com/team/app" || mc.Version != img.Digest ||
		!strings.HasPrefix(mc.PURL, "pkg:oci/app@sha256:abab") || len(mc.Hashes) != 1 || mc.Hashes[0].Content != strings.TrimPrefix(img.Digest, "sha256:") {
		t.Errorf("metadata component %+v", mc)
	}

	refs := map[string]cdxTestComp{mc.BOMRef: mc}
	types := map[string]int{}
	for _, c := range doc.Components {
		if c.BOMRef == "" || c.Name == "" || c.Type == "" {
			t.Errorf("component without bom-ref, name or type: %+v", c)
		}
		if _, dup := refs[c.BOMRef]; dup {
			t.Errorf("bom-ref %q is not unique", c.BOMRef)
		}
		refs[c.BOMRef] = c
		types[c.Type]++
		if c.Type == "library" && c.PURL == "" {
			t.Errorf("library %s has no purl", c.Name)
		}
	}
	if types["operating-system"] != 1 || types["library"] != len(img.Components) {
		t.Errorf("component types %v, want 1 operating-system and %d libraries", types, len(img.Components))
	}
	if os := doc.Components[0]; os.Type != "operating-system" || os.Name != "debian" || os.Version != "12" {
		t.Errorf("OS component %+v", os)
	}
	libc := refs["pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12"]
	if libc.Name == "" {
		var names []string
		for r := range refs {
			names = append(names, r)
		}
		slices.Sort(names)
		t.Fatalf("no libc6 component by its purl among %v", names)
	}
	if ms := refs["pkg:npm/ms@2.0.0#2"]; ms.Name != "ms" || len(ms.Licenses) != 1 || ms.Licenses[0].License.Name != "MIT" {
		t.Errorf("second copy of ms: %+v", ms)
	}

	if len(doc.Dependencies) != 1 || doc.Dependencies[0].Ref != mc.BOMRef || len(doc.Dependencies[0].DependsOn) != len(doc.Components) {
		t.Errorf("dependencies %+v", doc.Dependencies)
	}
	for _, d := range doc.Dependencies[0].DependsOn {
		if _, ok := refs[d]; !ok {
			t.Errorf("dependency on unknown bom-ref %q", d)
		}
	}

	vulnRefs := map[string]bool{}
	for _, v := range doc.Vulnerabilities {
		if vulnRefs[v.BOMRef] || refs[v.BOMRef].Name != "" {
			t.Errorf("vulnerability bom-ref %q is not unique", v.BOMRef)
		}
		vulnRefs[v.BOMRef] = true
		if len(v.Ratings) == 0 || len(v.Affects) == 0 {
			t.Errorf("%s: no ratings or affects", v.ID)
		}
		for _, a := range v.Affects {
			if _, ok := refs[a.Ref]; !ok {
				t.Errorf("%s affects unknown bom-ref %q", v.ID, a.Ref)
			}
		}
	}
	if len(doc.Vulnerabilities) != 2 {
		t.Fatalf("%d vulnerabilities, want 2", len(doc.Vulnerabilities))
	}
	cve := doc.Vulnerabilities[0]
	glibcPkgs := 0
	for _, c := range img.Components {
		if c.SourceName == "glibc" {
			glibcPkgs++
		}
	}
	if cve.ID != "CVE-2023-4911" || len(cve.Affects) != glibcPkgs || glibcPkgs < 2 ||
		cve.Ratings[0].Severity != "high" || cve.Ratings[0].Score != 7.8 || cve.Ratings[0].Method != "CVSSv31" ||
		len(cve.Ratings) != 2 || !strings.Contains(cve.Recommendation, "to 2.36-9+deb12u3") || cve.References[0].ID != "DSA-5514-1" {
		t.Errorf("glibc vulnerability %+v (glibc packages: %d)", cve, glibcPkgs)
	}
	if ghsa := doc.Vulnerabilities[1]; ghsa.Ratings[0].Severity != "medium" || ghsa.Ratings[0].Method != "" || len(ghsa.Affects) != 2 {
		t.Errorf("npm vulnerability %+v", ghsa)
	}

	// Deterministic for a fixed time; another time is another document.
	again, _ := writeCDX(t, realImage(t), Options{ToolVersion: "v1.2.3"})
	if !bytes.Equal(out, again) {
		t.Error("two runs over the same scan differ")
	}
	_, later := writeCDX(t, img, Options{ToolVersion: "v1.2.3", Time: fixedTime.Add(time.Hour)})
	if later.SerialNumber == doc.SerialNumber || later.Metadata.Timestamp != "2026-03-04T06:06:07Z" {
		t.Errorf("another time kept serial %s, timestamp %s", later.SerialNumber, later.Metadata.Timestamp)
	}
}

type spdxTestDoc struct {
	SPDXVersion       string `json:"spdxVersion"`
	DataLicense       string `json:"dataLicense"`
	SPDXID            string `json:"SPDXID"`
	Name              string `json:"name"`
	DocumentNamespace string `json:"documentNamespace"`
	CreationInfo      struct {
		Created  string   `json:"created"`
		Creators []string `json:"creators"`
	} `json:"creationInfo"`
	Packages []struct {
		SPDXID           string `json:"SPDXID"`
		Name             string `json:"name"`
		VersionInfo      string `json:"versionInfo"`
		DownloadLocation string `json:"downloadLocation"`
		FilesAnalyzed    *bool  `json:"filesAnalyzed"`
		LicenseDeclared  string `json:"licenseDeclared"`
		LicenseConcluded string `json:"licenseConcluded"`
		CopyrightText    string `json:"copyrightText"`
		PrimaryPurpose   string `json:"primaryPackagePurpose"`
		Checksums        []struct {
			Algorithm, ChecksumValue string
		} `json:"checksums"`
		ExternalRefs []struct {
			ReferenceCategory, ReferenceType, ReferenceLocator string
		} `json:"externalRefs"`
	} `json:"packages"`
	Relationships []struct {
		Element string `json:"spdxElementId"`
		Type    string `json:"relationshipType"`
		Related string `json:"relatedSpdxElement"`
	} `json:"relationships"`
	Extracted []struct {
		LicenseID     string `json:"licenseId"`
		ExtractedText string `json:"extractedText"`
		Name          string `json:"name"`
	} `json:"hasExtractedLicensingInfos"`
}

var spdxIDPattern = regexp.MustCompile(`^SPDXRef-[a-zA-Z0-9.-]+$`)

func TestSPDX(t *testing.T) {
	img := realImage(t)
	var b bytes.Buffer
	if err := WriteSPDX(&b, img, Options{ToolVersion: "v1.2.3"}); err != nil {
		t.Fatal(err)
	}
	var doc spdxTestDoc
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.DataLicense != "CC0-1.0" || doc.SPDXID != "SPDXRef-DOCUMENT" || doc.Name != img.FullName {
		t.Errorf("header %+v", doc)
	}
	if !strings.HasPrefix(doc.DocumentNamespace, SPDXNamespaceBase+"registry.example.com-team-app-") {
		t.Errorf("namespace %q", doc.DocumentNamespace)
	}
	if doc.CreationInfo.Created != "2026-03-04T05:06:07Z" || !slices.Equal(doc.CreationInfo.Creators, []string{"Tool: stockade-v1.2.3"}) {
		t.Errorf("creation info %+v", doc.CreationInfo)
	}
	ids := map[string]string{"SPDXRef-DOCUMENT": "document"}
	purposes := map[string]int{}
	for _, p := range doc.Packages {
		if !spdxIDPattern.MatchString(p.SPDXID) {
			t.Errorf("SPDXID %q is not valid", p.SPDXID)
		}
		if _, dup := ids[p.SPDXID]; dup {
			t.Errorf("SPDXID %q is not unique", p.SPDXID)
		}
		ids[p.SPDXID] = p.PrimaryPurpose
		purposes[p.PrimaryPurpose]++
		if p.Name == "" || p.DownloadLocation == "" || p.FilesAnalyzed == nil || p.LicenseConcluded == "" || p.LicenseDeclared == "" || p.CopyrightText == "" {
			t.Errorf("package %s lacks a required field: %+v", p.SPDXID, p)
		}
		if p.PrimaryPurpose == "LIBRARY" && (len(p.ExternalRefs) != 1 || p.ExternalRefs[0].ReferenceType != "purl" ||
			p.ExternalRefs[0].ReferenceCategory != "PACKAGE-MANAGER" || !strings.HasPrefix(p.ExternalRefs[0].ReferenceLocator, "pkg:")) {
			t.Errorf("package %s has no purl reference: %+v", p.Name, p.ExternalRefs)
		}
	}
	if purposes["CONTAINER"] != 1 || purposes["OPERATING-SYSTEM"] != 1 || purposes["LIBRARY"] != len(img.Components) {
		t.Errorf("purposes %v", purposes)
	}
	image := doc.Packages[0]
	if image.PrimaryPurpose != "CONTAINER" || len(image.Checksums) != 1 || image.Checksums[0].Algorithm != "SHA256" {
		t.Errorf("image package %+v", image)
	}

	describes, contains := 0, map[string]bool{}
	for _, r := range doc.Relationships {
		if _, ok := ids[r.Element]; !ok {
			t.Errorf("relationship from unknown %q", r.Element)
		}
		if _, ok := ids[r.Related]; !ok {
			t.Errorf("relationship to unknown %q", r.Related)
		}
		switch r.Type {
		case "DESCRIBES":
			describes++
			if r.Element != "SPDXRef-DOCUMENT" || r.Related != image.SPDXID {
				t.Errorf("DESCRIBES %+v", r)
			}
		case "CONTAINS":
			if r.Element != image.SPDXID || contains[r.Related] {
				t.Errorf("CONTAINS %+v", r)
			}
			contains[r.Related] = true
		default:
			t.Errorf("unexpected relationship %+v", r)
		}
	}
	if describes != 1 || len(contains) != len(doc.Packages)-1 {
		t.Errorf("%d DESCRIBES, %d CONTAINS for %d packages", describes, len(contains), len(doc.Packages))
	}

	refs := map[string]string{}
	for _, e := range doc.Extracted {
		if !strings.HasPrefix(e.LicenseID, "LicenseRef-") || !spdxIDPattern.MatchString("SPDXRef-"+strings.TrimPrefix(e.LicenseID, "LicenseRef-")) {
			t.Errorf("licence id %q", e.LicenseID)
		}
		refs[e.LicenseID] = e.ExtractedText
	}
	for _, p := range doc.Packages {
		if p.LicenseDeclared != "NOASSERTION" && refs[p.LicenseDeclared] == "" {
			t.Errorf("package %s declares %q, which the document does not define", p.Name, p.LicenseDeclared)
		}
	}
	if !slices.Contains(slices.Collect(mapValues(refs)), `GPL-2+ with "exceptions" <see COPYING>`) || len(refs) != 2 {
		t.Errorf("extracted licences %v", refs)
	}

	var again bytes.Buffer
	if err := WriteSPDX(&again, realImage(t), Options{ToolVersion: "v1.2.3"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), again.Bytes()) {
		t.Error("two runs over the same scan differ")
	}
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func TestWriteFormats(t *testing.T) {
	img := &scan.Image{Name: "app", ScanTime: fixedTime}
	for _, f := range Formats() {
		var b bytes.Buffer
		if err := Write(&b, f, img, Options{}); err != nil || !json.Valid(b.Bytes()) {
			t.Errorf("%s of an empty scan: %v\n%s", f, err, b.String())
		}
	}
	if err := Write(&bytes.Buffer{}, "swid", img, Options{}); err == nil || !strings.Contains(err.Error(), "swid") {
		t.Errorf("unknown format: %v", err)
	}
}
