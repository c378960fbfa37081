package vulndb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// The Debian Security Tracker's JSON (https://security-tracker.debian.org/
// tracker/data/json) is keyed source package → CVE id → entry. Records are
// per CVE, so a CVE's entries are collected across packages: each one is
// staged in a temporary table as it is read (memory stays bounded by one
// entry, plus a batch of rows waiting to be written) and the records are
// built when the import finishes.

type trackerEntry struct {
	Description string                    `json:"description"`
	Scope       string                    `json:"scope"`
	DebianBug   json.Number               `json:"debianbug,omitempty"`
	Releases    map[string]trackerRelease `json:"releases"`
}

type trackerRelease struct {
	Status       string            `json:"status"`
	FixedVersion string            `json:"fixed_version"`
	Urgency      string            `json:"urgency"`
	Repositories map[string]string `json:"repositories,omitempty"`
	NoDSA        string            `json:"nodsa,omitempty"`
}

// stagedEntry is what is kept of one package's entry for one CVE.
type stagedEntry struct {
	Package     string                    `json:"p"`
	Description string                    `json:"d,omitempty"`
	Scope       string                    `json:"s,omitempty"`
	Releases    map[string]trackerRelease `json:"r"`
}

type debianStage struct {
	seq int
	// rows are staged entries not yet written, four values each.
	rows  []any
	bytes int
}

const (
	// stageBatchRows and stageBatchBytes bound the staged entries held
	// before they are written.
	stageBatchRows  = 1000
	stageBatchBytes = 16 << 20
	// stagePage is how many staged entries buildDebianRecords reads at a
	// time.
	stagePage = 2000
)

func (im *importer) importDebian(name string, r io.Reader) error {
	if im.debian == nil {
		if err := im.exec(im.dia.schema(`CREATE TEMP TABLE debian_stage (id TEXT${BYTEORDER} NOT NULL, seq INTEGER NOT NULL,
source TEXT NOT NULL, entry ${BLOB} NOT NULL, PRIMARY KEY (id, seq))`)); err != nil {
			return fmt.Errorf("import %s: stage: %w", name, err)
		}
		im.debian = &debianStage{}
	}
	bucket := im.bucket(KindDebian).Source
	br := &budgetReader{r: r}
	br.reset()
	dec := json.NewDecoder(br)
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("import %s: tracker JSON must be an object of packages", name)
	}
	for dec.More() {
		br.reset()
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("import %s: %w", name, err)
		}
		pkg, _ := t.(string)
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return fmt.Errorf("import %s: package %q: value is not an object of CVEs", name, pkg)
		}
		for dec.More() {
			br.reset()
			t, err := dec.Token()
			if err != nil {
				return fmt.Errorf("import %s: package %q: %w", name, pkg, err)
			}
			id, _ := t.(string)
			start := dec.InputOffset()
			var e trackerEntry
			if err := dec.Decode(&e); err != nil {
				return fmt.Errorf("import %s: package %q: %s: %w", name, pkg, id, err)
			}
			if dec.InputOffset()-start > MaxRecordSize {
				return fmt.Errorf("import %s: package %q: %s: %w", name, pkg, id, errRecordTooLarge)
			}
			if !trackerIDRE.MatchString(id) {
				im.warn(KindDebian, fmt.Sprintf("%s: entry %q is not a CVE or TEMP id; skipped", name, id))
				continue
			}
			if err := im.stageDebian(bucket, pkg, id, &e); err != nil {
				return fmt.Errorf("import %s: package %q: %s: %w", name, pkg, id, err)
			}
		}
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("import %s: package %q: %w", name, pkg, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("import %s: content after the tracker object", name)
	}
	return nil
}

