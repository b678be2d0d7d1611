package ephemeral

import (
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
	return &Memory{now: time.Now, sessions: map[string]memorySession{}, counters: map[string]memoryCounter{}}
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
	c, ok := m.counters[key]
	if !ok || !now.Before(c.expires) {
		c = memoryCounter{expires: now.Add(window)}
	}
	c.count++
	m.counters[key] = c
	return c.count, c.expires.Sub(now), nil
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

// Reset implements Store.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.counters, key)
	return nil
}

// Ping implements Store; an in-process store is always reachable.
func (m *Memory) Ping(context.Context) error { return nil }

// Close implements Store.
func (m *Memory) Close() error { return nil }

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
