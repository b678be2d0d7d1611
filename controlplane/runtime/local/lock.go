package local

import "sync"

// nameLocks serialises operations on one backend while letting operations on different
// backends, including slow starts, run side by side. A lock exists only while someone holds or
// waits for it.
type nameLocks struct {
	mu    sync.Mutex
	locks map[string]*nameLock
}

type nameLock struct {
	sync.Mutex
	refs int
}

// lock blocks until name is free and returns the function that frees it.
func (n *nameLocks) lock(name string) (unlock func()) {
	n.mu.Lock()
	if n.locks == nil {
		n.locks = map[string]*nameLock{}
	}
	l := n.locks[name]
	if l == nil {
		l = &nameLock{}
		n.locks[name] = l
	}
	l.refs++
	n.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		n.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(n.locks, name)
		}
		n.mu.Unlock()
	}
}
