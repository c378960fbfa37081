package vulndb

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// importOSV reads OSV records: one JSON Lines record per line, a JSON array
// of records, or one record (several concatenated records are accepted).
func (im *importer) importOSV(name string, l layout, r io.Reader) error {
	switch l {
	case layoutJSONL:
		return im.importOSVLines(name, r)
	case layoutArray:
		return im.importOSVArray(name, r)
	}
	br := &budgetReader{r: r}
	br.reset()
	dec := json.NewDecoder(br)
	for n := 1; ; n++ {
		br.reset()
		var rec Record
		start := dec.InputOffset()
		err := dec.Decode(&rec)
		if err == nil && dec.InputOffset()-start > MaxRecordSize {
			err = errRecordTooLarge
		}
		if errors.Is(err, io.EOF) {
			if n == 1 {
				return fmt.Errorf("import %s: empty file", name)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("import %s: record %d: %w", name, n, err)
		}
		if err := im.putOSV(&rec); err != nil {
			return fmt.Errorf("import %s: record %d: %w", name, n, err)
		}
	}
}

func (im *importer) importOSVLines(name string, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxRecordSize+1)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if line%1024 == 0 {
			if err := im.ctx.Err(); err != nil {
				return fmt.Errorf("import %s: line %d: %w", name, line, err)
			}
		}
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("import %s: line %d: %w", name, line, err)
		}
		if err := im.putOSV(&rec); err != nil {
			return fmt.Errorf("import %s: line %d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = errRecordTooLarge
		}
		return fmt.Errorf("import %s: line %d: %w", name, line+1, err)
	}
	return nil
}

func (im *importer) importOSVArray(name string, r io.Reader) error {
	br := &budgetReader{r: r}
	br.reset()
	dec := json.NewDecoder(br)
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	for n := 1; dec.More(); n++ {
		br.reset()
		var rec Record
		start := dec.InputOffset()
		err := dec.Decode(&rec)
		if err == nil && dec.InputOffset()-start > MaxRecordSize {
			err = errRecordTooLarge
		}
		if err != nil {
			return fmt.Errorf("import %s: record %d: %w", name, n, err)
		}
		if err := im.putOSV(&rec); err != nil {
			return fmt.Errorf("import %s: record %d: %w", name, n, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("import %s: end of array: %w", name, err)
	}
	return nil
}

// putOSV stores an OSV record; Source is "osv" unless the record says
// otherwise.
func (im *importer) putOSV(rec *Record) error {
	return im.putRecord(KindOSV, rec)
}
