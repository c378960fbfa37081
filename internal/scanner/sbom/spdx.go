package sbom

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// SPDX 2.3 JSON (https://spdx.github.io/spdx-spec/v2.3/), the parts written
// here.

type spdxDoc struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreationInfo   `json:"creationInfo"`
	Packages          []spdxPackage      `json:"packages"`
	Relationships     []spdxRelationship `json:"relationships"`
	ExtractedLicenses []spdxExtracted    `json:"hasExtractedLicensingInfos,omitempty"`
}

type spdxCreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	SPDXID           string            `json:"SPDXID"`
	Name             string            `json:"name"`
	VersionInfo      string            `json:"versionInfo,omitempty"`
	Supplier         string            `json:"supplier,omitempty"`
	DownloadLocation string            `json:"downloadLocation"`
	FilesAnalyzed    bool              `json:"filesAnalyzed"`
	Checksums        []spdxChecksum    `json:"checksums,omitempty"`
	SourceInfo       string            `json:"sourceInfo,omitempty"`
	LicenseConcluded string            `json:"licenseConcluded"`
	LicenseDeclared  string            `json:"licenseDeclared"`
	CopyrightText    string            `json:"copyrightText"`
	Description      string            `json:"description,omitempty"`
	ExternalRefs     []spdxExternalRef `json:"externalRefs,omitempty"`
	PrimaryPurpose   string            `json:"primaryPackagePurpose,omitempty"`
}

type spdxChecksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type spdxExternalRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

type spdxExtracted struct {
	LicenseID     string `json:"licenseId"`
	ExtractedText string `json:"extractedText"`
	Name          string `json:"name"`
}

const (
	spdxNoAssertion = "NOASSERTION"
	// SPDXNamespaceBase prefixes the documentNamespace of every document
	// WriteSPDX writes; the rest is the image name and the document's UUID.
	SPDXNamespaceBase = "https://stockade.dev/spdx/"
)

// spdxIDPart turns s into characters an SPDXID allows (letters, digits,
// "." and "-").
func spdxIDPart(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if len(out) > 80 {
		out = out[:80]
	}
	return out
}

// licenseRef is the LicenseRef id of a licence text SPDX cannot take as an
// expression: the package metadata's licence string is kept verbatim in
// hasExtractedLicensingInfos, since checking it against the SPDX licence
// list would guess.
func licenseRef(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "LicenseRef-" + cmp.Or(spdxIDPart(text), "license") + "-" + hex.EncodeToString(sum[:4])
}

// WriteSPDX writes img as an SPDX 2.3 JSON document: the image as a CONTAINER
// package the document DESCRIBES, which CONTAINS its operating system and
// every package found, each package with its purl as an external reference
// and its declared licence.
func WriteSPDX(w io.Writer, img *scan.Image, opt Options) error {
	created := opt.created(img)
	uuid, err := contentUUID(img, "spdx", created, opt.ToolVersion)
	if err != nil {
		return err
	}
	name := imageName(img)
	doc := spdxDoc{
		SPDXVersion:       "SPDX-2.3",
		DataLicense:       "CC0-1.0",
		SPDXID:            "SPDXRef-DOCUMENT",
		Name:              cmp.Or(img.FullName, img.Name, name),
		DocumentNamespace: SPDXNamespaceBase + url.PathEscape(cmp.Or(spdxIDPart(name), "image")) + "-" + uuid,
		CreationInfo: spdxCreationInfo{
			Created:  created.Format(time.RFC3339),
			Creators: []string{"Tool: stockade-" + cmp.Or(opt.ToolVersion, "unknown")},
		},
		Packages:      []spdxPackage{},
		Relationships: []spdxRelationship{},
	}
	ids := newUniqueIDs("-", "SPDXRef-DOCUMENT")
	imageID := ids.take("SPDXRef-Image-" + cmp.Or(spdxIDPart(name), "image"))
	imagePkg := spdxPackage{
		SPDXID: imageID, Name: name, VersionInfo: img.Digest,
		DownloadLocation: spdxNoAssertion, LicenseConcluded: spdxNoAssertion, LicenseDeclared: spdxNoAssertion,
		CopyrightText: spdxNoAssertion, PrimaryPurpose: "CONTAINER",
	}
	if h := sha256Hex(img.Digest); h != "" {
		imagePkg.Checksums = []spdxChecksum{{Algorithm: "SHA256", Value: h}}
	}
	if p := imagePURL(img); p != "" {
		imagePkg.ExternalRefs = []spdxExternalRef{{Category: "PACKAGE-MANAGER", Type: "purl", Locator: p}}
	}
	doc.Packages = append(doc.Packages, imagePkg)
	doc.Relationships = append(doc.Relationships, spdxRelationship{Element: "SPDXRef-DOCUMENT", Type: "DESCRIBES", Related: imageID})

	if img.OS != nil && img.OS.ID != "" {
		id := ids.take("SPDXRef-OperatingSystem-" + spdxIDPart(img.OS.ID+"-"+osVersion(img.OS)))
		doc.Packages = append(doc.Packages, spdxPackage{
			SPDXID: id, Name: img.OS.ID, VersionInfo: osVersion(img.OS), Description: img.OS.PrettyName,
			DownloadLocation: spdxNoAssertion, LicenseConcluded: spdxNoAssertion, LicenseDeclared: spdxNoAssertion,
			CopyrightText: spdxNoAssertion, PrimaryPurpose: "OPERATING-SYSTEM",
		})
		doc.Relationships = append(doc.Relationships, spdxRelationship{Element: imageID, Type: "CONTAINS", Related: id})
	}

	extracted := map[string]bool{}
	for _, c := range img.Components {
		id := ids.take("SPDXRef-Package-" + cmp.Or(spdxIDPart(string(c.Ecosystem)+"-"+c.Name+"-"+c.Version), "package"))
		p := spdxPackage{
			SPDXID: id, Name: c.Name, VersionInfo: c.Version,
			DownloadLocation: spdxNoAssertion, LicenseConcluded: spdxNoAssertion, LicenseDeclared: spdxNoAssertion,
			CopyrightText: spdxNoAssertion, PrimaryPurpose: "LIBRARY",
		}
		if c.Path != "" {
			p.SourceInfo = "found in /" + c.Path
			if c.Layer != "" {
				p.SourceInfo += " (layer " + c.Layer + ")"
			}
		}
		if c.License != "" {
			ref := licenseRef(c.License)
			p.LicenseDeclared = ref
			if !extracted[ref] {
				extracted[ref] = true
				doc.ExtractedLicenses = append(doc.ExtractedLicenses, spdxExtracted{LicenseID: ref, ExtractedText: c.License, Name: c.License})
			}
		}
		if c.PURL != "" {
			p.ExternalRefs = []spdxExternalRef{{Category: "PACKAGE-MANAGER", Type: "purl", Locator: c.PURL}}
		}
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, spdxRelationship{Element: imageID, Type: "CONTAINS", Related: id})
	}
	return encode(w, doc, "SPDX SBOM")
}
