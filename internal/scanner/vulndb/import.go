package vulndb

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stockade-dev/stockade/internal/scanner/vulnfeed"
)

// MaxRecordSize is the largest single record (an OSV record, a JSON Lines
// line, a zip entry, one CVE of the Debian tracker, one NVD item) an import
// accepts.
const MaxRecordSize = 16 << 20

// maxDocumentSize bounds feeds read whole: an Alpine secdb file, a CSV.
const maxDocumentSize = 64 << 20

// maxWarnings bounds the warnings kept per source.
const maxWarnings = 50

// Kind names a feed format. It is also the Source of the records a feed
// produces.
type Kind = vulnfeed.Kind

// Feed kinds Import understands.
const (
	KindAuto   = vulnfeed.KindAuto
	KindOSV    = vulnfeed.KindOSV
	KindDebian = vulnfeed.KindDebian
	KindAlpine = vulnfeed.KindAlpine
	KindNVD    = vulnfeed.KindNVD
)

// ImportResult is what one Import call did, per source.
type ImportResult = vulnfeed.ImportResult

// SourceResult counts what happened to the records of one source.
type SourceResult = vulnfeed.SourceResult

// Import reads the feed files, directories and zip archives at paths,
// detecting each one's format, and stores their records in one transaction:
// on any error nothing is written and the error names the file (and the
// line, for JSON Lines).
func (d *DB) Import(ctx context.Context, paths ...string) (ImportResult, error) {
	ins := make([]importInput, len(paths))
	for i, p := range paths {
		ins[i] = importInput{path: p}
	}
	return d.importInputs(ctx, ins)
}

// importInput is one path to import; source overrides the sources-table
// row (a feed's name) and kind, when set, is what the content must be.
type importInput struct {
	path   string
	source string
	kind   Kind
	// display names the input in errors when path is a temporary file.
	display string
	// feed is set for a download: the sources row keeps its validators.
	feed *feedMeta
}

func (d *DB) importInputs(ctx context.Context, ins []importInput) (ImportResult, error) {
	d.importMu.Lock()
	defer d.importMu.Unlock()

	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback() // the import error is the one to report
		}
	}()
	if d.dia.lock != "" {
		// Another process importing into the same database goes first.
		if _, err := tx.ExecContext(ctx, d.dia.lock); err != nil {
			return ImportResult{}, fmt.Errorf("import: lock: %w", err)
		}
	}
	im := &importer{ctx: ctx, tx: tx, dia: d.dia, results: map[string]*SourceResult{}, feeds: map[string]*feedMeta{}, touched: map[string]bool{}, now: time.Now().UTC(), log: d}
	for _, in := range ins {
		im.source, im.want = in.source, in.kind
		im.display = in.display
		if in.feed != nil {
			im.bucket(in.kind) // the feed's row exists even if it held nothing
			im.feeds[in.source] = in.feed
		}
		if err := im.importPath(in.path); err != nil {
			return ImportResult{}, err
		}
	}
	if err := im.finish(); err != nil {
		return ImportResult{}, err
	}
	if err := tx.Commit(); err != nil {
		return ImportResult{}, fmt.Errorf("import: commit: %w", err)
	}
	committed = true
	res := im.result()
	for _, s := range res.Sources {
		d.log.Info("vulndb import done", "source", s.Source, "files", s.Files, "added", s.Added,
			"updated", s.Updated, "unchanged", s.Unchanged, "withdrawn", s.Withdrawn, "skipped", s.Skipped)
	}
	return res, nil
}

// importer is one import transaction. Records and NVD scorings are
// written in batches (batch.go): putRecord and putNVD queue them, and a
// read of what the import may have queued flushes first.
type importer struct {
	ctx     context.Context
	tx      *sql.Tx
	dia     dialect
	now     time.Time
	log     *DB
	results map[string]*SourceResult
	skipped []string
	stmts   map[string]*sql.Stmt

	// source is the sources-table row of the input being read ("" means
	// the feed kind); want is the kind it must be (KindAuto: any); display
	// replaces the path in errors.
	source  string
	want    Kind
	display string

	debian *debianStage
	feeds  map[string]*feedMeta
	// touched are the ids this import has counted, so that a record the
	// import writes twice (an Alpine CVE in main and community) counts once.
	touched map[string]bool
	// alpine keeps the Alpine records this import wrote: the secdb files
	// of one import (all releases, both repositories) merge into the same
	// records again and again. It is small: Alpine's whole history is a
	// few thousand records.
	alpine map[string]*Record

	records recordBatch
	nvd     []pendingNVD
}

