package csvexport

import (
	"encoding/csv"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestRowsAreInertAndBounded(t *testing.T) {
	rec := httptest.NewRecorder()
	w, err := New(rec, "cves.csv", "id", "summary")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Row("CVE-1", `=HYPERLINK("http://evil")`); err != nil {
		t.Fatal(err)
	}
	if err := w.Row("-", "a,b\n\"c\""); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type = %q", ct)
	}
	if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="cves.csv"` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"id", "summary"}, {"CVE-1", `'=HYPERLINK("http://evil")`}, {"-", "a,b\n\"c\""}}
	if len(rows) != len(want) {
		t.Fatalf("rows = %q", rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, rows[i], want[i])
		}
	}

	w.rows = MaxRows
	if err := w.Row("x"); !errors.Is(err, ErrFull) {
		t.Errorf("row past MaxRows: %v", err)
	}
}

func TestRequested(t *testing.T) {
	for q, want := range map[string]bool{"": false, "format=json": false, "format=csv": true} {
		v, _ := url.ParseQuery(q)
		got, err := Requested(v)
		if err != nil || got != want {
			t.Errorf("Requested(%q) = %v, %v", q, got, err)
		}
	}
	v, _ := url.ParseQuery("format=xlsx")
	if _, err := Requested(v); err == nil || !strings.Contains(err.Error(), "bad query parameter") {
		t.Errorf("format=xlsx: %v", err)
	}
}