func (im *importer) stageDebian(bucket, pkg, id string, e *trackerEntry) error {
	if pkg == "" {
		return errors.New("empty package name")
	}
	st := stagedEntry{Package: pkg, Description: e.Description, Scope: e.Scope, Releases: map[string]trackerRelease{}}
	for codename, rel := range e.Releases {
		if _, ok := DebianRelease(codename); !ok {
			im.warn(KindDebian, fmt.Sprintf("release %q is not a known Debian codename; its entries are skipped", codename))
			continue
		}
		rel.Repositories = nil
		st.Releases[codename] = rel
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	stage := im.debian
	stage.seq++
	stage.rows = append(stage.rows, id, stage.seq, bucket, b)
	stage.bytes += len(b)
	if len(stage.rows)/4 >= stageBatchRows || stage.bytes >= stageBatchBytes {
		return im.flushStage()
	}
	return nil
}

// flushStage writes the staged entries held in memory.
func (im *importer) flushStage() error {
	st := im.debian
	if err := im.insertRows(`INSERT INTO debian_stage (id, seq, source, entry)`, "", 4, st.rows); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	st.rows, st.bytes = st.rows[:0], 0
	return nil
}

// flushDebian turns the staged entries into one record per CVE and drops
// the stage.
func (im *importer) flushDebian() error {
	if err := im.flushStage(); err != nil {
		return fmt.Errorf("import debian tracker: %w", err)
	}
	if err := im.buildDebianRecords(); err != nil {
		return fmt.Errorf("import debian tracker: %w", err)
	}
	// Unqualified, the name finds the temporary table on both backends.
	if err := im.exec(`DROP TABLE debian_stage`); err != nil {
		return fmt.Errorf("import debian tracker: drop stage: %w", err)
	}
	im.debian = nil
	return nil
}

// buildDebianRecords reads the stage sorted by CVE, a page at a time, and
// stores a record as soon as the next CVE starts, so memory holds a page
// and one CVE's entries. Each page is read to the end before records are
// stored: a PostgreSQL connection runs one statement at a time.
func (im *importer) buildDebianRecords() error {
	var curID, curSource string
	var entries []stagedEntry
	flush := func() error {
		if curID == "" {
			return nil
		}
		saved := im.source
		defer func() { im.source = saved }()
		im.source = curSource
		if err := im.putRecord(KindDebian, debianRecord(curID, entries)); err != nil {
			return fmt.Errorf("%s: %w", curID, err)
		}
		entries = entries[:0]
		return nil
	}
	var page []stagedRow
	lastID, lastSeq := "", 0
	for {
		var err error
		if page, err = im.stagePage(page[:0], lastID, lastSeq); err != nil {
			return err
		}
		for _, s := range page {
			var e stagedEntry
			if err := json.Unmarshal(s.data, &e); err != nil {
				return fmt.Errorf("staged %s: %w", s.id, err)
			}
			if s.id != curID {
				if err := flush(); err != nil {
					return err
				}
				curID, curSource = s.id, s.source
			}
			entries = append(entries, e)
		}
		if len(page) < stagePage {
			return flush()
		}
		lastID, lastSeq = page[len(page)-1].id, page[len(page)-1].seq
	}
}

// stagedRow is one row of the stage.
type stagedRow struct {
	id, source string
	seq        int
	data       []byte
}

// stagePage appends to page the stagePage rows after (lastID, lastSeq).
func (im *importer) stagePage(page []stagedRow, lastID string, lastSeq int) ([]stagedRow, error) {
	rows, err := im.tx.QueryContext(im.ctx, im.dia.rewrite(`SELECT id, seq, source, entry FROM debian_stage
WHERE (id, seq) > (?, ?) ORDER BY id, seq LIMIT `+strconv.Itoa(stagePage)), lastID, lastSeq)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err is checked below
	for rows.Next() {
		var s stagedRow
		if err := rows.Scan(&s.id, &s.seq, &s.source, &s.data); err != nil {
			return nil, err
		}
		page = append(page, s)
	}
	return page, rows.Err()
}

// urgencyRank orders the tracker's urgencies; words that rate nothing
// ("not yet assigned", "end-of-life") rank 0.
func urgencyRank(u string) int {
	switch u {
	case "unimportant":
		return 1
	case "low":
		return 2
	case "medium":
		return 3
	case "high":
		return 4
	case "critical":
		return 5
	}
	return 0
}

func cleanUrgency(u string) string {
	return strings.ToLower(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(u), "*")))
}

// debianRecord converts one CVE's tracker entries to an OSV-form record:
// one affected entry per source package and release in which the package
// is affected. A resolved entry with fixed version "0" (never affected) and
// a resolved entry with no version are left out; open and undetermined
// entries affect every version.
func debianRecord(id string, entries []stagedEntry) *Record {
	rec := &Record{ID: "DEBIAN-" + id, Source: string(KindDebian)}
	if strings.HasPrefix(id, "CVE-") {
		rec.Aliases = []string{id}
	}
	rec.References = []Reference{{Type: "ADVISORY", URL: "https://security-tracker.debian.org/tracker/" + id}}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Package < entries[j].Package })
	worst, scope := "", ""
	for _, e := range entries {
		if rec.Details == "" {
			rec.Details = e.Description
		}
		if scope == "" {
			scope = e.Scope
		}
		codenames := make([]string, 0, len(e.Releases))
		for c := range e.Releases {
			codenames = append(codenames, c)
		}
		sort.Slice(codenames, func(i, j int) bool { return releaseLess(codenames[i], codenames[j]) })
		for _, c := range codenames {
			rel := e.Releases[c]
			urgency := cleanUrgency(rel.Urgency)
			status := strings.ToLower(strings.TrimSpace(rel.Status))
			fixed := strings.TrimSpace(rel.FixedVersion)
			var events []Event
			switch status {
			case "resolved":
				if fixed == "" || fixed == "0" {
					continue
				}
				events = []Event{{Introduced: "0"}, {Fixed: fixed}}
			case "open", "undetermined":
				events = []Event{{Introduced: "0"}}
			default:
				continue
			}
			if urgencyRank(urgency) > urgencyRank(worst) {
				worst = urgency
			}
			release, _ := DebianRelease(c)
			ds := map[string]any{PackageKindKey: PackageKindSource, "status": status}
			if urgency != "" {
				ds["urgency"] = urgency
			}
			rec.Affected = append(rec.Affected, Affected{
				Package:          Package{Ecosystem: "Debian:" + release, Name: e.Package},
				Ranges:           []Range{{Type: "ECOSYSTEM", Events: events}},
				DatabaseSpecific: ds,
			})
		}
	}
	rec.DatabaseSpecific = map[string]any{}
	if worst != "" {
		rec.DatabaseSpecific["severity"] = worst
	}
	if scope != "" {
		rec.DatabaseSpecific["scope"] = scope
	}
	if len(rec.DatabaseSpecific) == 0 {
		rec.DatabaseSpecific = nil
	}
	return rec
}

// releaseLess orders codenames by release number, sid last.
func releaseLess(a, b string) bool {
	ra, _ := DebianRelease(a)
	rb, _ := DebianRelease(b)
	na, nb := releaseNumber(ra), releaseNumber(rb)
	if na != nb {
		return na < nb
	}
	return a < b
}

func releaseNumber(r string) float64 {
	var f float64
	if _, err := fmt.Sscan(r, &f); err != nil {
		return 1e9
	}
	return f
}
