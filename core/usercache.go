package core

import (
	"sync"
	"time"
)

// userExistsTTL is how long a replica trusts that a user it found still exists. A deletion on
// any replica clears the answer at once through the event bus; the TTL only bounds how long an
// answer survives an event that was lost.
const userExistsTTL = 5 * time.Second

// userExistsMax bounds the cache; past it, expired answers are swept, and if that is not
// enough the cache starts over.
const userExistsMax = 100_000

// userExistence remembers which users were found to exist, so that resolving a session, which
// happens on every request, does not read the database each time.
//
// An answer read from the database before a deletion may arrive after the deletion cleared the
// cache; the generation, bumped by every forget, lets remember drop such a stale answer.
type userExistence struct {
	mu    sync.Mutex
	gen   uint64
	until map[string]time.Time
}

func newUserExistence() *userExistence { return &userExistence{until: map[string]time.Time{}} }

// known reports whether uid was recently found to exist and has not been forgotten since.
func (e *userExistence) known(uid string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	until, ok := e.until[uid]
	return ok && time.Now().Before(until)
}

// generation is taken before reading the database, and handed to remember with the answer.
func (e *userExistence) generation() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.gen
}

// remember records that uid exists, unless some user was forgotten since gen was taken: the
// answer may then predate that user's deletion.
func (e *userExistence) remember(uid string, gen uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if gen != e.gen {
		return
	}
	now := time.Now()
	if len(e.until) >= userExistsMax {
		for k, until := range e.until {
			if !now.Before(until) {
				delete(e.until, k)
			}
		}
		if len(e.until) >= userExistsMax {
			clear(e.until)
		}
	}
	e.until[uid] = now.Add(userExistsTTL)
}

// forget drops what is known of uid, when it is deleted.
func (e *userExistence) forget(uid string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gen++
	delete(e.until, uid)
}

// forgetAll drops every answer, after a restore replaced the users.
func (e *userExistence) forgetAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gen++
	clear(e.until)
}