func (im *importer) result() ImportResult {
	var res ImportResult
	for _, k := range sortedKeys(im.results) {
		res.Sources = append(res.Sources, *im.results[k])
	}
	res.SkippedFiles = im.skipped
	return res
}

// bucket is the result a record of the given kind counts in.
func (im *importer) bucket(kind Kind) *SourceResult {
	name := im.source
	if name == "" {
		name = string(kind)
	}
	r, ok := im.results[name]
	if !ok {
		r = &SourceResult{Source: name}
		im.results[name] = r
	}
	return r
}

func (im *importer) warn(kind Kind, msg string) {
	b := im.bucket(kind)
	b.Skipped++
	for _, w := range b.Warnings {
		if w == msg {
			return
		}
	}
	if len(b.Warnings) < maxWarnings {
		b.Warnings = append(b.Warnings, msg)
	}
}

func (im *importer) stmt(query string) (*sql.Stmt, error) {
	if im.stmts == nil {
		im.stmts = map[string]*sql.Stmt{}
	}
	if s, ok := im.stmts[query]; ok {
		return s, nil
	}
	s, err := im.tx.PrepareContext(im.ctx, im.dia.rewrite(query))
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	im.stmts[query] = s
	return s, nil
}

func (im *importer) exec(query string, args ...any) error {
	s, err := im.stmt(query) //nolint:sqlclosecheck // cached; finish closes it
	if err != nil {
		return err
	}
	_, err = s.ExecContext(im.ctx, args...)
	return err
}

// name is how errors name a path.
func (im *importer) name(path string) string {
	if im.display != "" {
		return im.display
	}
	return path
}

func (im *importer) importPath(path string) error {
	if err := im.ctx.Err(); err != nil {
		return fmt.Errorf("import %s: %w", im.name(path), err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("import %s: %w", im.name(path), err)
	}
	if !st.IsDir() {
		return im.importFile(path)
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("import %s: %w", im.name(path), err)
	}
	for _, f := range files {
		if !feedExtension(f) {
			im.skipped = append(im.skipped, f)
			continue
		}
		if err := im.importFile(f); err != nil {
			if errors.Is(err, errNotFeed) && lenientExtension(f) {
				im.skipped = append(im.skipped, f)
				continue
			}
			return err
		}
	}
	return nil
}

// feedExtension reports whether a file in a directory or archive looks like
// a feed file; anything else there (README.md, LICENSE) is skipped.
func feedExtension(name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".gz")
	switch filepath.Ext(name) {
	case ".json", ".jsonl", ".ndjson", ".zip", ".yaml", ".yml", ".tsv", ".csv":
		return true
	}
	return false
}

// errNotFeed is the content of a file matching no feed format.
var errNotFeed = errors.New("not a recognized vulnerability feed (OSV JSON or JSON Lines, Debian Security Tracker JSON, Alpine secdb YAML or JSON, NVD API 2.0 JSON or a cve/vector table)")

// lenientExtension reports whether a file met while walking a directory or
// archive may be something other than a feed without failing the import:
// tables and YAML often are (SOURCES.tsv, CI configs); JSON files must be
// records.
func lenientExtension(name string) bool {
	switch filepath.Ext(strings.TrimSuffix(strings.ToLower(name), ".gz")) {
	case ".tsv", ".csv", ".yaml", ".yml":
		return true
	}
	return false
}

var (
	zipMagic  = []byte("PK\x03\x04")
	gzipMagic = []byte{0x1f, 0x8b}
)

