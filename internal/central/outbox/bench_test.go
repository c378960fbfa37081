package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/notify/notifier"
	"github.com/stockade-dev/stockade/internal/pgtest"
)

// BenchmarkStorm drains an alert storm of 10,000 alerts routed to three
// webhook notifiers (30,000 deliveries) through the outbox into local
// receivers, and reports deliveries per second. Each iteration enqueues
// the storm in one transaction and waits until every delivery is
// acknowledged and recorded; it fails on a lost or repeated delivery.
func BenchmarkStorm(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchStorm(b, openStore(b)) })
	b.Run("postgres", func(b *testing.B) {
		st, err := store.Open(context.Background(), pgtest.NewDatabase(b), "", nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		benchStorm(b, st)
	})
}

func benchStorm(b *testing.B, st *store.Store) {
	const alerts = 10000
	peers := []*peer{newPeer(b), newPeer(b), newPeer(b)}
	cfgs := make([]notifier.Config, len(peers))
	ids := make([]string, len(peers))
	for i, p := range peers {
		ids[i] = fmt.Sprintf("hook-%d", i)
		cfgs[i] = p.config(ids[i])
	}
	o := start(b, st, fastOptions(), cfgs...)
	var total time.Duration
	for iter := 0; b.Loop(); iter++ {
		batch := make([]*notifier.Alert, alerts)
		for i := range batch {
			batch[i] = alert(iter*alerts+i, "HIGH_SEVERITY")
		}
		began := time.Now()
		enqueue(b, st, o, ids, notifier.EventNew, batch...)
		want := (iter + 1) * alerts
		// Watch the receivers (cheap), then confirm in the store that every
		// acknowledgement was recorded.
		waitFor(b, "the storm to arrive", func() bool {
			for _, p := range peers {
				if n, _ := p.counts(); n < want {
					return false
				}
			}
			return true
		})
		waitFor(b, "the storm to drain", func() bool {
			for _, id := range ids {
				if stats(b, st, id).Delivered != want {
					return false
				}
			}
			return true
		})
		total += time.Since(began)
		for _, p := range peers {
			if n, most := p.counts(); n != want || most != 1 {
				b.Fatalf("a receiver got %d distinct deliveries (one %d times), want %d once each", n, most, want)
			}
		}
	}
	b.ReportMetric(float64(b.N*alerts*len(peers))/total.Seconds(), "deliveries/s")
}
