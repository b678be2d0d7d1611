package ephemeral

import (
	"context"
	"sync"
	"sync/atomic"
)

// subscriptionBuffer is how many payloads a subscriber may fall behind before new ones are
// dropped. It absorbs bursts (a broadcast to every websocket) without letting one stuck
// consumer hold up the publishers or the connection every other subscriber reads from.
const subscriptionBuffer = 1024

// Subscription is a live subscription to one channel, shared by both Store implementations.
type Subscription struct {
	// C yields the payloads, each the receiver's own copy. It is closed when the subscription
	// ends; payloads already buffered stay readable, so ranging over C sees them before it stops.
	C <-chan []byte

	c       chan []byte
	dropped atomic.Uint64

	// end is the implementation's teardown: it stops delivery and closes c. It runs once.
	end      func(*Subscription) error
	stopOnce sync.Once
	endErr   error
	stopCtx  func() bool // unregisters the teardown from the Subscribe context
}

// newSubscription returns a subscription that ends, by calling end, on Close or when ctx ends,
// whichever comes first.
func newSubscription(ctx context.Context, end func(*Subscription) error) *Subscription {
	c := make(chan []byte, subscriptionBuffer)
	s := &Subscription{C: c, c: c, end: end}
	s.stopCtx = context.AfterFunc(ctx, s.finish)
	return s
}

// finish runs the teardown once. The context's AfterFunc calls it rather than Close, since
// with an already-ended ctx it may run before newSubscription has set stopCtx.
func (s *Subscription) finish() {
	s.stopOnce.Do(func() { s.endErr = s.end(s) })
}

// deliver hands payload to the consumer without waiting: when C is full the payload is dropped
// and counted, so a slow consumer never blocks the publisher or the Redis reader.
func (s *Subscription) deliver(payload []byte) {
	select {
	case s.c <- payload:
	default:
		s.dropped.Add(1)
	}
}

// Dropped reports how many payloads were discarded because C was full, for logs and metrics.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes C; when it returns, nothing more is delivered.
// Closing again, or after the context ended the subscription, does nothing and returns the
// first Close's result.
func (s *Subscription) Close() error {
	s.stopCtx()
	s.finish()
	return s.endErr
}
