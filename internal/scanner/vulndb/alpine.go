package vulndb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// Alpine secdb (https://secdb.alpinelinux.org/): one file per release and
// repository, package (origin) → fixed version → identifiers. A fixed
// version of "0" means the package was never affected. Records are per
// identifier ("ALPINE-CVE-2019-10206") with one affected entry per release,
// repository and package, so importing one file replaces that file's
// entries in the stored records and keeps the other releases'.

type secdb struct {
	distroversion string
	reponame      string
	packages      []secdbPackage
}

type secdbPackage struct {
	name  string
	fixes []secdbFix
}

type secdbFix struct {
	version string
	ids     []string
	where   string // "line 12" for YAML, the package for JSON
}

// importAlpine reads a whole secdb file (they are small) and merges it.
func (im *importer) importAlpine(name string, l layout, r io.Reader) error {
	data, err := readLimited(r, maxDocumentSize)
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	var db *secdb
	if l == layoutYAML {
		db, err = parseSecdbYAML(data)
	} else {
		db, err = parseSecdbJSON(data)
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	return im.mergeSecdb(name, db)
}

func parseSecdbJSON(data []byte) (*secdb, error) {
	var doc struct {
		Distroversion string `json:"distroversion"`
		Reponame      string `json:"reponame"`
		Packages      []struct {
			Pkg struct {
				Name     string              `json:"name"`
				Secfixes map[string][]string `json:"secfixes"`
			} `json:"pkg"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	db := &secdb{distroversion: doc.Distroversion, reponame: doc.Reponame}
	for i, p := range doc.Packages {
		if p.Pkg.Name == "" {
			return nil, fmt.Errorf("packages[%d]: no pkg.name", i)
		}
		sp := secdbPackage{name: p.Pkg.Name}
		for _, v := range sortedKeys(p.Pkg.Secfixes) {
			sp.fixes = append(sp.fixes, secdbFix{version: v, ids: p.Pkg.Secfixes[v], where: fmt.Sprintf("packages[%d] %s", i, p.Pkg.Name)})
		}
		db.packages = append(db.packages, sp)
	}
	return db, checkSecdb(db)
}

// parseSecdbYAML walks the YAML node tree rather than decoding into Go
// values, so that a fixed version like 1.10 stays "1.10" and not the float
// 1.1, and so that errors carry line numbers.
func parseSecdbYAML(data []byte) (*secdb, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, errors.New("not a YAML document")
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: top level is not a mapping", top.Line)
	}
	db := &secdb{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "distroversion":
			db.distroversion = v.Value
		case "reponame":
			db.reponame = v.Value
		case "packages":
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				continue
			}
			if v.Kind != yaml.SequenceNode {
				return nil, fmt.Errorf("line %d: packages is not a list", v.Line)
			}
			for _, item := range v.Content {
				p, err := yamlSecdbPackage(item)
				if err != nil {
					return nil, err
				}
				db.packages = append(db.packages, p)
			}
		}
	}
	return db, checkSecdb(db)
}

func yamlSecdbPackage(item *yaml.Node) (secdbPackage, error) {
	var p secdbPackage
	pkg := yamlField(item, "pkg")
	if pkg == nil || pkg.Kind != yaml.MappingNode {
		return p, fmt.Errorf("line %d: package entry has no pkg mapping", item.Line)
	}
	if n := yamlField(pkg, "name"); n != nil && n.Kind == yaml.ScalarNode {
		p.name = n.Value
	}
	if p.name == "" {
		return p, fmt.Errorf("line %d: pkg has no name", pkg.Line)
	}
	fixes := yamlField(pkg, "secfixes")
	if fixes == nil || (fixes.Kind == yaml.ScalarNode && fixes.Tag == "!!null") {
		return p, nil
	}
	if fixes.Kind != yaml.MappingNode {
		return p, fmt.Errorf("line %d: %s: secfixes is not a mapping", fixes.Line, p.name)
	}
	for i := 0; i+1 < len(fixes.Content); i += 2 {
		k, v := fixes.Content[i], fixes.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return p, fmt.Errorf("line %d: %s: fixed version is not a scalar", k.Line, p.name)
		}
		f := secdbFix{version: strings.TrimSpace(k.Value), where: fmt.Sprintf("line %d", k.Line)}
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		case v.Kind == yaml.SequenceNode:
			for _, id := range v.Content {
				if id.Kind != yaml.ScalarNode {
					return p, fmt.Errorf("line %d: %s %s: identifier is not a scalar", id.Line, p.name, f.version)
				}
				f.ids = append(f.ids, id.Value)
			}
		default:
			return p, fmt.Errorf("line %d: %s %s: identifiers are not a list", v.Line, p.name, f.version)
		}
		p.fixes = append(p.fixes, f)
	}
	return p, nil
}

// yamlField returns the value of key in mapping m; aliases are not
// followed (secdb does not use them, and expanding them is how YAML bombs
// work).
func yamlField(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func checkSecdb(db *secdb) error {
	if db.distroversion == "" {
		return errors.New("no distroversion")
	}
	if !alpineRelease.MatchString(db.distroversion) && db.distroversion != "edge" {
		return fmt.Errorf("distroversion %q is not an Alpine release", db.distroversion)
	}
	return nil
}

var (
	cveInText   = regexp.MustCompile(`(?i)\bCVE[-_ ](\d{4})-(\d{4,})`)
	otherIDText = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*-\d+$`)
)

// secdbIDs reads the identifiers in one secfixes line, which in the real
// data is not always a bare CVE id: "CVE-2016-6258 XSA-182",
// "CVE-2018-14468 (FrameRelay)", "CVE_2019-2426", "CVE-2017-17434-1",
// "CVE-2017-8073.patch", "CVE-????-?????  XSA-295", "wnpa-sec-2017-18".
func secdbIDs(s string) (cves, others []string) {
	for _, m := range cveInText.FindAllStringSubmatch(s, -1) {
		cves = append(cves, "CVE-"+m[1]+"-"+m[2])
	}
	for _, tok := range strings.Fields(s) {
		tok = strings.Trim(tok, "(),;")
		if hasPrefixFold(tok, "CVE") {
			continue
		}
		if otherIDText.MatchString(tok) {
			others = append(others, tok)
		}
	}
	return sortStrings(cves), sortStrings(others)
}

// alpineFix is one package's fix of one identifier in one file.
type alpineFix struct {
	pkg, fixed string
	aliases    []string
}

func (im *importer) mergeSecdb(name string, db *secdb) error {
	release := NormalizeRelease(catalog.Alpine, db.distroversion)
	eco := "Alpine:" + release
	repo := db.reponame

	fixes := map[string][]alpineFix{} // record id → fixes
	for _, p := range db.packages {
		for _, f := range p.fixes {
			if f.version == "" {
				return fmt.Errorf("import %s: %s: %s: empty fixed version", name, f.where, p.name)
			}
			for _, line := range f.ids {
				cves, others := secdbIDs(line)
				if f.version == "0" {
					// Never affected: no entry, and the merge below drops
					// any this file made before.
					continue
				}
				ids, aliases := cves, others
				if len(cves) == 0 {
					ids, aliases = others, nil
				}
				if len(ids) == 0 {
					im.warn(KindAlpine, fmt.Sprintf("%s: %s: %s %s: %q names no CVE or advisory id; skipped", name, f.where, p.name, f.version, line))
					continue
				}
				for _, id := range ids {
					rid := "ALPINE-" + id
					fixes[rid] = append(fixes[rid], alpineFix{pkg: p.name, fixed: f.version, aliases: append([]string{id}, aliases...)})
				}
			}
		}
	}

	// Records this file contributed to before but no longer names lose
	// this file's entries. They may be among the queued records.
	if err := im.flushRecords(); err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	stale, err := im.alpineRecordsFor(release)
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	ids := sortedKeys(fixes)
	for _, id := range stale {
		if _, ok := fixes[id]; !ok {
			ids = append(ids, id)
		}
	}
	if im.alpine == nil {
		im.alpine = map[string]*Record{}
	}
	var missing []string
	for _, id := range ids {
		if _, ok := im.alpine[id]; !ok {
			missing = append(missing, id)
		}
	}
	stored, err := im.storedRecords(missing)
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	for _, id := range ids {
		rec, ok := im.alpine[id]
		if !ok {
			rec = stored[id]
		}
		fresh := rec == nil
		if fresh {
			rec = &Record{ID: id, Source: string(KindAlpine)}
			if cve, ok := strings.CutPrefix(id, "ALPINE-"); ok && strings.HasPrefix(cve, "CVE-") {
				rec.References = []Reference{{Type: "ADVISORY", URL: "https://security.alpinelinux.org/vuln/" + cve}}
			}
		}
		kept := rec.Affected[:0:0]
		for _, a := range rec.Affected {
			if a.Package.Ecosystem == eco && a.DatabaseSpecific["repository"] == repo {
				continue
			}
			kept = append(kept, a)
		}
		if len(fixes[id]) == 0 && len(kept) == len(rec.Affected) {
			continue // another repository's record, or nothing to add
		}
		aliases := append([]string(nil), rec.Aliases...)
		seen := map[[2]string]bool{}
		for _, f := range fixes[id] {
			aliases = append(aliases, f.aliases...)
			if seen[[2]string{f.pkg, f.fixed}] {
				continue
			}
			seen[[2]string{f.pkg, f.fixed}] = true
			kept = append(kept, Affected{
				Package: Package{Ecosystem: eco, Name: f.pkg},
				Ranges:  []Range{{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}, {Fixed: f.fixed}}}},
				DatabaseSpecific: map[string]any{
					PackageKindKey: PackageKindSource,
					"repository":   repo,
				},
			})
		}
		sort.SliceStable(kept, func(i, j int) bool {
			a, b := kept[i], kept[j]
			if a.Package.Ecosystem != b.Package.Ecosystem {
				return a.Package.Ecosystem < b.Package.Ecosystem
			}
			ra, _ := a.DatabaseSpecific["repository"].(string)
			rb, _ := b.DatabaseSpecific["repository"].(string)
			if ra != rb {
				return ra < rb
			}
			if a.Package.Name != b.Package.Name {
				return a.Package.Name < b.Package.Name
			}
			return fixedOf(a) < fixedOf(b)
		})
		rec.Affected = kept
		rec.Aliases = sortStrings(aliases)
		if err := im.putRecord(KindAlpine, rec); err != nil {
			return fmt.Errorf("import %s: %s: %w", name, id, err)
		}
		im.alpine[id] = rec
	}
	return nil
}

