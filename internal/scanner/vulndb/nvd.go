package vulndb

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// NVD enrichment: CVSS v3 scores by CVE id, from NVD API 2.0 JSON (a
// response with "vulnerabilities", or single CVE objects as the
// fkie-cad/nvd-json-data-feeds repository stores them) or from a table with
// cve and vector columns.

type nvdItem struct {
	CVE nvdCVE `json:"cve"`
}

type nvdCVE struct {
	ID           string `json:"id"`
	LastModified string `json:"lastModified"`
	Metrics      struct {
		V31 []nvdMetric `json:"cvssMetricV31"`
		V30 []nvdMetric `json:"cvssMetricV30"`
	} `json:"metrics"`
}

type nvdMetric struct {
	Source string `json:"source"`
	Type   string `json:"type"`
	Data   struct {
		Version      string  `json:"version"`
		VectorString string  `json:"vectorString"`
		BaseScore    float64 `json:"baseScore"`
	} `json:"cvssData"`
}

func (im *importer) importNVD(name string, l layout, r io.Reader) error {
	switch l {
	case layoutTable:
		return im.importNVDTable(name, r)
	case layoutNVDItems:
		return im.importNVDItems(name, r)
	}
	br := &budgetReader{r: r}
	br.reset()
	dec := json.NewDecoder(br)
	for n := 1; ; n++ {
		br.reset()
		var c nvdCVE
		err := dec.Decode(&c)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("import %s: CVE object %d: %w", name, n, err)
		}
		if err := im.putNVDCVE(&c); err != nil {
			return fmt.Errorf("import %s: %w", name, err)
		}
	}
}

// importNVDItems streams an API response: only "vulnerabilities" matters;
// each item is decoded on its own.
func (im *importer) importNVDItems(name string, r io.Reader) error {
	br := &budgetReader{r: r}
	br.reset()
	dec := json.NewDecoder(br)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("import %s: NVD response is not an object", name)
	}
	for dec.More() {
		br.reset()
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("import %s: %w", name, err)
		}
		if t != "vulnerabilities" {
			if err := skipValue(dec); err != nil {
				return fmt.Errorf("import %s: %v: %w", name, t, err)
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return fmt.Errorf("import %s: vulnerabilities is not a list", name)
		}
		for n := 0; dec.More(); n++ {
			br.reset()
			var it nvdItem
			if err := dec.Decode(&it); err != nil {
				return fmt.Errorf("import %s: vulnerabilities[%d]: %w", name, n, err)
			}
			if err := im.putNVDCVE(&it.CVE); err != nil {
				return fmt.Errorf("import %s: vulnerabilities[%d]: %w", name, n, err)
			}
		}
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("import %s: %w", name, err)
		}
	}
	return nil
}

// putNVDCVE keeps NVD's v3.1 scoring (v3.0 when there is no v3.1), the
// Primary one (NVD's own) when there are several.
func (im *importer) putNVDCVE(c *nvdCVE) error {
	if !strings.HasPrefix(c.ID, "CVE-") {
		return fmt.Errorf("NVD item has no CVE id (id %q)", c.ID)
	}
	m := pickMetric(c.Metrics.V31)
	if m == nil {
		m = pickMetric(c.Metrics.V30)
	}
	if m == nil {
		im.warn(KindNVD, "CVEs without a CVSS v3 scoring are skipped")
		return nil
	}
	cv, err := cvssOf(m.Data.VectorString, m.Data.BaseScore)
	if err != nil {
		return fmt.Errorf("%s: %w", c.ID, err)
	}
	return im.putNVD(c.ID, cv, parseNVDTime(c.LastModified))
}

func pickMetric(ms []nvdMetric) *nvdMetric {
	for i := range ms {
		if ms[i].Type == "Primary" {
			return &ms[i]
		}
	}
	if len(ms) > 0 {
		return &ms[0]
	}
	return nil
}

// cvssOf checks the vector and takes the given score, computing it when
// the feed left it out.
func cvssOf(vector string, score float64) (CVSS, error) {
	version, err := CVSSVersion(vector)
	if err != nil {
		return CVSS{}, err
	}
	if score == 0 {
		if score, err = CVSSScore(vector); err != nil {
			return CVSS{}, err
		}
	}
	if score < 0 || score > 10 || math.IsNaN(score) {
		return CVSS{}, fmt.Errorf("base score %v is out of range", score)
	}
	return CVSS{Vector: vector, Score: score, Version: version}, nil
}

