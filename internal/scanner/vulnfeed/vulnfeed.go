// Package vulnfeed describes the vulnerability database from outside: the
// feeds it imports, what an import or an update did, and the database's
// status. These are the values vulndb returns, Central's API sends and the
// CLI prints. The package imports only the standard library, so the API
// client and the stockade CLI use these types without linking a database
// driver (see docs/benchmarks.md: linking SQLite and pgx costs every CLI
// run its start-up time).
package vulnfeed

import "time"

// FileName is the database's file name in a data or cache directory.
const FileName = "vulndb.sqlite"

// Kind names a feed format. It is also the Source of the records a feed
// produces.
type Kind string

// Feed kinds Import understands.
const (
	KindAuto   Kind = ""       // detect from the extension and the content
	KindOSV    Kind = "osv"    // OSV JSON: record, directory, zip export, JSON Lines
	KindDebian Kind = "debian" // Debian Security Tracker JSON
	KindAlpine Kind = "alpine" // Alpine secdb, YAML or JSON
	KindNVD    Kind = "nvd"    // NVD API 2.0 JSON, or a CVE/vector/score table
)

// ImportResult is what one Import call did, per source.
type ImportResult struct {
	Sources []SourceResult `json:"sources"`
	// SkippedFiles are files in imported directories or zip archives that
	// are not feed files (README.md, LICENSE).
	SkippedFiles []string `json:"skippedFiles,omitempty"`
}

// Source returns the result for one source; the zero value when the import
// did not touch it.
func (r ImportResult) Source(name string) SourceResult {
	for _, s := range r.Sources {
		if s.Source == name {
			return s
		}
	}
	return SourceResult{Source: name}
}

// SourceResult counts what happened to the records of one source. Every
// record read lands in exactly one of Added, Updated, Unchanged (the stored
// copy is as new or newer) and Withdrawn (stored, marked withdrawn, new or
// changed). Skipped counts feed entries that carry no usable record (an
// Alpine fix naming no identifier, a Debian release that is not known); each
// kind of skip is explained once in Warnings.
type SourceResult struct {
	Source    string   `json:"source"`
	Files     int      `json:"files"`
	Added     int      `json:"added"`
	Updated   int      `json:"updated"`
	Unchanged int      `json:"unchanged"`
	Withdrawn int      `json:"withdrawn"`
	Skipped   int      `json:"skipped"`
	Warnings  []string `json:"warnings,omitempty"`
}

// Read is the number of records the source delivered.
func (s SourceResult) Read() int { return s.Added + s.Updated + s.Unchanged + s.Withdrawn }

// Status is what the database holds and how fresh it is.
type Status struct {
	Path    string `json:"path"`
	Records int    `json:"records"`
	// Withdrawn records are stored but never returned by Affecting.
	Withdrawn int `json:"withdrawn"`
	// Ecosystems counts records per ecosystem name (without the release);
	// a record affecting two ecosystems counts in both.
	Ecosystems map[string]int `json:"ecosystems"`
	// RecordSources counts records per feed kind (Record.Source).
	RecordSources map[string]int `json:"recordSources"`
	NVD           int            `json:"nvd"`
	// NewestModified is the newest known `modified` time of any record.
	NewestModified time.Time `json:"newestModified,omitzero"`
	// LastImport is the newest import of any source.
	LastImport time.Time      `json:"lastImport,omitzero"`
	Sources    []SourceStatus `json:"sources"`
}

// SourceStatus is one row of the sources table: a feed kind for file
// imports ("osv", "debian", "alpine", "nvd") or a configured feed's name.
type SourceStatus struct {
	Name       string    `json:"name"`
	LastImport time.Time `json:"lastImport,omitzero"`
	// Records is how many records the last import read from the source.
	Records     int       `json:"records"`
	FeedURL     string    `json:"feedUrl,omitempty"`
	LastAttempt time.Time `json:"lastAttempt,omitzero"`
	LastError   string    `json:"lastError,omitempty"`
}

// Feed is a feed URL to update from. Format, when set, is what the content
// must be; otherwise it is detected as for a file.
type Feed struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Format Kind   `json:"format,omitempty"`
}

// FeedResult is what one feed's update did.
type FeedResult struct {
	Name string `json:"name"`
	// NotModified is true when the server answered 304 to the stored ETag
	// or Last-Modified.
	NotModified bool         `json:"notModified,omitempty"`
	Import      SourceResult `json:"import"`
	Error       string       `json:"error,omitempty"`
}

// UpdateResult is what Update did, feed by feed.
type UpdateResult struct {
	Feeds []FeedResult `json:"feeds"`
}