func fixedOf(a Affected) string {
	for _, r := range a.Ranges {
		for _, e := range r.Events {
			if e.Fixed != "" {
				return e.Fixed
			}
		}
	}
	return ""
}

// alpineRecordsFor lists the Alpine-feed records with an entry for release.
func (im *importer) alpineRecordsFor(release string) ([]string, error) {
	rows, err := im.tx.QueryContext(im.ctx, im.dia.rewrite(`SELECT DISTINCT a.id FROM affected a JOIN records r ON r.id = a.id
WHERE a.ecosystem = 'Alpine' AND a.release = ? AND r.source = ? ORDER BY a.id`), release, string(KindAlpine))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // read-only; rows.Err is checked below
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// storedRecords reads records inside the import transaction, after
// writing the queued ones; ids without a record are absent from the map.
func (im *importer) storedRecords(ids []string) (map[string]*Record, error) {
	out := make(map[string]*Record, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if err := im.flushRecords(); err != nil {
		return nil, err
	}
	err := im.queryList(`SELECT id, data FROM records WHERE id IN (${LIST})`, ids, func(scan func(...any) error) error {
		var id string
		var data []byte
		if err := scan(&id, &data); err != nil {
			return err
		}
		r := new(Record)
		if err := json.Unmarshal(data, r); err != nil {
			return fmt.Errorf("%s: decode stored record: %w", id, err)
		}
		out[id] = r
		return nil
	})
	return out, err
}
