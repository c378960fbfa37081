package policy

import (
	"strconv"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/workload"
)

// Image criteria are evaluated against the scan of a container's image:
// image-level groups against the image, Dockerfile Line against one history
// step, Image Component against one package, and vulnerability groups
// against one vulnerability of a package that satisfies the component
// groups — all groups of a level must hold for the same object.

const day = 24 * time.Hour

func daysSince(t, now time.Time) float64 {
	if t.IsZero() {
		return -1
	}
	return float64(now.Sub(t) / day)
}

// imageMatches reports whether the image satisfies every image, layer,
// component and vulnerability group of the section. An unscanned image (nil)
// satisfies only "Unscanned Image: true".
func (s *section) imageMatches(img *scan.Image, now time.Time) bool {
	for _, g := range s.image {
		if !g.matchImage(img, now) {
			return false
		}
	}
	if img == nil {
		return len(s.layer) == 0 && len(s.component) == 0 && len(s.vuln) == 0
	}
	if len(s.layer) > 0 {
		found := false
		for i := range img.Metadata.Layers {
			if s.layerMatches(&img.Metadata.Layers[i]) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if len(s.component) > 0 || len(s.vuln) > 0 {
		found := false
		s.eachComponentVuln(img, now, func(*scan.Component, *scan.Vuln) bool {
			found = true
			return false
		})
		if !found {
			return false
		}
	}
	return true
}

func (s *section) layerMatches(l *scan.Layer) bool {
	for _, g := range s.layer {
		if !g.matchLayer(l) {
			return false
		}
	}
	return true
}

// eachComponentVuln calls fn for every component satisfying the component
// groups — and, when the section has vulnerability groups, for every
// vulnerability of it satisfying them (else with a nil vuln) — until fn
// returns false.
func (s *section) eachComponentVuln(img *scan.Image, now time.Time, fn func(*scan.Component, *scan.Vuln) bool) {
	for ci := range img.Components {
		comp := &img.Components[ci]
		ok := true
		for _, g := range s.component {
			if !g.matchComponent(comp) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if len(s.vuln) == 0 {
			if !fn(comp, nil) {
				return
			}
			continue
		}
		for vi := range comp.Vulns {
			v := &comp.Vulns[vi]
			vok := true
			for _, g := range s.vuln {
				if !g.matchVuln(v, now) {
					vok = false
					break
				}
			}
			if vok && !fn(comp, v) {
				return
			}
		}
	}
}

func (s *section) imageMessages(c *workload.Container, img *scan.Image, now time.Time, out []Violation, start int) []Violation {
	name := imageName(c, img)
	for _, g := range s.image {
		out = addViolation(out, start, Violation{Message: g.imageMessage(name, img, now), Container: c.Name})
	}
	if img == nil {
		return out
	}
	if len(s.layer) > 0 {
		for i := range img.Metadata.Layers {
			l := &img.Metadata.Layers[i]
			if s.layerMatches(l) {
				out = addViolation(out, start, Violation{Message: "Image " + name + " has Dockerfile line '" + l.Instruction + " " + redactedValue(l) + "'", Container: c.Name})
			}
		}
	}
	if len(s.component) > 0 || len(s.vuln) > 0 {
		s.eachComponentVuln(img, now, func(comp *scan.Component, v *scan.Vuln) bool {
			out = addViolation(out, start, Violation{Message: componentMessage(name, comp, v), Container: c.Name})
			return true
		})
	}
	return out
}

// imageName names an image in messages: its full name, with the container
// when there is one.
func imageName(c *workload.Container, img *scan.Image) string {
	full := c.Image.FullName
	if full == "" && img != nil {
		full = img.FullName
	}
	n := quote(full)
	if c.Name != "" {
		n += " in container " + quote(c.Name)
	}
	return n
}

func osName(os *catalog.OS) string {
	if os == nil {
		return ""
	}
	if os.VersionID == "" {
		return os.ID
	}
	return os.ID + ":" + os.VersionID
}

// effectiveUser is the user the image runs as: Docker's default is root.
func effectiveUser(img *scan.Image) string {
	if img.Metadata.User == "" {
		return "root"
	}
	return img.Metadata.User
}

func (g *group) matchImage(img *scan.Image, now time.Time) bool {
	if g.id == fUnscannedImage {
		return g.boolean(img == nil)
	}
	if img == nil {
		return false
	}
	switch g.id {
	case fImageAge:
		d := daysSince(img.Metadata.Created, now)
		return d >= 0 && g.num(d)
	case fImageScanAge:
		d := daysSince(img.ScanTime, now)
		return d >= 0 && g.num(d)
	case fImageOS:
		return g.str(osName(img.OS))
	case fImageUser:
		// UID 0 and "root" are the same user to the kernel.
		user := effectiveUser(img)
		switch u, _, _ := strings.Cut(user, ":"); u {
		case "0":
			return g.strAny(user, "root")
		case "root":
			return g.strAny(user, "0")
		}
		return g.str(user)
	case fRequiredImageLabel:
		return g.missingKeyValue(img.Metadata.Labels)
	case fDisallowedImageLabel:
		for i := range g.kvs {
			if _, ok := g.kvs[i].matchMap(img.Metadata.Labels); ok {
				return true
			}
		}
		return false
	}
	return false
}

func (g *group) matchLayer(l *scan.Layer) bool {
	r := false
	for i := range g.docker {
		m := &g.docker[i]
		if strings.EqualFold(m.instruction, l.Instruction) && m.value.match(l.Value) {
			r = true
			break
		}
	}
	return r != g.negate
}

func (g *group) matchComponent(c *scan.Component) bool {
	r := false
	for i := range g.kvs {
		m := &g.kvs[i]
		if m.key.match(c.Name) && m.value.match(c.Version) {
			r = true
			break
		}
	}
	return r != g.negate
}

func (g *group) matchVuln(v *scan.Vuln, now time.Time) bool {
	switch g.id {
	case fCVE:
		return g.strAny(append([]string{v.ID}, v.Aliases...)...)
	case fCVSS:
		return v.CVSS > 0 && g.num(v.CVSS)
	case fNVDCVSS:
		return v.NVDCVSS > 0 && g.num(v.NVDCVSS)
	case fSeverity:
		rank := float64(v.Severity.Rank())
		r := false
		for i := range g.sevs {
			if rank > 0 && g.sevs[i].match(rank) {
				r = true
				break
			}
		}
		return r != g.negate
	case fFixedBy:
		// A vulnerability without a fix has no "fixed by" to match, even
		// against ".*", which is how ACS spells "fixable"; negated, the
		// group matches exactly the others.
		return (v.FixedBy != "" && g.strPlain(v.FixedBy)) != g.negate
	case fFixable:
		return g.boolean(v.FixedBy != "")
	case fDaysSincePublished:
		d := daysSince(v.Published, now)
		return d >= 0 && g.num(d)
	case fDaysSinceFirstInImage:
		d := daysSince(v.FirstSeenInImage, now)
		return d >= 0 && g.num(d)
	case fDaysSinceFirstInSystem:
		d := daysSince(v.FirstSeenInSystem, now)
		return d >= 0 && g.num(d)
	}
	return false
}

func (g *group) imageMessage(name string, img *scan.Image, now time.Time) string {
	if img == nil {
		return "Image " + name + " has not been scanned"
	}
	switch g.id {
	case fUnscannedImage:
		return "Image " + name + " has been scanned"
	case fImageAge:
		return "Image " + name + " was created " + strconv.Itoa(int(daysSince(img.Metadata.Created, now))) + " days ago (policy: " + g.raw + " days)"
	case fImageScanAge:
		return "Image " + name + " was last scanned " + strconv.Itoa(int(daysSince(img.ScanTime, now))) + " days ago (policy: " + g.raw + " days)"
	case fImageOS:
		return "Image " + name + " is based on " + quote(osName(img.OS))
	case fImageUser:
		if img.Metadata.User == "" {
			return "Image " + name + " runs as root: it sets no USER"
		}
		return "Image " + name + " runs as user " + quote(img.Metadata.User)
	case fRequiredImageLabel:
		return "Image " + name + " lacks a required label (policy: " + g.raw + ")"
	case fDisallowedImageLabel:
		for i := range g.kvs {
			if k, ok := g.kvs[i].matchMap(img.Metadata.Labels); ok {
				return "Image " + name + " has disallowed label " + k + "=" + img.Metadata.Labels[k]
			}
		}
	}
	return g.name + " matched for image " + name + " (policy: " + g.raw + ")"
}

// redactedValue renders a Dockerfile line for a message. ENV and ARG lines
// keep their variable names only: their values are often credentials, and
// messages end up in alerts and CI logs.
func redactedValue(l *scan.Layer) string {
	if !strings.EqualFold(l.Instruction, "ENV") && !strings.EqualFold(l.Instruction, "ARG") {
		return l.Value
	}
	fields := strings.Fields(l.Value)
	if len(fields) == 0 {
		return ""
	}
	if !strings.Contains(fields[0], "=") {
		// The legacy form "ENV NAME value with spaces".
		return fields[0] + " …"
	}
	var names []string
	for _, f := range fields {
		if k, _, ok := strings.Cut(f, "="); ok && k != "" && !strings.ContainsAny(k, `"'`) {
			names = append(names, k+"=…")
		}
	}
	return strings.Join(names, " ")
}

func componentMessage(name string, comp *scan.Component, v *scan.Vuln) string {
	var b strings.Builder
	if v == nil {
		b.WriteString("Image ")
		b.WriteString(name)
		b.WriteString(" contains component ")
		b.WriteString(quote(comp.Name))
		b.WriteString(" version ")
		b.WriteString(comp.Version)
		return b.String()
	}
	b.WriteString(v.ID)
	b.WriteString(" (")
	if v.CVSS > 0 {
		b.WriteString("CVSS ")
		b.WriteString(strconv.FormatFloat(v.CVSS, 'f', 1, 64))
		b.WriteString(", ")
	}
	b.WriteString(string(v.Severity))
	b.WriteString(") in component ")
	b.WriteString(quote(comp.Name))
	b.WriteString(" ")
	b.WriteString(comp.Version)
	b.WriteString(" of image ")
	b.WriteString(name)
	if v.FixedBy != "" {
		b.WriteString(", fixed by ")
		b.WriteString(v.FixedBy)
	} else {
		b.WriteString(", no fix available")
	}
	return b.String()
}
