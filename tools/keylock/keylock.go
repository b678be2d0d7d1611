// Package keylock serialises work per key (a user's files, a backend's lifecycle) while work
// on different keys runs side by side. A key's lock exists only while someone holds or waits
// for it, so a map of locks never grows with the keys ever seen.
package keylock

import "sync"

// Locks is a set of mutexes by key; the zero value is ready to use.
type Locks struct {
	mu    sync.Mutex
	locks map[string]*entry
}

type entry struct {
	sync.Mutex
	refs int
}

// Lock blocks until key is free and returns the function that frees it.
func (k *Locks) Lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*entry{}
	}
	l := k.locks[key]
	if l == nil {
		l = &entry{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
