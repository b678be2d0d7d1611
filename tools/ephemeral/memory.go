package ephemeral

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// Memory is an in-process Store for the embedded default, where one process is the only
// replica. Its state is lost on restart, as a Redis without persistence would lose it.
type Memory struct {
	mu       sync.Mutex
	now      func() time.Time
	sessions map[string]memorySession
	counters map[string]memoryCounter
	subs     map[string]map[*Subscription]struct{} // by channel
}

type memorySession struct {
	userID  string
	expires time.Time
}

type memoryCounter struct {
	count   int64
	expires time.Time
}

// NewMemory returns an empty in-process store.
func NewMemory() *Memory {
	return &Memory{
		now:      time.Now,
		sessions: map[string]memorySession{},
		counters: map[string]memoryCounter{},
		subs:     map[string]map[*Subscription]struct{}{},
	}
}

// PutSession implements Store.
func (m *Memory) PutSession(_ context.Context, key, userID string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked()
	m.sessions[key] = memorySession{userID: userID, expires: m.now().Add(ttl)}
	return nil
}

// Session implements Store.
func (m *Memory) Session(_ context.Context, key string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[key]
	if !ok || !m.now().Before(s.expires) {
		return "", ErrNotFound
	}
	return s.userID, nil
}

// DeleteSession implements Store.
func (m *Memory) DeleteSession(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, key)
	return nil
}

// DeleteUserSessions implements Store.
func (m *Memory) DeleteUserSessions(_ context.Context, userID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.sessions {
		if s.userID == userID {
			delete(m.sessions, k)
		}
	}
	return nil
}

// Hit implements Store.
func (m *Memory) Hit(_ context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	c := m.counterLocked(key, now, window)
	c.count++
	m.counters[key] = c
	return c.count, c.expires.Sub(now), nil
}

// counterLocked is key's counter at now, or a new empty one whose window of the given length
// starts now when key has none or its window has ended. It stores nothing; m.mu is held.
func (m *Memory) counterLocked(key string, now time.Time, window time.Duration) memoryCounter {
	c, ok := m.counters[key]
	if !ok || !now.Before(c.expires) {
		c = memoryCounter{expires: now.Add(window)}
	}
	return c
}

// Count implements Store.
func (m *Memory) Count(_ context.Context, key string) (int64, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	c, ok := m.counters[key]
	if !ok || !now.Before(c.expires) {
		return 0, 0, nil
	}
	return c.count, c.expires.Sub(now), nil
}

// Reserve implements Store.
func (m *Memory) Reserve(_ context.Context, key string, limit int64, window time.Duration) (bool, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	c := m.counterLocked(key, now, window)
	if c.count >= limit {
		return false, c.expires.Sub(now), nil
	}
	c.count++
	m.counters[key] = c
	return true, c.expires.Sub(now), nil
}

// Release implements Store.
func (m *Memory) Release(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.counters[key]
	if !ok || !m.now().Before(c.expires) {
		return nil
	}
	c.count--
	if c.count <= 0 {
		delete(m.counters, key)
		return nil
	}
	m.counters[key] = c
	return nil
}

// Reset implements Store.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.counters, key)
	return nil
}

// Publish implements Store. Each subscriber gets its own copy, as it would from Redis, so
// neither the publisher reusing its buffer nor one subscriber changing a payload affects another.
func (m *Memory) Publish(_ context.Context, channel string, payload []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for sub := range m.subs[channel] {
		sub.deliver(bytes.Clone(payload))
	}
	return nil
}

// Subscribe implements Store. Delivering and closing C both happen under m.mu, so Publish can
// never send on a closed C.
func (m *Memory) Subscribe(ctx context.Context, channel string) (*Subscription, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Holding m.mu also makes an already-ended ctx's teardown wait until sub is registered,
	// so it cannot leave a closed subscription behind in m.subs.
	sub := newSubscription(ctx, func(ended *Subscription) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.subs[channel], ended)
		if len(m.subs[channel]) == 0 {
			delete(m.subs, channel)
		}
		close(ended.c)
		return nil
	})
	if m.subs[channel] == nil {
		m.subs[channel] = map[*Subscription]struct{}{}
	}
	m.subs[channel][sub] = struct{}{}
	return sub, nil
}

// Ping implements Store; an in-process store is always reachable.
func (m *Memory) Ping(context.Context) error { return nil }

// Close implements Store. It ends live subscriptions, as closing Redis's connections would, so
// consumers ranging over C stop at shutdown in the embedded setup too.
func (m *Memory) Close() error {
	m.mu.Lock()
	var subs []*Subscription
	for _, set := range m.subs {
		for sub := range set {
			subs = append(subs, sub)
		}
	}
	m.mu.Unlock()
	for _, sub := range subs {
		_ = sub.Close()
	}
	return nil
}

// sweepLocked drops expired entries so a long-running dev server does not grow without bound.
func (m *Memory) sweepLocked() {
	now := m.now()
	for k, s := range m.sessions {
		if !now.Before(s.expires) {
			delete(m.sessions, k)
		}
	}
	for k, c := range m.counters {
		if !now.Before(c.expires) {
			delete(m.counters, k)
		}
	}
}
