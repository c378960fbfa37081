package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stockade-dev/stockade/internal/cli/localscan"
	"github.com/stockade-dev/stockade/internal/scanner/vulnfeed"
)

// vulndbFormats are the values of the vulndb commands' --output.
func vulndbFormats() []string { return []string{"table", "json"} }

// maxRemoteFeed is the largest feed file sent to Central, which refuses
// bigger uploads.
const maxRemoteFeed = 512 << 20

func (a *app) vulndbCmd() *cobra.Command {
	return group("vulndb", "Import, update and inspect the vulnerability database",
		a.vulndbImportCmd(), a.vulndbStatusCmd(), a.vulndbUpdateCmd())
}

type vulndbFlags struct {
	path   string
	output string
}

func (o *vulndbFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.path, "vulndb", "", "the local database file (default $XDG_CACHE_HOME/stockade/vulndb.sqlite)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: "+strings.Join(vulndbFormats(), ", "))
	_ = cmd.MarkFlagFilename("vulndb", "sqlite")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(vulndbFormats(), cobra.ShellCompDirectiveNoFileComp))
}

// target says whether the command works on a local database file (and
// which) or on Central's: --vulndb means local, then an endpoint means
// Central, else the default local file.
func (a *app) vulndbTarget(o *vulndbFlags) (local bool, path string, err error) {
	if !slices.Contains(vulndbFormats(), o.output) {
		return false, "", usagef("unknown output format %q (want %s)", o.output, strings.Join(vulndbFormats(), ", "))
	}
	if o.path != "" && a.conn.endpoint != "" {
		return false, "", usagef("--vulndb and --endpoint both given; pass one")
	}
	if o.path == "" && a.endpoint() != "" {
		return false, "", nil
	}
	if o.path != "" {
		return true, o.path, nil
	}
	dir, err := a.cacheDir()
	if err != nil {
		return false, "", usageErr(err)
	}
	return true, filepath.Join(dir, vulnfeed.FileName), nil
}

// localDB is the local database at path, with warnings on stderr.
func (a *app) localDB(path string) localscan.DB {
	return localscan.DB{Path: path, Logger: a.logger()}
}

func (a *app) vulndbImportCmd() *cobra.Command {
	var o vulndbFlags
	cmd := &cobra.Command{
		Use:   "import FILE…",
		Short: "Import vulnerability feeds from files (the offline bundle path)",
		Long: `Import vulnerability feed files into the database: OSV JSON (single records,
JSON Lines, directories, and the per-ecosystem .zip exports), the Debian
Security Tracker JSON, Alpine secdb (YAML or JSON) and NVD API 2.0 JSON (CVSS
scores by CVE). The format is told from each file's extension and content.

An import is one transaction: a bad file imports nothing and the error names
it (and the line, for JSON Lines). Records are replaced only by newer ones.

Without --vulndb, an endpoint (-e, $STOCKADE_ENDPOINT or $ROX_ENDPOINT) sends
the files to Central's database, one request per file (directories cannot be
sent: zip them); with neither, the files go into the local database that
'image scan --local' uses.`,
		Example: `  stockade vulndb import go-vulndb.jsonl debian-tracker.json alpine-v3.19-main.yaml
  stockade vulndb import --vulndb ./vulndb.sqlite osv-Debian.zip
  stockade vulndb import -e central.example.com:443 osv-PyPI.zip`,
		Args: minArgs(1, "at least one feed file"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.vulndbImport(cmd.Context(), &o, args) },
	}
	o.register(cmd)
	return cmd
}

func (a *app) vulndbImport(ctx context.Context, o *vulndbFlags, paths []string) error {
	local, path, err := a.vulndbTarget(o)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return usagef("feed %s: %w", p, err)
		}
	}
	if local && a.env.Scanner == nil {
		return a.handOff(ctx, "local vulnerability databases")
	}
	var res *vulnfeed.ImportResult
	where := ""
	if local {
		r, err := a.env.Scanner.ImportFeeds(ctx, a.localDB(path), paths)
		if err != nil {
			return usageErr(err)
		}
		res, where = &r, path
	} else {
		if res, err = a.importRemote(ctx, paths); err != nil {
			return err
		}
		where = "Central"
	}
	if o.output == "json" {
		return writeJSON(a.env.Stdout, res)
	}
	return a.writeImportTable(res, where)
}

