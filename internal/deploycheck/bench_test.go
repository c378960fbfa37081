package deploycheck

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/manifest"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/shareddata"
)

// corpusReport checks the manifest corpus of ../shared/data against the
// built-in policies: 362 workloads, about 1,600 violations.
func corpusReport(b *testing.B) *Report {
	b.Helper()
	res, err := manifest.Load(context.Background(), []string{shareddata.Path(b, "manifests")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ps, err := policy.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		b.Fatal(err)
	}
	return Check(res.Deployments, set, time.Now())
}

func BenchmarkWriteTable(b *testing.B) {
	r := corpusReport(b)
	for b.Loop() {
		if err := WriteTable(io.Discard, r, TableOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteJSON(b *testing.B) {
	r := corpusReport(b)
	for b.Loop() {
		if err := WriteJSON(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}
