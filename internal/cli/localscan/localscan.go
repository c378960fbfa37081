// Package localscan is the contract between the CLI's command tree
// (internal/cli) and the code that scans images and keeps a vulnerability
// database on this machine (internal/cli/scanengine): the Backend interface
// and its requests, nothing else.
//
// The one idea: the scanner, its registry client and SQLite cost every
// process that links them about 15 ms of start-up (package initialisation
// and page faults), whether a command uses them or not. So the `stockade`
// binary links only this contract and no Backend; the commands that need
// one (`image scan|check|sbom` when scanning here, the local `vulndb`
// commands) are handed to `stockade-scanner`, the same command tree with a
// Backend. Flags, help and output are the same either way.
package localscan

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/scanner/vulnfeed"
)

// Backend does the local work. Its errors are the input's or the
// environment's (an image the registry cannot serve, a broken feed file, a
// database that cannot be opened); the CLI reports them as such.
type Backend interface {
	// ScanImage pulls an image from its registry and scans it here.
	ScanImage(ctx context.Context, req ScanRequest) (*scan.Image, error)
	// ImportFeeds imports feed files, directories and zip archives into
	// the database, in one transaction; the database and its directory are
	// created when missing.
	ImportFeeds(ctx context.Context, db DB, paths []string) (vulnfeed.ImportResult, error)
	// Status reports what an existing database holds.
	Status(ctx context.Context, db DB) (vulnfeed.Status, error)
	// UpdateFeeds downloads each feed and imports it, one transaction per
	// feed. The result lists every feed, failed ones included, also when
	// the error (which joins the failed feeds' errors) is not nil.
	UpdateFeeds(ctx context.Context, db DB, feeds []vulnfeed.Feed) (vulnfeed.UpdateResult, error)
}

// DB is a local vulnerability database file and where its warnings go.
type DB struct {
	Path string
	// Logger receives warnings (a feed download retried); nil discards
	// them.
	Logger *slog.Logger
}

// ScanRequest is one local image scan, with everything the command line
// and the user's environment say about it.
type ScanRequest struct {
	// Image is the reference: NAME[:TAG] or NAME@sha256:DIGEST.
	Image string
	// Platform picks from a multi-arch index ("linux/arm64"); empty means
	// linux/amd64.
	Platform string
	// Force walks every layer again, ignoring the layer cache.
	Force bool
	// DB is the vulnerability database to match against. RequireDB makes a
	// missing file an error; otherwise (an SBOM) the scan lists no
	// vulnerabilities and says so in a note.
	DB        DB
	RequireDB bool
	// CacheDir is stockade's cache directory; layer catalogs are kept in
	// its layers subdirectory.
	CacheDir string
	// DockerConfig is the docker CLI's configuration directory, whose
	// config.json holds registry credentials; empty means none.
	DockerConfig string
	// RegistryCA is a PEM file with a CA certificate to trust for the
	// image's registry, added to the system's.
	RegistryCA string
	// InsecureRegistry reaches the image's registry over plain HTTP,
	// anonymously.
	InsecureRegistry bool
	// Progress, when set, receives a line when a layer starts downloading
	// and one when it is analyzed or taken from the cache.
	Progress io.Writer
	// Note tells the user something that is not an error (a stale or empty
	// database); nil drops notes.
	Note func(format string, args ...any)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}
