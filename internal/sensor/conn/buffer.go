package conn

import (
	"sync"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
)

// buffer is the bounded queue of messages waiting to be sent: a ring that
// drops its oldest message when full, counting what it dropped.
type buffer struct {
	mu      sync.Mutex
	ring    []*sensorv1.SensorMessage
	head    int // index of the oldest message
	n       int // messages held
	dropped uint64
	// ready has a token while the buffer holds messages, for the sender
	// to wait on.
	ready chan struct{}
}

func newBuffer(size int) *buffer {
	return &buffer{ring: make([]*sensorv1.SensorMessage, size), ready: make(chan struct{}, 1)}
}

func (b *buffer) signal() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// push appends m, dropping the oldest message when the buffer is full.
func (b *buffer) push(m *sensorv1.SensorMessage) {
	b.mu.Lock()
	if b.n == len(b.ring) {
		b.ring[b.head] = nil
		b.head = (b.head + 1) % len(b.ring)
		b.n--
		b.dropped++
	}
	b.ring[(b.head+b.n)%len(b.ring)] = m
	b.n++
	b.mu.Unlock()
	b.signal()
}

// peek returns the oldest message, or nil.
func (b *buffer) peek() *sensorv1.SensorMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n == 0 {
		return nil
	}
	return b.ring[b.head]
}

// pop removes m if it is still the oldest message (push may have dropped
// it meanwhile).
func (b *buffer) pop(m *sensorv1.SensorMessage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n > 0 && b.ring[b.head] == m {
		b.ring[b.head] = nil
		b.head = (b.head + 1) % len(b.ring)
		b.n--
	}
}

// dropIf removes the messages drop selects, keeping the others in order,
// and returns how many it removed. They are not counted as dropped: a
// newer message replaces them.
func (b *buffer) dropIf(drop func(*sensorv1.SensorMessage) bool) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := make([]*sensorv1.SensorMessage, 0, b.n)
	for i := range b.n {
		m := b.ring[(b.head+i)%len(b.ring)]
		if !drop(m) {
			kept = append(kept, m)
		}
	}
	removed := b.n - len(kept)
	clear(b.ring)
	copy(b.ring, kept)
	b.head, b.n = 0, len(kept)
	return removed
}

func (b *buffer) stats() (held int, dropped uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n, b.dropped
}
