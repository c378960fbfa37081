// Package csvexport writes a list endpoint's rows as a CSV download: a
// header row, then every row the list's filters and sort select, streamed
// as they are produced and bounded by MaxRows. Every cell a spreadsheet
// would read as a formula is made inert (textcell.Inert), since exported
// values (image names, summaries, labels) come from registries and
// manifests an attacker may write.
package csvexport

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/textcell"
)

// MaxRows bounds the rows of one export.
const MaxRows = 100_000

// Requested reports whether the query asks for CSV (format=csv), and
// refuses any other format but json.
func Requested(q url.Values) (bool, error) {
	switch f := q.Get("format"); f {
	case "", "json":
		return false, nil
	case "csv":
		return true, nil
	default:
		return false, httpapi.Invalid("bad query parameter", httpapi.Detail{Path: "format", Message: "want json or csv, got " + fmt.Sprintf("%q", f)})
	}
}

// Writer writes the rows of one export.
type Writer struct {
	w    http.ResponseWriter
	csv  *csv.Writer
	rows int
	cell []string
}

// ErrFull is returned by Row once MaxRows rows are written: the producer
// should stop.
var ErrFull = errors.New("export holds the most rows it may")

// New starts a CSV download named filename with the header row.
func New(w http.ResponseWriter, filename string, header ...string) (*Writer, error) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	e := &Writer{w: w, csv: csv.NewWriter(w)}
	if err := e.csv.Write(header); err != nil {
		return nil, fmt.Errorf("write CSV header: %w", err)
	}
	return e, nil
}

// Row writes one row, made inert; it returns ErrFull past MaxRows.
func (e *Writer) Row(cells ...string) error {
	if e.rows >= MaxRows {
		return ErrFull
	}
	e.cell = e.cell[:0]
	for _, c := range cells {
		e.cell = append(e.cell, textcell.Inert(strings.ToValidUTF8(c, "\uFFFD")))
	}
	if err := e.csv.Write(e.cell); err != nil {
		return fmt.Errorf("write CSV row: %w", err)
	}
	e.rows++
	if e.rows%512 == 0 {
		e.csv.Flush()
		if f, ok := e.w.(http.Flusher); ok {
			f.Flush()
		}
	}
	return nil
}

// Close flushes what is buffered. The status is sent already, so an error
// here or from the producer can only cut the download short; Close reports
// it for the log.
func (e *Writer) Close() error {
	e.csv.Flush()
	return e.csv.Error()
}
