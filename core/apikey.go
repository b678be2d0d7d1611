package core

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"time"
)

// Rotating the API key loses no request, on any replica:
//   - A key this replica does not know is checked again against the stored settings before it
//     is refused, so the new key works everywhere as soon as the rotation has answered, even on
//     a replica that has not yet heard of it. Those reloads are coalesced and spaced at least
//     unknownKeyReloadInterval apart, so a flood of wrong keys costs the database a few reads
//     a second, whatever its size.
//   - The key in force before a rotation stays valid for an overlap (Config.APIKeyOverlap), so
//     requests already sent with it, and clients still switching, succeed; a rotation may
//     revoke it at once instead (a leaked key).

// DefaultAPIKeyOverlap is how long the previous API key keeps working after a rotation unless
// the configuration says otherwise.
const DefaultAPIKeyOverlap = 10 * time.Second

// unknownKeyReloadInterval is the least time between two reloads of the settings caused by keys
// this replica does not know.
const unknownKeyReloadInterval = 250 * time.Millisecond

// unknownKeyReloadTimeout bounds one such reload.
const unknownKeyReloadTimeout = 5 * time.Second

// previousKey is the key in force before the last rotation, valid until a deadline.
type previousKey struct {
	digest [sha256.Size]byte
	until  time.Time
}

// keyReloads coalesces the reloads unknown keys cause.
type keyReloads struct {
	mu      sync.Mutex
	started time.Time     // when the latest reload started
	done    chan struct{} // closed when it has ended; nil before the first
	count   atomic.Int64
}

// APIKeyMatches reports whether key is the backend's API key in force, or the previous one
// during its overlap, as this replica last loaded them.
func (ls *Settings) APIKeyMatches(key string) bool {
	if ls.apiKey.Matches(key) {
		return true
	}
	prev := ls.previous.Load()
	if prev == nil || !time.Now().Before(prev.until) {
		return false
	}
	d := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(d[:], prev.digest[:]) == 1
}

// CheckAPIKey is APIKeyMatches, except that a key that does not match is checked again after a
// reload of the stored settings that started after this call: a key rotated on another replica
// before this request was sent is accepted.
func (ls *Settings) CheckAPIKey(ctx context.Context, key string) bool {
	if ls.APIKeyMatches(key) {
		return true
	}
	ls.reloadSince(ctx, time.Now())
	return ls.APIKeyMatches(key)
}

// UnknownKeyReloads is how many times keys this replica did not know made it reload the
// settings.
func (ls *Settings) UnknownKeyReloads() int64 { return ls.keyReloads.count.Load() }

// reloadSince returns once a reload of the settings that started at or after since has ended
// (or ctx has), starting one if needed, but never sooner than unknownKeyReloadInterval after
// the previous one: concurrent callers share one reload.
func (ls *Settings) reloadSince(ctx context.Context, since time.Time) {
	g := &ls.keyReloads
	for {
		g.mu.Lock()
		if g.done != nil {
			current := g.done
			select {
			case <-current:
			default:
				// A reload is under way: if it started late enough it is the one to wait for;
				// if not, wait for it to end, then look again.
				late := !g.started.Before(since)
				g.mu.Unlock()
				select {
				case <-current:
				case <-ctx.Done():
					return
				}
				if late {
					return
				}
				continue
			}
			if !g.started.Before(since) {
				g.mu.Unlock()
				return
			}
			if wait := time.Until(g.started.Add(unknownKeyReloadInterval)); wait > 0 {
				g.mu.Unlock()
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return
				}
				continue
			}
		}
		done := make(chan struct{})
		g.started, g.done = time.Now(), done
		g.mu.Unlock()
		g.count.Add(1)
		// Shared by every caller waiting for it: it does not end with this caller's request.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unknownKeyReloadTimeout)
		if err := ls.Reload(rctx); err != nil {
			ls.log.Warn("reload settings for an unknown API key", "err", err)
		}
		cancel()
		close(done)
		return
	}
}

// loadPreviousKey applies the stored previous key, if it belongs to the rotation in force.
func (ls *Settings) loadPreviousKey(st storedSettings, rotated bool) {
	if !rotated || st.PreviousKeyDigest == "" {
		ls.previous.Store(nil)
		return
	}
	d, err := hex.DecodeString(st.PreviousKeyDigest)
	until, terr := time.Parse(time.RFC3339Nano, st.PreviousKeyUntil)
	if err != nil || len(d) != sha256.Size || terr != nil {
		ls.previous.Store(nil)
		return
	}
	prev := &previousKey{until: until}
	copy(prev.digest[:], d)
	ls.previous.Store(prev)
}

// previousKeyUntil is when the previous key stops working, "" when none works.
func (ls *Settings) previousKeyUntil() string {
	prev := ls.previous.Load()
	if prev == nil || !time.Now().Before(prev.until) {
		return ""
	}
	return prev.until.UTC().Format(time.RFC3339Nano)
}