// importRemote sends each feed file to Central and adds up the results.
func (a *app) importRemote(ctx context.Context, paths []string) (*vulnfeed.ImportResult, error) {
	files := make(map[string][]byte, len(paths))
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, usagef("feed %s: %w", p, err)
		}
		if info.IsDir() {
			return nil, usagef("feed %s is a directory: Central takes one file per request; zip the directory or import its files", p)
		}
		if info.Size() > maxRemoteFeed {
			return nil, usagef("feed %s is %d bytes, more than the %d Central accepts in one request", p, info.Size(), maxRemoteFeed)
		}
		data, err := readFileLimited(p, maxRemoteFeed)
		if err != nil {
			return nil, usageErr(err)
		}
		files[p] = data
	}
	c, err := a.client("vulndb import", false)
	if err != nil {
		return nil, err
	}
	total := &vulnfeed.ImportResult{Sources: []vulnfeed.SourceResult{}}
	for _, p := range paths {
		r, err := c.ImportVulnDB(ctx, filepath.Base(p), files[p])
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", p, err)
		}
		mergeImport(total, r)
	}
	return total, nil
}

// mergeImport adds r's per-source counts to total.
func mergeImport(total, r *vulnfeed.ImportResult) {
	for _, s := range r.Sources {
		i := slices.IndexFunc(total.Sources, func(t vulnfeed.SourceResult) bool { return t.Source == s.Source })
		if i < 0 {
			total.Sources = append(total.Sources, s)
			continue
		}
		t := &total.Sources[i]
		t.Files += s.Files
		t.Added += s.Added
		t.Updated += s.Updated
		t.Unchanged += s.Unchanged
		t.Withdrawn += s.Withdrawn
		t.Skipped += s.Skipped
		t.Warnings = append(t.Warnings, s.Warnings...)
	}
	total.SkippedFiles = append(total.SkippedFiles, r.SkippedFiles...)
}

func (a *app) writeImportTable(r *vulnfeed.ImportResult, where string) error {
	rows := [][]string{{"SOURCE", "FILES", "ADDED", "UPDATED", "UNCHANGED", "WITHDRAWN", "SKIPPED"}}
	read := 0
	for _, s := range r.Sources {
		rows = append(rows, []string{printable(s.Source), itoa(s.Files), itoa(s.Added), itoa(s.Updated), itoa(s.Unchanged), itoa(s.Withdrawn), itoa(s.Skipped)})
		read += s.Read()
	}
	var b strings.Builder
	writeColumns(&b, rows)
	for _, s := range r.Sources {
		for _, w := range s.Warnings {
			fmt.Fprintf(&b, "warning: %s: %s\n", printable(s.Source), printable(w))
		}
	}
	for _, f := range r.SkippedFiles {
		fmt.Fprintf(&b, "skipped: %s (not a feed file)\n", printable(f))
	}
	fmt.Fprintf(&b, "%d %s read into %s\n", read, plural(read, "record", "records"), printable(where))
	_, err := io.WriteString(a.env.Stdout, b.String())
	return err
}

func (a *app) vulndbStatusCmd() *cobra.Command {
	var o vulndbFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what the vulnerability database holds and how fresh it is",
		Long: `Show the vulnerability database's records per ecosystem and per feed, and
when each source was last imported or updated.

Without --vulndb, an endpoint (-e, $STOCKADE_ENDPOINT or $ROX_ENDPOINT) shows
Central's database; with neither, the local one that 'image scan --local'
uses.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.vulndbStatus(cmd.Context(), &o) },
	}
	o.register(cmd)
	return cmd
}

func (a *app) vulndbStatus(ctx context.Context, o *vulndbFlags) error {
	local, path, err := a.vulndbTarget(o)
	if err != nil {
		return err
	}
	if local && a.env.Scanner == nil {
		return a.handOff(ctx, "local vulnerability databases")
	}
	var st *vulnfeed.Status
	if local {
		s, err := a.env.Scanner.Status(ctx, a.localDB(path))
		if err != nil {
			return usageErr(err)
		}
		st = &s
	} else {
		c, err := a.client("vulndb status", false)
		if err != nil {
			return err
		}
		if st, err = c.VulnDBStatus(ctx); err != nil {
			return err
		}
	}
	if o.output == "json" {
		return writeJSON(a.env.Stdout, st)
	}
	return a.writeStatusTable(st)
}

func (a *app) writeStatusTable(st *vulnfeed.Status) error {
	var b strings.Builder
	date := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
	fmt.Fprintf(&b, "Database:        %s\n", printable(cmp.Or(st.Path, "-")))
	fmt.Fprintf(&b, "Records:         %d (%d withdrawn)\n", st.Records, st.Withdrawn)
	fmt.Fprintf(&b, "NVD scores:      %d\n", st.NVD)
	fmt.Fprintf(&b, "Newest record:   %s\n", date(st.NewestModified))
	fmt.Fprintf(&b, "Last import:     %s", date(st.LastImport))
	if age := a.env.Now().Sub(st.LastImport); !st.LastImport.IsZero() && age >= 0 {
		fmt.Fprintf(&b, " (%s ago)", age.Round(time.Minute))
	}
	b.WriteString("\n")
	if len(st.Ecosystems) > 0 {
		rows := [][]string{{"ECOSYSTEM", "RECORDS"}}
		for _, e := range sortedKeys(st.Ecosystems) {
			rows = append(rows, []string{printable(e), itoa(st.Ecosystems[e])})
		}
		b.WriteString("\n")
		writeColumns(&b, rows)
	}
	if len(st.Sources) > 0 {
		rows := [][]string{{"SOURCE", "RECORDS", "LAST IMPORT", "LAST ATTEMPT", "FEED", "LAST ERROR"}}
		for _, s := range st.Sources {
			rows = append(rows, []string{printable(s.Name), itoa(s.Records), date(s.LastImport), date(s.LastAttempt),
				printable(cmp.Or(s.FeedURL, "-")), printable(cmp.Or(s.LastError, "-"))})
		}
		b.WriteString("\n")
		writeColumns(&b, rows)
	}
	_, err := io.WriteString(a.env.Stdout, b.String())
	return err
}

type vulndbUpdateOptions struct {
	vulndbFlags
	feeds []string
}

func (a *app) vulndbUpdateCmd() *cobra.Command {
	var o vulndbUpdateOptions
	cmd := &cobra.Command{
		Use:   "update --feed NAME=URL…",
		Short: "Download feeds and import them into the local vulnerability database",
		Long: `Download each feed (NAME=URL) and import it into the local database, one
transaction per feed. A feed is fetched conditionally (ETag, Last-Modified),
so an unchanged feed costs one request. A feed that fails keeps its earlier
data and its error is shown by 'stockade vulndb status'; the others go on.

Central updates its own database from the feeds in its configuration.`,
		Example: `  stockade vulndb update --feed go=https://vuln.go.dev/all.zip
  stockade vulndb update --feed debian=https://security-tracker.debian.org/tracker/data/json`,
		Args: exactArgs(0, "no arguments (name the feeds with --feed NAME=URL)"),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.vulndbUpdate(cmd.Context(), &o) },
	}
	o.register(cmd)
	cmd.Flags().StringArrayVar(&o.feeds, "feed", nil, "a feed to download, NAME=URL (repeatable)")
	return cmd
}

