// Package sbom writes the software bill of materials of a scanned image in
// the two standard forms: CycloneDX 1.5 JSON (with the vulnerabilities found)
// and SPDX 2.3 JSON.
//
// The one idea: an SBOM is a function of the scan result and a time. The
// same scan.Image and Options give the same bytes — identifiers (bom-refs,
// SPDXIDs, the serial number and the document namespace) are derived from
// the content, never random — so SBOMs can be diffed and cached, and each
// identifier is unique within its document.
package sbom

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/purl"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// Options tune the writers.
type Options struct {
	// Time is the document's creation time; zero means the scan time.
	Time time.Time
	// ToolVersion is the stockade version named as the creating tool.
	ToolVersion string
}

// Formats are the SBOM formats Write knows.
func Formats() []string { return []string{"cyclonedx", "spdx"} }

// Write writes img's SBOM in format ("cyclonedx" or "spdx").
func Write(w io.Writer, format string, img *scan.Image, opt Options) error {
	switch format {
	case "cyclonedx":
		return WriteCycloneDX(w, img, opt)
	case "spdx":
		return WriteSPDX(w, img, opt)
	}
	return fmt.Errorf("unknown SBOM format %q (want %s)", format, strings.Join(Formats(), ", "))
}

func (o Options) created(img *scan.Image) time.Time {
	t := o.Time
	if t.IsZero() {
		t = img.ScanTime
	}
	return t.UTC().Truncate(time.Second)
}

// imageName is the image's repository without tag or digest
// ("registry.example.com/team/app").
func imageName(img *scan.Image) string {
	if img.Registry != "" && img.Remote != "" {
		return img.Registry + "/" + img.Remote
	}
	return cmp.Or(img.FullName, img.Name)
}

// imagePURL is the oci package URL of the image, or "" without a digest.
func imagePURL(img *scan.Image) string {
	if img.Digest == "" || img.Remote == "" {
		return ""
	}
	return purl.OCI(img.Registry, img.Remote, img.Digest, img.Tag)
}

// contentUUID is a UUID (RFC 9562 version 8, name-based with SHA-256)
// derived from the document's inputs, so that the same scan at the same
// time always gets the same serial number and a different one never does.
func contentUUID(img *scan.Image, format string, created time.Time, toolVersion string) (string, error) {
	h := sha256.New()
	_, _ = fmt.Fprintf(h, "%s\x00%s\x00%s\x00", format, created.Format(time.RFC3339), toolVersion) // a hash never fails to write
	if err := json.NewEncoder(h).Encode(img); err != nil {
		return "", fmt.Errorf("hash scan result: %w", err)
	}
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	x := hex.EncodeToString(b)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32], nil
}

// uniqueIDs hands out identifiers, making each unique by appending sep
// and a number ("-2", "#3", …) to a repeated one.
type uniqueIDs struct {
	sep  string
	seen map[string]bool
}

func newUniqueIDs(sep string, reserved ...string) *uniqueIDs {
	u := &uniqueIDs{sep: sep, seen: map[string]bool{}}
	for _, r := range reserved {
		u.seen[r] = true
	}
	return u
}

func (u *uniqueIDs) take(id string) string {
	out := id
	for n := 2; u.seen[out]; n++ {
		out = fmt.Sprintf("%s%s%d", id, u.sep, n)
	}
	u.seen[out] = true
	return out
}

// osVersion is the OS version an SBOM names: "12", or the codename.
func osVersion(os *catalog.OS) string { return cmp.Or(os.VersionID, os.VersionCodename) }

// sha256Hex returns the hex of a "sha256:…" digest, or "".
func sha256Hex(digest string) string {
	if h, ok := strings.CutPrefix(digest, "sha256:"); ok && len(h) == 64 {
		return h
	}
	return ""
}

func encode(w io.Writer, v any, what string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	return nil
}
