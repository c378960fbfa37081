package deploycheck

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// referenceJSON is the report as encoding/json writes it: each result
// indented with prefix "    " and indent "  ", no HTML escaping — the
// format WriteJSON promises.
func referenceJSON(t testing.TB, r *Report) string {
	t.Helper()
	out := *r
	if out.Results == nil {
		out.Results = []Result{}
	}
	var b strings.Builder
	enc := func(v any, prefix string) string {
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetIndent(prefix, "  ")
		e.SetEscapeHTML(false)
		if err := e.Encode(v); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(buf.String(), "\n")
	}
	if len(out.Results) == 0 {
		b.WriteString("{\n  \"results\": [],\n")
	} else {
		b.WriteString("{\n  \"results\": [\n")
		for i := range out.Results {
			res := out.Results[i]
			if res.ViolatedPolicies == nil {
				res.ViolatedPolicies = []ViolatedPolicy{}
			}
			for j := range res.ViolatedPolicies {
				if res.ViolatedPolicies[j].Violation == nil {
					res.ViolatedPolicies[j].Violation = []string{}
				}
			}
			b.WriteString("    " + enc(&res, "    "))
			if i < len(out.Results)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString("  ],\n")
	}
	b.WriteString("  \"summary\": " + enc(&out.Summary, "  ") + "\n}\n")
	return b.String()
}

// awkward strings: every escape encoding/json makes, invalid UTF-8, line
// separators, HTML characters it must leave alone, multi-byte text.
var awkward = []string{
	"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr\bback\fform", "\x00\x01\x1f\x7f",
	"<script>&amp;</script>", "line\u2028sep\u2029para", "bad \xff\xfe utf8 \xc3", "ünïcødé 日本語 🚀",
	"trailing \xe2\x80", "\\u0041 literal",
}

func randomString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return awkward[r.IntN(len(awkward))]
	}
	n := r.IntN(40)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return string(b)
}

func randomReport(r *rand.Rand) *Report {
	rep := &Report{Summary: Summary{Critical: r.IntN(5), High: r.IntN(5), Medium: r.IntN(50), Low: -1, Total: 1 << 40}}
	for range r.IntN(6) {
		res := Result{Metadata: Metadata{ID: randomString(r), AdditionalInfo: AdditionalInfo{Name: randomString(r), Namespace: randomString(r), Type: "Deployment"}},
			Summary: Summary{High: r.IntN(3)}}
		if r.IntN(4) > 0 {
			for range r.IntN(4) {
				vp := ViolatedPolicy{Name: randomString(r), Severity: "HIGH", Description: randomString(r), Remediation: randomString(r), FailingCheck: r.IntN(2) == 0}
				if r.IntN(4) > 0 {
					vp.Violation = []string{}
					for range r.IntN(4) {
						vp.Violation = append(vp.Violation, randomString(r))
					}
				}
				res.ViolatedPolicies = append(res.ViolatedPolicies, vp)
			}
		}
		rep.Results = append(rep.Results, res)
	}
	return rep
}

func TestWriteJSONMatchesEncoder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		rep := randomReport(r)
		var got bytes.Buffer
		if err := WriteJSON(&got, rep); err != nil {
			t.Fatal(err)
		}
		if want := referenceJSON(t, rep); got.String() != want {
			t.Fatalf("report %d differs from encoding/json:\n got: %q\nwant: %q", i, got.String(), want)
		}
		if !json.Valid(got.Bytes()) {
			t.Fatalf("report %d is not valid JSON", i)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range awkward {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(false)
		if err := e.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got, want := string(appendJSONString(nil, s)), strings.TrimSuffix(buf.String(), "\n"); got != want {
			t.Fatalf("appendJSONString(%q) = %s, encoding/json says %s", s, got, want)
		}
	})
}
