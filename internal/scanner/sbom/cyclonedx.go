package sbom

import (
	"cmp"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// CycloneDX 1.5 JSON (https://cyclonedx.org/docs/1.5/json/), the parts
// written here.

type cdxBOM struct {
	Schema          string      `json:"$schema"`
	BOMFormat       string      `json:"bomFormat"`
	SpecVersion     string      `json:"specVersion"`
	SerialNumber    string      `json:"serialNumber"`
	Version         int         `json:"version"`
	Metadata        cdxMetadata `json:"metadata"`
	Components      []cdxComp   `json:"components"`
	Dependencies    []cdxDep    `json:"dependencies"`
	Vulnerabilities []cdxVuln   `json:"vulnerabilities"`
}

type cdxMetadata struct {
	Timestamp string    `json:"timestamp"`
	Tools     cdxTools  `json:"tools"`
	Component cdxComp   `json:"component"`
	Props     []cdxProp `json:"properties,omitempty"`
}

type cdxTools struct {
	Components []cdxComp `json:"components"`
}

type cdxComp struct {
	Type        string       `json:"type"`
	BOMRef      string       `json:"bom-ref,omitempty"`
	Name        string       `json:"name"`
	Version     string       `json:"version,omitempty"`
	Description string       `json:"description,omitempty"`
	Hashes      []cdxHash    `json:"hashes,omitempty"`
	Licenses    []cdxLicense `json:"licenses,omitempty"`
	PURL        string       `json:"purl,omitempty"`
	Props       []cdxProp    `json:"properties,omitempty"`
}

type cdxHash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

type cdxLicense struct {
	License cdxLicenseName `json:"license"`
}

type cdxLicenseName struct {
	Name string `json:"name"`
}

type cdxProp struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type cdxDep struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

type cdxVuln struct {
	BOMRef         string         `json:"bom-ref"`
	ID             string         `json:"id"`
	Source         *cdxSource     `json:"source,omitempty"`
	References     []cdxReference `json:"references,omitempty"`
	Ratings        []cdxRating    `json:"ratings"`
	Description    string         `json:"description,omitempty"`
	Recommendation string         `json:"recommendation,omitempty"`
	Advisories     []cdxAdvisory  `json:"advisories,omitempty"`
	Published      string         `json:"published,omitempty"`
	Affects        []cdxAffect    `json:"affects"`
}

type cdxSource struct {
	Name string `json:"name,omitempty"`
	URL  string `json:"url,omitempty"`
}

type cdxReference struct {
	ID     string    `json:"id"`
	Source cdxSource `json:"source"`
}

type cdxRating struct {
	Source   *cdxSource `json:"source,omitempty"`
	Score    float64    `json:"score,omitempty"`
	Severity string     `json:"severity"`
	Method   string     `json:"method,omitempty"`
	Vector   string     `json:"vector,omitempty"`
}

type cdxAdvisory struct {
	URL string `json:"url"`
}

type cdxAffect struct {
	Ref      string           `json:"ref"`
	Versions []cdxAffectedVer `json:"versions"`
}

type cdxAffectedVer struct {
	Version string `json:"version"`
	Status  string `json:"status"`
}

// CycloneDXSchema is the schema URI of the documents WriteCycloneDX writes.
const CycloneDXSchema = "http://cyclonedx.org/schema/bom-1.5.schema.json"

// cdxSeverity maps a severity to CycloneDX's words.
func cdxSeverity(s scan.Severity) string {
	switch s {
	case scan.SeverityCritical:
		return "critical"
	case scan.SeverityImportant:
		return "high"
	case scan.SeverityModerate:
		return "medium"
	case scan.SeverityLow:
		return "low"
	}
	return "unknown"
}

// cdxMethod is the rating method of a CVSS vector.
func cdxMethod(vector string) string {
	switch {
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		return "CVSSv31"
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		return "CVSSv3"
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		return "CVSSv4"
	}
	return ""
}

// WriteCycloneDX writes img as a CycloneDX 1.5 JSON BOM: the image as the
// metadata component (a container, with its digest), its operating system
// (type operating-system) and packages (type library) as components, and
// every vulnerability found with its ratings and the components it affects.
func WriteCycloneDX(w io.Writer, img *scan.Image, opt Options) error {
	created := opt.created(img)
	serial, err := contentUUID(img, "cyclonedx", created, opt.ToolVersion)
	if err != nil {
		return err
	}
	ids := newUniqueIDs("#")
	imageRef := ids.take(cmp.Or(imagePURL(img), "image:"+imageName(img)))
	bom := cdxBOM{
		Schema:       CycloneDXSchema,
		BOMFormat:    "CycloneDX",
		SpecVersion:  "1.5",
		SerialNumber: "urn:uuid:" + serial,
		Version:      1,
		Metadata: cdxMetadata{
			Timestamp: created.Format(time.RFC3339),
			Tools:     cdxTools{Components: []cdxComp{{Type: "application", Name: "stockade", Version: opt.ToolVersion}}},
			Component: cdxComp{
				Type:    "container",
				BOMRef:  imageRef,
				Name:    imageName(img),
				Version: img.Digest,
				PURL:    imagePURL(img),
			},
		},
		Components:      []cdxComp{},
		Vulnerabilities: []cdxVuln{},
	}
	meta := &bom.Metadata.Component
	if h := sha256Hex(img.Digest); h != "" {
		meta.Hashes = []cdxHash{{Alg: "SHA-256", Content: h}}
	}
	for _, p := range []cdxProp{
		{"stockade:image:reference", cmp.Or(img.FullName, img.Name)},
		{"stockade:image:tag", img.Tag},
		{"stockade:image:platform", img.Platform},
		{"stockade:image:index-digest", img.IndexDigest},
	} {
		if p.Value != "" {
			meta.Props = append(meta.Props, p)
		}
	}

	var depends []string
	if img.OS != nil && img.OS.ID != "" {
		ref := ids.take("os:" + img.OS.ID + "@" + osVersion(img.OS))
		bom.Components = append(bom.Components, cdxComp{
			Type: "operating-system", BOMRef: ref, Name: img.OS.ID, Version: osVersion(img.OS), Description: img.OS.PrettyName,
		})
		depends = append(depends, ref)
	}

	type vulnEntry struct {
		v       scan.Vuln
		affects []cdxAffect
		fixes   []string
	}
	vulns := map[string]*vulnEntry{}
	for _, c := range img.Components {
		ref := ids.take(cmp.Or(c.PURL, "component:"+string(c.Ecosystem)+"/"+c.Name+"@"+c.Version))
		comp := cdxComp{Type: "library", BOMRef: ref, Name: c.Name, Version: c.Version, PURL: c.PURL}
		if c.License != "" {
			comp.Licenses = []cdxLicense{{License: cdxLicenseName{Name: c.License}}}
		}
		for _, p := range []cdxProp{
			{"stockade:package:ecosystem", string(c.Ecosystem)},
			{"stockade:package:path", c.Path},
			{"stockade:package:layer", c.Layer},
			{"stockade:package:source-name", c.SourceName},
			{"stockade:package:source-version", c.SourceVersion},
		} {
			if p.Value != "" {
				comp.Props = append(comp.Props, p)
			}
		}
		bom.Components = append(bom.Components, comp)
		depends = append(depends, ref)
		for _, v := range c.Vulns {
			e := vulns[v.ID]
			if e == nil {
				e = &vulnEntry{v: v}
				vulns[v.ID] = e
			} else if v.Severity.Rank() > e.v.Severity.Rank() {
				e.v = v
			}
			e.affects = append(e.affects, cdxAffect{Ref: ref, Versions: []cdxAffectedVer{{Version: c.Version, Status: "affected"}}})
			if v.FixedBy != "" {
				fix := "upgrade " + c.Name + " to " + v.FixedBy
				if !slices.Contains(e.fixes, fix) {
					e.fixes = append(e.fixes, fix)
				}
			}
		}
	}
	bom.Dependencies = []cdxDep{{Ref: imageRef, DependsOn: depends}}
	if depends == nil {
		bom.Dependencies[0].DependsOn = []string{}
	}

	vulnIDs := make([]string, 0, len(vulns))
	for id := range vulns {
		vulnIDs = append(vulnIDs, id)
	}
	slices.Sort(vulnIDs)
	vulnRefs := newUniqueIDs("#")
	for _, id := range vulnIDs {
		e := vulns[id]
		v := e.v
		cv := cdxVuln{
			BOMRef:      vulnRefs.take("vuln:" + id),
			ID:          id,
			Description: v.Summary,
			Affects:     e.affects,
		}
		if v.Link != "" {
			cv.Source = &cdxSource{URL: v.Link}
			cv.Advisories = []cdxAdvisory{{URL: v.Link}}
		}
		for _, a := range v.Aliases {
			cv.References = append(cv.References, cdxReference{ID: a, Source: cdxSource{Name: aliasSource(a)}})
		}
		rating := cdxRating{Severity: cdxSeverity(v.Severity), Vector: v.CVSSVector, Method: cdxMethod(v.CVSSVector)}
		if rating.Method != "" {
			rating.Score = v.CVSS
		} else {
			rating.Vector = ""
		}
		cv.Ratings = []cdxRating{rating}
		if v.NVDCVSS > 0 {
			cv.Ratings = append(cv.Ratings, cdxRating{Source: &cdxSource{Name: "NVD", URL: "https://nvd.nist.gov/"},
				Score: v.NVDCVSS, Severity: cdxSeverityForScore(v.NVDCVSS)})
		}
		if len(e.fixes) > 0 {
			cv.Recommendation = strings.ToUpper(e.fixes[0][:1]) + strings.Join(e.fixes, "; ")[1:]
		}
		if !v.Published.IsZero() {
			cv.Published = v.Published.UTC().Format(time.RFC3339)
		}
		bom.Vulnerabilities = append(bom.Vulnerabilities, cv)
	}
	return encode(w, bom, "CycloneDX SBOM")
}

func cdxSeverityForScore(s float64) string {
	switch {
	case s >= 9:
		return "critical"
	case s >= 7:
		return "high"
	case s >= 4:
		return "medium"
	case s > 0:
		return "low"
	}
	return "none"
}

// aliasSource names the database an alias id belongs to.
func aliasSource(id string) string {
	switch {
	case strings.HasPrefix(id, "CVE-"):
		return "NVD"
	case strings.HasPrefix(id, "GHSA-"):
		return "GitHub Advisory Database"
	case strings.HasPrefix(id, "GO-"):
		return "Go Vulnerability Database"
	}
	return ""
}