func (a *app) vulndbUpdate(ctx context.Context, o *vulndbUpdateOptions) error {
	if !slices.Contains(vulndbFormats(), o.output) {
		return usagef("unknown output format %q (want %s)", o.output, strings.Join(vulndbFormats(), ", "))
	}
	if a.conn.endpoint != "" {
		return usagef("vulndb update works on the local database; Central updates from the feeds in its configuration")
	}
	if len(o.feeds) == 0 {
		return usagef("name the feeds to download with --feed NAME=URL")
	}
	var feeds []vulnfeed.Feed
	for _, f := range o.feeds {
		name, raw, ok := strings.Cut(f, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return usagef("--feed %q: want NAME=URL", f)
		}
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return usagef("--feed %s: %q is not an http(s) URL", name, raw)
		}
		if slices.ContainsFunc(feeds, func(x vulnfeed.Feed) bool { return x.Name == name }) {
			return usagef("--feed %s given twice", name)
		}
		feeds = append(feeds, vulnfeed.Feed{Name: name, URL: u.String()})
	}
	path := o.path
	if path == "" {
		dir, err := a.cacheDir()
		if err != nil {
			return usageErr(err)
		}
		path = filepath.Join(dir, vulnfeed.FileName)
	}
	if a.env.Scanner == nil {
		return a.handOff(ctx, "local vulnerability databases")
	}
	res, uerr := a.env.Scanner.UpdateFeeds(ctx, a.localDB(path), feeds)
	if uerr != nil && len(res.Feeds) == 0 {
		return usageErr(uerr) // nothing was tried: the database could not be opened
	}
	if o.output == "json" {
		if err := writeJSON(a.env.Stdout, res); err != nil {
			return err
		}
	} else {
		rows := [][]string{{"FEED", "RESULT"}}
		for _, f := range res.Feeds {
			what := ""
			switch {
			case f.Error != "":
				what = "failed: " + f.Error
			case f.NotModified:
				what = "not modified"
			default:
				what = fmt.Sprintf("%d read: %d added, %d updated, %d unchanged, %d withdrawn",
					f.Import.Read(), f.Import.Added, f.Import.Updated, f.Import.Unchanged, f.Import.Withdrawn)
			}
			rows = append(rows, []string{printable(f.Name), printable(what)})
		}
		var b strings.Builder
		writeColumns(&b, rows)
		fmt.Fprintf(&b, "database: %s\n", printable(path))
		if _, err := io.WriteString(a.env.Stdout, b.String()); err != nil {
			return err
		}
	}
	if uerr != nil {
		return fmt.Errorf("update %s: %w", path, uerr)
	}
	return nil
}

// writeColumns writes rows as left-aligned columns two spaces apart.
func writeColumns(b *strings.Builder, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, r := range rows {
		var line strings.Builder
		for i, c := range r {
			line.WriteString(c)
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))+2))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
}

func itoa(n int) string { return fmt.Sprint(n) }

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
