package jira

import (
	"fmt"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// Bounds that keep a description under Jira's 32,767-character limit.
const (
	maxViolationText = 400    // bytes of one violation message
	violationBudget  = 20_000 // bytes of the violation list
	maxProse         = 2000   // bytes of the policy's description, rationale, remediation
)

func (n *Notifier) alertIssue(a *notifier.Alert, test bool) issue {
	sev := notifier.SeverityTitle(a.Policy.Severity)
	is := issue{severity: a.Policy.Severity}
	var b strings.Builder
	if test {
		is.summary = "[Stockade] Test issue: the Jira notifier works, this issue can be deleted"
		b.WriteString("_This is a test issue created by Stockade to check its Jira notifier. It can be deleted._\n\n")
	} else {
		is.summary = fmt.Sprintf("[Stockade] %s: %s in %s", sev, a.Policy.Name, shortEntity(a))
	}
	is.summary = notifier.Shorten(notifier.PlainLine(is.summary), maxSummary)

	fmt.Fprintf(&b, "h2. %s\n", esc(oneLine(a.Policy.Name)))
	field(&b, "Severity", sev)
	field(&b, "Entity", notifier.Entity(a))
	if d := a.Deployment; d != nil {
		images := make([]string, 0, len(d.Containers))
		for _, c := range d.Containers {
			images = append(images, c.Image)
		}
		field(&b, "Images", strings.Join(images, ", "))
	}
	field(&b, "Lifecycle stage", a.LifecycleStage)
	field(&b, "Enforcement", a.Enforcement)
	if !a.FirstOccurred.IsZero() {
		field(&b, "First occurred", a.FirstOccurred.UTC().Format(time.RFC3339))
	}
	field(&b, "Categories", strings.Join(a.Policy.Categories, ", "))
	field(&b, "Alert ID", a.ID)

	b.WriteString("\nh3. Violations\n")
	used := 0
	for i, v := range a.Violations {
		line := "* " + esc(oneLine(notifier.Shorten(v.Message, maxViolationText))) + "\n"
		if used+len(line) > violationBudget {
			fmt.Fprintf(&b, "* … and %d more violations\n", len(a.Violations)-i)
			break
		}
		used += len(line)
		b.WriteString(line)
	}
	if len(a.Violations) == 0 {
		b.WriteString("* none listed\n")
	}
	prose(&b, "Description", a.Policy.Description)
	prose(&b, "Rationale", a.Policy.Rationale)
	prose(&b, "Remediation", a.Policy.Remediation)

	link := a.Link
	if link == "" && !test {
		link = notifier.AlertLink(n.uiEndpoint, a.ID)
	}
	if link != "" {
		text := "View the alert in Stockade"
		if test {
			text = "View violations in Stockade"
		}
		fmt.Fprintf(&b, "\n[%s|%s]\n", text, wikiURL(link))
	}
	is.description = b.String()
	return is
}

func (n *Notifier) summaryIssue(s *notifier.Summary) issue {
	is := issue{
		summary:  fmt.Sprintf("[Stockade] Alert storm: %d more alerts folded", s.Count),
		severity: notifier.WorstSeverity(s.BySeverity),
	}
	var b strings.Builder
	b.WriteString("h2. Alert storm\n")
	fmt.Fprintf(&b, "%d more alerts were folded into this issue during an alert storm between %s and %s.\n",
		s.Count, s.From.UTC().Format(time.RFC3339), s.To.UTC().Format(time.RFC3339))
	b.WriteString("\nh3. By severity\n||Severity||Alerts||\n")
	for _, sev := range notifier.Severities() {
		fmt.Fprintf(&b, "|%s|%d|\n", notifier.SeverityTitle(sev), s.BySeverity[sev])
	}
	if len(s.TopPolicies) > 0 {
		b.WriteString("\nh3. Top policies\n||Policy||Alerts||\n")
		for i, p := range s.TopPolicies {
			if i == 50 {
				fmt.Fprintf(&b, "|… and %d more policies| |\n", len(s.TopPolicies)-i)
				break
			}
			fmt.Fprintf(&b, "|%s|%d|\n", esc(oneLine(notifier.Shorten(p.Name, 200))), p.Count)
		}
	}
	link := s.Link
	if link == "" {
		link = notifier.ViolationsLink(n.uiEndpoint)
	}
	if link != "" {
		fmt.Fprintf(&b, "\n[View violations in Stockade|%s]\n", wikiURL(link))
	}
	is.description = b.String()
	return is
}

func field(b *strings.Builder, name, value string) {
	if value = strings.TrimSpace(value); value != "" {
		fmt.Fprintf(b, "*%s:* %s\n", name, esc(oneLine(notifier.Shorten(value, maxProse))))
	}
}

func prose(b *strings.Builder, title, text string) {
	text = strings.TrimSpace(notifier.Shorten(text, maxProse))
	if text == "" {
		return
	}
	fmt.Fprintf(b, "\nh3. %s\n", title)
	for line := range strings.Lines(text) {
		line = esc(strings.TrimRight(line, "\r\n"))
		if strings.HasPrefix(line, "-") || strings.HasPrefix(line, "#") {
			line = `\` + line // not a list item
		}
		b.WriteString(line + "\n")
	}
}

// wikiEscaper makes text render as itself in Jira wiki markup. A backslash
// becomes an entity: doubled it would be a line break.
var wikiEscaper = strings.NewReplacer(
	`\`, "&#92;", "{", `\{`, "}", `\}`, "[", `\[`, "]", `\]`, "|", `\|`,
	"*", `\*`, "_", `\_`, "+", `\+`, "^", `\^`, "~", `\~`, "!", `\!`,
)

func esc(s string) string { return wikiEscaper.Replace(s) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// wikiURL keeps a link's address from closing the [text|url] markup.
func wikiURL(u string) string {
	return strings.NewReplacer("|", "%7C", "[", "%5B", "]", "%5D", " ", "%20").Replace(u)
}

func shortEntity(a *notifier.Alert) string {
	if d := a.Deployment; d != nil {
		s := d.Namespace + "/" + d.Name
		if d.ClusterName != "" {
			s += " (" + d.ClusterName + ")"
		}
		return s
	}
	if a.Image != "" {
		return a.Image
	}
	return "an unnamed entity"
}
