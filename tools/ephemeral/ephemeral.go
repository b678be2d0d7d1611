// Package ephemeral holds the short-lived state an API replica shares with its siblings:
// sessions, rate-limit counters and a publish/subscribe bus for events every replica must see
// (websocket broadcasts, settings changes). Redis is the production store so that every replica
// sees the same sessions and events; Memory is the embedded default's in-process equivalent.
package ephemeral

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a session does not exist or has expired.
var ErrNotFound = errors.New("not found")

// Store is what the API needs from its shared short-lived state.
type Store interface {
	// PutSession records that the session key belongs to userID until ttl passes.
	PutSession(ctx context.Context, key, userID string, ttl time.Duration) error
	// Session returns the user a live session key belongs to, or ErrNotFound.
	Session(ctx context.Context, key string) (userID string, err error)
	// DeleteSession ends one session; ending a missing session is not an error.
	DeleteSession(ctx context.Context, key string) error
	// DeleteUserSessions ends every session of a user, so a deleted user is signed out at once.
	DeleteUserSessions(ctx context.Context, userID string) error
	// Hit adds one to the counter key, which resets window after its first hit, and returns the
	// new count and the time left until it resets.
	Hit(ctx context.Context, key string, window time.Duration) (count int64, resetIn time.Duration, err error)
	// Count returns a counter's value and the time left until it resets (0, 0 when absent).
	Count(ctx context.Context, key string) (count int64, resetIn time.Duration, err error)
	// Reset removes a counter.
	Reset(ctx context.Context, key string) error
	// Reserve adds one to the counter key unless that would take it over limit, in one atomic
	// step, so concurrent callers can never together pass the limit. Like Hit, the counter
	// resets window after its first hit. ok says whether a place was taken; resetIn is the
	// time left until the counter resets either way.
	Reserve(ctx context.Context, key string, limit int64, window time.Duration) (ok bool, resetIn time.Duration, err error)
	// Release gives back one place taken by Reserve (or Hit). A counter never goes below
	// zero, and one that has reset meanwhile is left alone, unless it was hit again since:
	// then the new window loses one count (a window cannot be told from the next).
	Release(ctx context.Context, key string) error
	// Publish sends payload to every current subscriber of channel, on every replica. Nobody
	// listening is not an error: events are for whoever is there to hear them.
	Publish(ctx context.Context, channel string, payload []byte) error
	// Subscribe delivers the payloads published on channel until ctx ends or the returned
	// Subscription is closed. Only payloads published after Subscribe returns are promised to
	// arrive. Delivery is at-most-once and in publish order per publisher: a subscriber that
	// falls behind loses payloads rather than slowing publishers down.
	Subscribe(ctx context.Context, channel string) (*Subscription, error)
	// Ping reports whether the store is reachable, for readiness.
	Ping(ctx context.Context) error
	// Close releases connections and ends live subscriptions, closing their C.
	Close() error
}
