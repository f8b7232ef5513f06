package live

import "sync"

// busBuffer is how many events a subscriber may be behind before it loses
// some: events come a few a clip, so only a stalled reader gets there.
const busBuffer = 256

// bus hands each event to every subscriber without ever waiting for one:
// events are published from the pacing path.
type bus struct {
	mu     sync.Mutex
	subs   map[chan Event]struct{}
	closed bool
}

func (b *bus) subscribe() (<-chan Event, func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := make(chan Event, busBuffer)
	if b.closed {
		close(ch)
		return ch, func() {}
	}
	if b.subs == nil {
		b.subs = make(map[chan Event]struct{})
	}
	b.subs[ch] = struct{}{}
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	}
}

func (b *bus) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default: // a stalled subscriber loses this one
		}
	}
}

// close ends every subscription: the stream is over.
func (b *bus) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for ch := range b.subs {
		close(ch)
	}
	b.subs = nil
}
