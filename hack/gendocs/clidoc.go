package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stockade-dev/stockade/internal/central"
	"github.com/stockade-dev/stockade/internal/cli"
)

const cliIntro = `# Command-line reference

This page documents ` + "`stockade`" + `, the CLI for people and CI pipelines; ` + "`stockade-central`" + ` is the
management server and ` + "`stockade-sensor`" + ` runs in each secured cluster. Local image scans and the
local vulnerability database (` + "`image scan|check|sbom`" + ` without Central, ` + "`vulndb`" + `) run in
` + "`stockade-scanner`" + `, which ` + "`stockade`" + ` starts in its place: install it next to ` + "`stockade`" + `.
Every ` + "`stockade`" + ` command also takes ` + "`-h`/`--help`" + `, and the [global flags](#global-flags)
apply to all of its subcommands.
`

// noEnv is the environment the documented commands see: empty, so that
// defaults read from the environment do not leak into the page.
func noEnv(string) string { return "" }

// cliPage renders docs/reference/cli.md from the cobra tree of internal/cli
// and the --help output of stockade-central.
func cliPage() ([]byte, error) {
	root := cli.New(cli.Env{
		Stdin:  strings.NewReader(""),
		Stdout: io.Discard,
		Stderr: io.Discard,
		Getenv: noEnv,
		Now:    func() time.Time { return time.Unix(0, 0).UTC() },
	})
	// Cobra adds these when the tree runs; add them here so the page shows
	// what a user gets.
	root.InitDefaultVersionFlag()
	root.InitDefaultCompletionCmd()

	var b bytes.Buffer
	b.WriteString(generatedNote)
	b.WriteString(cliIntro)
	b.WriteString("\n## The stockade CLI\n")
	writeCommand(&b, root)

	help, err := centralHelp()
	if err != nil {
		return nil, err
	}
	b.WriteString("\n## The stockade-central server\n\n")
	b.WriteString("`stockade-central --help` prints:\n\n```text\n")
	b.WriteString(help)
	if !strings.HasSuffix(help, "\n") {
		b.WriteString("\n")
	}
	b.WriteString("```\n")
	return b.Bytes(), nil
}

// collectIndex lists the available commands under cmd, depth first, as
// nested links.
func collectIndex(cmd *cobra.Command, out *[]string) {
	for _, c := range cmd.Commands() {
		if !c.IsAvailableCommand() {
			continue
		}
		depth := strings.Count(c.CommandPath(), " ") - 1
		*out = append(*out, fmt.Sprintf("%s- [%s](#%s): %s\n", strings.Repeat("  ", depth),
			c.CommandPath(), anchor(c.CommandPath()), mdEscape(c.Short)))
		collectIndex(c, out)
	}
}

// writeCommand documents cmd and then its available subcommands, in
// cobra's (sorted) order.
func writeCommand(b *bytes.Buffer, cmd *cobra.Command) {
	if cmd.HasParent() {
		fmt.Fprintf(b, "\n### %s\n", cmd.CommandPath())
	}
	fmt.Fprintf(b, "\n%s\n", mdEscape(cmd.Short))
	fmt.Fprintf(b, "\n```text\n%s\n```\n", usageLines(cmd))
	if aliases := cmd.Aliases; len(aliases) > 0 {
		fmt.Fprintf(b, "\nAliases: %s\n", codeList(aliases, ", "))
	}
	if long := strings.TrimSpace(cmd.Long); long != "" && long != strings.TrimSpace(cmd.Short) {
		fmt.Fprintf(b, "\n%s", longText(long))
	}
	if ex := strings.Trim(cmd.Example, "\n"); ex != "" {
		fmt.Fprintf(b, "\nExamples:\n\n```sh\n%s\n```\n", dedent(ex))
	}
	if !cmd.HasParent() {
		// The root lists the whole tree.
		var index []string
		collectIndex(cmd, &index)
		b.WriteString("\nCommands:\n\n")
		for _, line := range index {
			b.WriteString(line)
		}
		writeFlags(b, "Flags:", cmd.LocalNonPersistentFlags())
		writeFlags(b, "### Global flags", cmd.PersistentFlags())
	} else {
		var subs []string
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				subs = append(subs, fmt.Sprintf("[%s](#%s)", c.Name(), anchor(c.CommandPath())))
			}
		}
		if len(subs) > 0 {
			fmt.Fprintf(b, "\nSubcommands: %s\n", strings.Join(subs, ", "))
		}
		writeFlags(b, "Flags:", cmd.LocalFlags())
	}
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			writeCommand(b, c)
		}
	}
}