func (im *importer) importFile(path string) error {
	name := im.name(path)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	defer func() { _ = f.Close() }() // read-only
	var magic [4]byte
	n, err := io.ReadFull(f, magic[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("import %s: %w", name, err)
	}
	if bytes.HasPrefix(magic[:n], zipMagic) {
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("import %s: %w", name, err)
		}
		return im.importZip(name, f, st.Size())
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	return im.importStream(name, path, f)
}

func (im *importer) importZip(name string, r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("import %s: read zip: %w", name, err)
	}
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() {
			continue
		}
		entry := name + "!" + zf.Name
		if !feedExtension(zf.Name) || strings.HasSuffix(strings.ToLower(zf.Name), ".zip") {
			im.skipped = append(im.skipped, entry)
			continue
		}
		if err := im.ctx.Err(); err != nil {
			return fmt.Errorf("import %s: %w", entry, err)
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("import %s: %w", entry, err)
		}
		err = im.importStream(entry, zf.Name, rc)
		_ = rc.Close() // read-only
		if errors.Is(err, errNotFeed) && lenientExtension(zf.Name) {
			im.skipped = append(im.skipped, entry)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// importStream detects the format of one file's content and imports it.
// hint is a file name whose extension helps detection.
func (im *importer) importStream(name, hint string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(2)
	if bytes.HasPrefix(head, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("import %s: %w", name, err)
		}
		defer func() { _ = zr.Close() }() // read-only
		hint = strings.TrimSuffix(hint, filepath.Ext(hint))
		return im.importStream(name, hint, zr)
	}
	ext := strings.ToLower(filepath.Ext(hint))
	prefix, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("import %s: %w", name, err)
	}
	kind, layout := sniff(ext, prefix)
	if kind == KindAuto {
		return fmt.Errorf("import %s: %w", name, errNotFeed)
	}
	if im.want != KindAuto && kind != im.want {
		return fmt.Errorf("import %s: expected a %s feed, found %s content", name, im.want, kind)
	}
	im.bucket(kind).Files++
	switch kind {
	case KindOSV:
		return im.importOSV(name, layout, br)
	case KindDebian:
		return im.importDebian(name, br)
	case KindAlpine:
		return im.importAlpine(name, layout, br)
	case KindNVD:
		return im.importNVD(name, layout, br)
	}
	return fmt.Errorf("import %s: unhandled feed kind %s", name, kind)
}

// layout is how a feed's content is laid out.
type layout int

const (
	layoutJSON     layout = iota // one JSON document (or concatenated documents)
	layoutJSONL                  // one JSON value per line
	layoutArray                  // a JSON array of records
	layoutYAML                   // YAML
	layoutTable                  // TSV or CSV with a header
	layoutNVDItems               // NVD API 2.0 response: {"vulnerabilities": [{"cve": …}]}
)

// sniff decides the kind and layout of a file from its extension and the
// first bytes of its content.
func sniff(ext string, prefix []byte) (Kind, layout) {
	trimmed := bytes.TrimLeft(prefix, " \t\r\n\ufeff")
	trimmed = bytes.TrimPrefix(trimmed, []byte("\xef\xbb\xbf"))
	if len(trimmed) == 0 {
		return KindAuto, 0
	}
	switch trimmed[0] {
	case '[':
		return KindOSV, layoutArray
	case '{':
		kind, nvdItems := sniffObject(trimmed)
		switch kind {
		case KindNVD:
			if nvdItems {
				return KindNVD, layoutNVDItems
			}
			return KindNVD, layoutJSON
		case KindAlpine:
			return KindAlpine, layoutJSON
		case KindDebian:
			return KindDebian, layoutJSON
		case KindOSV:
			if ext == ".jsonl" || ext == ".ndjson" || firstLineIsValue(trimmed) {
				return KindOSV, layoutJSONL
			}
			return KindOSV, layoutJSON
		}
		return KindAuto, 0
	}
	if ext == ".yaml" || ext == ".yml" || yamlDistroversion.Match(prefix) {
		if yamlDistroversion.Match(prefix) {
			return KindAlpine, layoutYAML
		}
		return KindAuto, 0
	}
	if isCVETable(trimmed) {
		return KindNVD, layoutTable
	}
	return KindAuto, 0
}

var yamlDistroversion = regexp.MustCompile(`(?m)^distroversion:`)

// isCVETable reports whether the first line is a TSV or CSV header with a
// cve column and a vector column.
func isCVETable(b []byte) bool {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	cols := splitTableLine(string(bytes.TrimRight(line, "\r")))
	var cve, vector bool
	for _, c := range cols {
		switch strings.ToLower(strings.TrimSpace(c)) {
		case "cve", "cve_id":
			cve = true
		case "vector", "vector_string", "vectorstring", "cvss_v3", "cvss3_vector":
			vector = true
		}
	}
	return cve && vector
}

