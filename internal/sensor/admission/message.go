package admission

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

// Bounds of what a person reads in kubectl's output.
const (
	maxMessage        = 4096 // a denial message
	maxWarning        = 256  // one warning; kube-apiserver may truncate longer ones
	maxViolationsShow = 3    // violations listed per policy
	maxViolationText  = 200
	maxRemediation    = 400
)

// denyMessage explains a denial. kubectl prints it after
// `admission webhook "…" denied the request: `, so the first line stands
// on its own; then one entry per policy with its violations and
// remediation, and how to get through in an emergency. Every text taken from
// the object is put on one line, so that an object cannot forge lines.
func denyMessage(d *workload.Deployment, alerts []policy.Alert) string {
	var b strings.Builder
	b.WriteString("Stockade denied ")
	b.WriteString(d.Kind)
	b.WriteString(" ")
	b.WriteString(objectRef(d.Namespace, d.Name))
	b.WriteString(": it violates ")
	b.WriteString(countOf(len(alerts), "enforced policy", "enforced policies"))
	b.WriteString(".")
	for _, a := range alerts {
		writePolicy(&b, a.Policy.Policy, a.Violations)
	}
	b.WriteString("\nIn an emergency, add the annotation " + BreakGlassAnnotation +
		"=<reason> to admit it anyway; each use raises an alert.")
	return clip(b.String(), maxMessage)
}

// writePolicy writes one policy's entry of a denial message.
func writePolicy(b *strings.Builder, p *policy.Policy, violations []policy.Violation) {
	b.WriteString("\n- ")
	b.WriteString(quoteName(p.Name))
	b.WriteString(" (")
	b.WriteString(p.Severity.Short())
	b.WriteString("): ")
	for i, v := range violations {
		if i == maxViolationsShow {
			b.WriteString(" (and ")
			b.WriteString(strconv.Itoa(len(violations) - i))
			b.WriteString(" more)")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(clip(sanitize(v.Message), maxViolationText))
	}
	b.WriteString(".")
	if r := strings.TrimSpace(p.Remediation); r != "" {
		b.WriteString("\n  Remediation: ")
		b.WriteString(clip(sanitize(r), maxRemediation))
	}
}

func breakGlassWarning(d *workload.Deployment, names []string) string {
	return clip("Stockade admitted "+d.Kind+" "+objectRef(d.Namespace, d.Name)+" by break-glass although it violates "+
		countOf(len(names), "enforced policy", "enforced policies")+" ("+sanitize(strings.Join(names, ", "))+"); an alert was raised", maxWarning)
}

// informWarning tells the requester what enforcement would have denied.
func informWarning(target string, names []string) string {
	return clip("Stockade would deny "+target+" because it violates "+countOf(len(names), "enforced policy", "enforced policies")+
		" ("+sanitize(strings.Join(names, ", "))+"), but admission enforcement is off; an alert was raised", maxWarning)
}

func countOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// sanitize puts a text on one line: control characters (newlines, tabs,
// escapes) become spaces, runs of spaces collapse, invalid UTF-8 is replaced.
func sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean && !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// clip shortens s to at most n bytes on a rune boundary, ending with "…".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