// parseNVDTime reads NVD's timestamps, which carry no zone and are UTC.
func parseNVDTime(s string) time.Time {
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// putNVD stores a scoring unless the stored one is as new (same rule as
// records: newer lastModified wins; unknown times compare content). The
// scoring is queued and written with its batch (flushNVD).
func (im *importer) putNVD(cve string, c CVSS, modified time.Time) error {
	if !storable(cve) || !storable(c.Vector) {
		return fmt.Errorf("%q: CVE id or vector contains a NUL byte or invalid UTF-8", cve)
	}
	return im.queueNVD(pendingNVD{bucket: im.bucket(KindNVD), cve: cve, cvss: c, modified: formatTime(modified)})
}

// splitTableLine splits a header line on tabs, else on commas.
func splitTableLine(line string) []string {
	if strings.Contains(line, "\t") {
		return strings.Split(line, "\t")
	}
	return strings.Split(line, ",")
}

// importNVDTable reads a TSV or CSV with a header naming at least a CVE
// column and a vector column; a score column is used when present and
// filled, else the score is computed. When a CVE has several rows, the one
// whose source column names NVD (nvd@nist.gov, or "Primary") wins, else the
// first.
func (im *importer) importNVDTable(name string, r io.Reader) error {
	br := bufio.NewReader(&io.LimitedReader{R: r, N: maxDocumentSize + 1})
	header, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("import %s: %w", name, err)
	}
	header = strings.TrimPrefix(strings.TrimRight(header, "\r\n"), "\ufeff")
	comma := ','
	if strings.Contains(header, "\t") {
		comma = '\t'
	}
	col := map[string]int{}
	for i, h := range splitTableLine(header) {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	find := func(names ...string) int {
		for _, n := range names {
			if i, ok := col[n]; ok {
				return i
			}
		}
		return -1
	}
	cveCol := find("cve", "cve_id", "id")
	vecCol := find("vector", "vector_string", "vectorstring", "cvss_v3", "cvss3_vector")
	scoreCols := []int{find("published_base_score"), find("base_score", "basescore", "score"), find("computed_base_score")}
	srcCol := find("vector_source", "source")
	modCol := find("last_modified", "lastmodified", "modified")
	if cveCol < 0 || vecCol < 0 {
		return fmt.Errorf("import %s: line 1: header needs a cve and a vector column", name)
	}

	type row struct {
		line    int
		cvss    CVSS
		mod     time.Time
		primary bool
	}
	best := map[string]row{}
	var order []string
	cr := csv.NewReader(br)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("import %s: line %d: %w", name, line, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		field := func(i int) string {
			if i < 0 || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		cve := field(cveCol)
		if !strings.HasPrefix(cve, "CVE-") {
			return fmt.Errorf("import %s: line %d: %q is not a CVE id", name, line, cve)
		}
		var score float64
		for _, c := range scoreCols {
			if s := field(c); s != "" {
				if score, err = strconv.ParseFloat(s, 64); err != nil {
					return fmt.Errorf("import %s: line %d: score %q: %w", name, line, s, err)
				}
				break
			}
		}
		cv, err := cvssOf(field(vecCol), score)
		if err != nil {
			return fmt.Errorf("import %s: line %d: %w", name, line, err)
		}
		src := field(srcCol)
		primary := strings.Contains(src, "nvd@nist.gov") || strings.Contains(src, "(Primary)")
		cur, seen := best[cve]
		if !seen {
			order = append(order, cve)
		}
		if !seen || (primary && !cur.primary) {
			best[cve] = row{line: line, cvss: cv, mod: parseNVDTime(field(modCol)), primary: primary}
		}
	}
	if len(order) == 0 {
		return fmt.Errorf("import %s: no rows", name)
	}
	for _, cve := range order {
		r := best[cve]
		if err := im.putNVD(cve, r.cvss, r.mod); err != nil {
			return fmt.Errorf("import %s: line %d: %w", name, r.line, err)
		}
	}
	return nil
}