// firstLineIsValue reports whether the first line of b is a complete JSON
// value followed by more content: the mark of JSON Lines.
func firstLineIsValue(b []byte) bool {
	line, rest, found := bytes.Cut(b, []byte("\n"))
	if !found || len(bytes.TrimSpace(rest)) == 0 {
		// One line: a single record, which JSON Lines reads as well.
		return found || json.Valid(b)
	}
	return json.Valid(line)
}

// sniffObject looks at the keys of a JSON object, reading only as far as the
// prefix goes: NVD has "vulnerabilities" (an API response) or
// "sourceIdentifier"/"vulnStatus"/"metrics" (one CVE); Alpine has
// "distroversion"; OSV has "id" with "modified", "affected" or
// "schema_version"; the Debian tracker is package → CVE id → entry.
func sniffObject(b []byte) (kind Kind, nvdItems bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return KindAuto, false
	}
	var hasID, osvish bool
	first := true
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := t.(string)
		switch key {
		case "vulnerabilities":
			return KindNVD, true
		case "sourceIdentifier", "vulnStatus", "metrics", "lastModified", "cveTags":
			return KindNVD, false
		case "distroversion":
			return KindAlpine, false
		case "id":
			hasID = true
		case "modified", "affected", "schema_version", "aliases", "withdrawn", "published", "summary", "details":
			osvish = true
		}
		if hasID && osvish {
			return KindOSV, false
		}
		if first {
			first = false
			// The tracker: the first value is an object keyed by CVE ids.
			if dec.More() {
				if isTrackerPackage(dec) {
					return KindDebian, false
				}
				continue
			}
		}
		if err := skipValue(dec); err != nil {
			break
		}
	}
	if hasID {
		return KindOSV, false
	}
	return KindAuto, false
}

var trackerIDRE = regexp.MustCompile(`^(CVE-\d{4}-\d+|TEMP-\d+-[0-9A-Fa-f]+)$`)

// isTrackerPackage reads the next value and reports whether it is an object
// whose first key is a CVE or TEMP id, as in the Debian tracker.
func isTrackerPackage(dec *json.Decoder) bool {
	t, err := dec.Token()
	if err != nil {
		return false
	}
	if t != json.Delim('{') {
		if d, ok := t.(json.Delim); ok {
			_ = skipRest(dec, d)
		}
		return false
	}
	if !dec.More() {
		_, _ = dec.Token()
		return false
	}
	k, err := dec.Token()
	if err != nil {
		return false
	}
	key, _ := k.(string)
	return trackerIDRE.MatchString(key)
}

// skipValue skips the next JSON value.
func skipValue(dec *json.Decoder) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); ok {
		return skipRest(dec, d)
	}
	return nil
}

// skipRest skips to the end of the array or object opened by d.
func skipRest(dec *json.Decoder, d json.Delim) error {
	if d != '{' && d != '[' {
		return nil
	}
	depth := 1
	for depth > 0 {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if dd, ok := t.(json.Delim); ok {
			switch dd {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
	}
	return nil
}

var errRecordTooLarge = fmt.Errorf("record larger than %d MiB", MaxRecordSize>>20)

// budgetReader fails once more than the budget has been read since the last
// reset, so a streaming decoder never buffers an oversized record.
type budgetReader struct {
	r    io.Reader
	left int64
}

func (b *budgetReader) reset() { b.left = MaxRecordSize + 64<<10 }

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errRecordTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// readLimited reads all of r, failing beyond max bytes.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("larger than %d MiB", max>>20)
	}
	return data, nil
}

// putRecord stores r unless the stored copy is as new: a record replaces
// the stored one when its modified time is newer, or, when either modified
// time is unknown (zero), when its content differs. The record is queued
// and written with its batch (flushRecords); later changes to r do not
// reach the database.
func (im *importer) putRecord(kind Kind, r *Record) error {
	if err := validateRecord(r); err != nil {
		return err
	}
	if r.Source == "" {
		r.Source = string(kind)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("record %s: encode: %w", r.ID, err)
	}
	sum := sha256.Sum256(data)
	p := pendingRecord{
		bucket: im.bucket(kind), id: r.ID, source: r.Source, modified: formatTime(r.Modified),
		hash: sum[:], data: data, aliases: recordAliases(r),
	}
	if r.Withdrawn != nil {
		p.withdrawn = r.Withdrawn.UTC().Format(time.RFC3339Nano)
	}
	seen := map[affectedKey]bool{}
	for _, a := range r.Affected {
		if a.Package.Ecosystem == "" || a.Package.Name == "" {
			continue
		}
		eco, release := SplitEcosystem(a.Package.Ecosystem)
		k := affectedKey{ecosystem: string(eco), name: NormalizeName(eco, a.Package.Name), release: release}
		if !seen[k] {
			seen[k] = true
			p.affected = append(p.affected, k)
		}
	}
	return im.queueRecord(p)
}

