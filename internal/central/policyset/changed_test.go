package policyset

import (
	"log/slog"
	"testing"
	"time"
)

func TestChangedWakesEveryWaiterOncePerInvalidate(t *testing.T) {
	c := NewCache(nil, slog.New(slog.DiscardHandler))
	first := c.Changed()
	if c.Changed() != first {
		t.Fatal("Changed handed out a new channel without a change")
	}
	select {
	case <-first:
		t.Fatal("Changed fired before any Invalidate")
	default:
	}
	woke := make(chan struct{}, 3)
	for range 3 {
		go func() {
			<-first
			woke <- struct{}{}
		}()
	}
	c.Invalidate()
	for range 3 {
		select {
		case <-woke:
		case <-time.After(5 * time.Second):
			t.Fatal("a waiter was not woken by Invalidate")
		}
	}
	next := c.Changed()
	if next == first {
		t.Fatal("Changed returned the fired channel again")
	}
	select {
	case <-next:
		t.Fatal("the next channel fired without another Invalidate")
	default:
	}
	if c.Generation() != 2 {
		t.Fatalf("generation %d, want 2", c.Generation())
	}
}