// usageLines are the usage lines of cobra's help: the command's own when
// it runs, and one with [command] when it has subcommands.
func usageLines(cmd *cobra.Command) string {
	var lines []string
	if cmd.Runnable() {
		lines = append(lines, cmd.UseLine())
	}
	if cmd.HasAvailableSubCommands() {
		lines = append(lines, cmd.CommandPath()+" [command]")
	}
	return strings.Join(lines, "\n")
}

// writeFlags renders a flag set as a table, in name order, under title.
func writeFlags(b *bytes.Buffer, title string, fs *pflag.FlagSet) {
	var rows []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Deprecated != "" || f.Name == "help" {
			return
		}
		varname, usage := pflag.UnquoteUsage(f)
		name := "--" + f.Name
		if f.Shorthand != "" && f.ShorthandDeprecated == "" {
			name = "-" + f.Shorthand + ", " + name
		}
		if varname != "" {
			name += " " + varname
		}
		def := ""
		if !zeroDefault(f) {
			def = code(f.DefValue)
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s |\n", cell(code(name)), cell(def), cell(mdEscape(usage))))
	})
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s\n\n| Flag | Default | Description |\n|---|---|---|\n", title)
	for _, r := range rows {
		b.WriteString(r)
	}
}

// zeroDefault reports whether a flag's default is its type's zero value,
// which --help leaves out as well.
func zeroDefault(f *pflag.Flag) bool {
	switch f.DefValue {
	case "", "false", "0", "[]", "0s":
		return true
	}
	return false
}

// centralHelp captures stockade-central's --help output.
func centralHelp() (string, error) {
	var out bytes.Buffer
	_, err := central.ParseFlags("stockade-central", []string{"--help"}, noEnv, &out)
	switch {
	case err == nil:
		return "", errors.New("stockade-central --help: ParseFlags returned no flag.ErrHelp")
	case !errors.Is(err, flag.ErrHelp):
		return "", fmt.Errorf("stockade-central --help: %w", err)
	}
	if out.Len() == 0 {
		return "", errors.New("stockade-central --help printed nothing")
	}
	return out.String(), nil
}

// longText renders a command's long description: prose paragraphs joined
// into lines and escaped, indented runs as code blocks, and markdown
// headings (cobra's completion help has some) as bold lines.
func longText(s string) string {
	var b strings.Builder
	var prose []string
	var codeLines []string
	flushProse := func() {
		if len(prose) > 0 {
			p := strings.Join(prose, " ")
			if strings.HasPrefix(p, "#") {
				// A heading inside a command's help would repeat per
				// command; it becomes bold text.
				p = "**" + strings.TrimSpace(strings.TrimLeft(p, "#")) + "**"
			} else {
				p = mdEscapeLineStart(mdEscape(p))
			}
			b.WriteString(p + "\n\n")
			prose = nil
		}
	}
	flushCode := func() {
		if len(codeLines) > 0 {
			b.WriteString("```sh\n" + dedent(strings.Join(codeLines, "\n")) + "\n```\n\n")
			codeLines = nil
		}
	}
	for _, line := range strings.Split(s, "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			flushProse()
			flushCode()
		case strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "  "):
			flushProse()
			codeLines = append(codeLines, line)
		default:
			flushCode()
			if strings.HasPrefix(line, "#") {
				flushProse()
			}
			prose = append(prose, strings.TrimSpace(line))
			if strings.HasPrefix(line, "#") {
				flushProse()
			}
		}
	}
	flushProse()
	flushCode()
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// dedent removes the indentation common to all non-blank lines.
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	prefix := ""
	first := true
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		ind := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if first {
			prefix, first = ind, false
			continue
		}
		for !strings.HasPrefix(ind, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, prefix)
	}
	return strings.Join(lines, "\n")
}

// mdEscape escapes the characters that would turn prose into markup.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdEscapeLineStart escapes a paragraph start that markdown would read as
// a list item, heading or block quote.
func mdEscapeLineStart(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '-', '+', '#', '=':
		return "\\" + s
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); i > 0 && (s[i] == '.' || s[i] == ')') {
		return s[:i] + "\\" + s[i:]
	}
	return s
}
