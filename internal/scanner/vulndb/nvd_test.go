package vulndb

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportNVDTable(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := be.openDB(t)
		res, err := db.Import(ctx, dataPath(t, "vulns/nvd-sample/cvss-v3-sample.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		if n := res.Source("nvd"); n.Added != 12 || n.Files != 1 {
			t.Errorf("import: %+v", n)
		}
		got, err := db.NVD(ctx, []string{"CVE-2023-45853", "CVE-2021-44228", "CVE-2023-4911", "CVE-1999-0001"})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]CVSS{
			// NVD's Primary scoring beats the CNA's Secondary one.
			"CVE-2023-45853": {Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Score: 9.8, Version: "3.1"},
			"CVE-2021-44228": {Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", Score: 10, Version: "3.1"},
			"CVE-2023-4911":  {Vector: "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", Score: 7.8, Version: "3.1"},
		}
		if len(got) != len(want) {
			t.Errorf("NVD: %v", got)
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %+v, want %+v", k, got[k], w)
			}
		}
		if st, _ := db.Status(ctx); st.NVD != 12 {
			t.Errorf("status NVD %d", st.NVD)
		}
	})
}

// TestImportNVDJSON: the trimmed NVD records as files and wrapped in an
// API 2.0 response, with lastModified deciding what replaces what.
func TestImportNVDJSON(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := be.openDB(t)
		files, err := filepath.Glob(filepath.Join(dataPath(t, "vulns/nvd-sample"), "nvd-*.json"))
		if err != nil || len(files) != 3 {
			t.Fatalf("%v %v", files, err)
		}
		res, err := db.Import(ctx, files...)
		if err != nil {
			t.Fatal(err)
		}
		if n := res.Source("nvd"); n.Added != 3 {
			t.Errorf("files: %+v", n)
		}
		got, _ := db.NVD(ctx, []string{"CVE-2023-45853", "CVE-2022-37434", "CVE-2023-4911"})
		if got["CVE-2023-45853"].Score != 9.8 || got["CVE-2022-37434"].Score != 9.8 || got["CVE-2023-4911"].Score != 7.8 {
			t.Errorf("scores %v", got)
		}

		// The same three as an API response, plus a v3.0-only CVE without a
		// baseScore (computed), and one with only CVSS v2 (skipped).
		var items []json.RawMessage
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, json.RawMessage(`{"cve":`+string(b)+`}`))
		}
		items = append(items,
			json.RawMessage(`{"cve":{"id":"CVE-2017-0001","lastModified":"2019-10-03T00:03:26.223","metrics":{"cvssMetricV30":[{"source":"nvd@nist.gov","type":"Primary","cvssData":{"version":"3.0","vectorString":"CVSS:3.0/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H"}}]}}}`),
			json.RawMessage(`{"cve":{"id":"CVE-2005-0001","metrics":{"cvssMetricV2":[{"cvssData":{"version":"2.0","vectorString":"AV:N/AC:L/Au:N/C:P/I:P/A:P","baseScore":7.5}}]}}}`),
		)
		resp, _ := json.Marshal(map[string]any{"resultsPerPage": len(items), "startIndex": 0, "format": "NVD_CVE", "vulnerabilities": items})
		dir := t.TempDir()
		p := filepath.Join(dir, "nvd-page.json")
		if err := os.WriteFile(p, resp, 0o600); err != nil {
			t.Fatal(err)
		}
		res, err = db.Import(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if n := res.Source("nvd"); n.Added != 1 || n.Unchanged != 3 || n.Skipped != 1 || len(n.Warnings) != 1 {
			t.Errorf("api page: %+v", n)
		}
		got, _ = db.NVD(ctx, []string{"CVE-2017-0001", "CVE-2005-0001"})
		if c := got["CVE-2017-0001"]; c.Score != 7.8 || c.Version != "3.0" || len(got) != 1 {
			t.Errorf("v3.0 computed: %+v", got)
		}

		// An older lastModified with another vector does not replace; a newer
		// one does.
		older := strings.Replace(string(resp), `"2025-05-02T17:15:46.653"`, `"2020-01-01T00:00:00.000"`, 1)
		older = strings.Replace(older, `AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","baseScore":9.8,"baseSeverity":"CRITICAL","attackVector"`, `AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:L","baseScore":9.4,"baseSeverity":"CRITICAL","attackVector"`, 1)
		newer := strings.Replace(older, `"2020-01-01T00:00:00.000"`, `"2026-01-01T00:00:00.000"`, 1)
		if older == string(resp) || !strings.Contains(older, "A:L") {
			t.Fatal("test edit did not apply")
		}
		for _, step := range []struct {
			doc   string
			score float64
		}{{older, 9.8}, {newer, 9.4}} {
			if err := os.WriteFile(p, []byte(step.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Import(ctx, p); err != nil {
				t.Fatal(err)
			}
			got, _ := db.NVD(ctx, []string{"CVE-2022-37434"})
			if got["CVE-2022-37434"].Score != step.score {
				t.Errorf("after import: %+v, want score %v", got, step.score)
			}
		}
	})
}

func TestImportNVDBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		dir := t.TempDir()
		for name, c := range map[string]struct{ doc, want string }{
			"badvector.tsv": {"cve\tvector\nCVE-2020-1\tCVSS:3.1/AV:N\n", "line 2"},
			"badcve.csv":    {"cve,vector\nCVE-2020-1,CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\nGHSA-1,CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n", "line 3"},
			"badscore.tsv":  {"cve\tvector\tscore\nCVE-2020-1\tCVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\tlots\n", "line 2"},
			"badapi.json":   {`{"vulnerabilities":[{"cve":{"id":"CVE-2020-1","metrics":{"cvssMetricV31":[{"cvssData":{"vectorString":"CVSS:3.1/AV:Q"}}]}}}]}`, "vulnerabilities[0]"},
			"noid.json":     {`{"vulnerabilities":[{"cve":{"metrics":{}}}]}`, "no CVE id"},
			"latin1.tsv":    {"cve\tvector\nCVE-2020-1\xe9\tCVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n", "invalid UTF-8"},
		} {
			t.Run(name, func(t *testing.T) {
				db := be.openDB(t)
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(c.doc), 0o600); err != nil {
					t.Fatal(err)
				}
				_, err := db.Import(ctx, p)
				if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %v, want %s and %q", err, name, c.want)
				}
				if st, _ := db.Status(ctx); st.NVD != 0 {
					t.Errorf("failed import wrote %d scores", st.NVD)
				}
			})
		}
	})
}
