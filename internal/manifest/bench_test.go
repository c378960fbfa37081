package manifest

import (
	"context"
	"testing"
)

func BenchmarkLoadCorpus(b *testing.B) {
	dir := corpusDir(b)
	b.ReportAllocs()
	for b.Loop() {
		res, err := Load(context.Background(), []string{dir}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Deployments) != corpusWorkloads {
			b.Fatalf("got %d workloads, want %d", len(res.Deployments), corpusWorkloads)
		}
	}
}