// recordAliases are the ids a record is found by besides its own: its
// aliases and the CVE id inside ids like UBUNTU-CVE-2023-4911.
func recordAliases(r *Record) []string {
	out := make([]string, 0, len(r.Aliases)+1)
	seen := map[string]bool{r.ID: true}
	add := func(a string) {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, a := range r.Aliases {
		add(a)
	}
	if m := embeddedCVE.FindString(r.ID); m != "" {
		add(m)
	}
	return out
}

var embeddedCVE = regexp.MustCompile(`CVE-\d{4}-\d{4,}`)

// validateRecord checks what the index needs; anything else in a record is
// the feed's business.
func validateRecord(r *Record) error {
	switch {
	case r.ID == "":
		return errors.New("record has no id")
	case len(r.ID) > 256:
		return fmt.Errorf("record id %.40q… is longer than 256 bytes", r.ID)
	case strings.ContainsFunc(r.ID, func(c rune) bool { return c < 0x21 || c == 0x7f }):
		return fmt.Errorf("record id %q contains spaces or control characters", r.ID)
	case !storable(r.ID):
		return fmt.Errorf("record id %q is not valid UTF-8", r.ID)
	case !storable(r.Source):
		return fmt.Errorf("record %s: source %q contains a NUL byte or invalid UTF-8", r.ID, r.Source)
	}
	for i, a := range r.Affected {
		if a.Package.Name != "" && a.Package.Ecosystem == "" {
			return fmt.Errorf("record %s: affected[%d]: package %q has no ecosystem", r.ID, i, a.Package.Name)
		}
		if !storable(a.Package.Name) || !storable(a.Package.Ecosystem) {
			return fmt.Errorf("record %s: affected[%d]: package %q in ecosystem %q contains a NUL byte or invalid UTF-8",
				r.ID, i, a.Package.Name, a.Package.Ecosystem)
		}
	}
	for i, a := range r.Aliases {
		if !storable(a) {
			return fmt.Errorf("record %s: aliases[%d]: %q contains a NUL byte or invalid UTF-8", r.ID, i, a)
		}
	}
	return nil
}

// storable reports whether s can be a text value on both backends:
// PostgreSQL's text holds neither NUL bytes nor invalid UTF-8.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// storableText makes free text (an error message) storable.
func storableText(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}

// finish flushes staged feeds and records each source's import.
func (im *importer) finish() error {
	if im.debian != nil {
		if err := im.flushDebian(); err != nil {
			return err
		}
	}
	if err := im.flushWrites(); err != nil {
		return err
	}
	for _, name := range sortedKeys(im.results) {
		r := im.results[name]
		if err := im.exec(`INSERT INTO sources (name, last_import, record_count, last_attempt, last_error) VALUES (?, ?, ?, ?, '')
ON CONFLICT (name) DO UPDATE SET last_import = excluded.last_import, record_count = excluded.record_count,
last_attempt = excluded.last_attempt, last_error = ''`,
			name, formatTime(im.now), r.Read(), formatTime(im.now)); err != nil {
			return fmt.Errorf("import: record source %s: %w", name, err)
		}
		if f := im.feeds[name]; f != nil {
			// Validators a server sent in bytes text cannot hold are
			// dropped: the next download is then unconditional.
			etag, lastModified := f.etag, f.lastModified
			if !storable(etag) {
				etag = ""
			}
			if !storable(lastModified) {
				lastModified = ""
			}
			if err := im.exec(`UPDATE sources SET feed_url = ?, etag = ?, last_modified = ? WHERE name = ?`,
				f.url, etag, lastModified, name); err != nil {
				return fmt.Errorf("import: record source %s: %w", name, err)
			}
		}
	}
	for _, s := range im.stmts {
		_ = s.Close() // closed with the transaction anyway
	}
	return nil
}

// sortStrings sorts and de-duplicates.
func sortStrings(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
