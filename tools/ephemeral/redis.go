package ephemeral

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Store backed by a Redis server shared by all replicas of one backend.
type Redis struct {
	client *redis.Client
	prefix string
}

// NewRedis connects to the Redis server at url (redis://host:port/db). Keys are namespaced
// with prefix so a Redis shared for tests or by mistake cannot mix backends.
func NewRedis(ctx context.Context, url, prefix string) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	r := &Redis{client: redis.NewClient(opts), prefix: prefix}
	if err := r.Ping(ctx); err != nil {
		_ = r.client.Close()
		return nil, err
	}
	return r, nil
}

func (r *Redis) sessionKey(key string) string { return r.prefix + "session:" + key }
func (r *Redis) userKey(userID string) string { return r.prefix + "user-sessions:" + userID }
func (r *Redis) counterKey(key string) string { return r.prefix + "counter:" + key }

// channelName namespaces pub/sub channels like keys: Redis channels are server-wide, ignoring
// the database number, so without the prefix backends sharing a server would hear each other.
func (r *Redis) channelName(channel string) string { return r.prefix + "channel:" + channel }

// PutSession implements Store. The user's session index lives as long as its newest session.
func (r *Redis) PutSession(ctx context.Context, key, userID string, ttl time.Duration) error {
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.sessionKey(key), userID, ttl)
		p.SAdd(ctx, r.userKey(userID), key)
		p.Expire(ctx, r.userKey(userID), ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store session: %w", err)
	}
	return nil
}

// Session implements Store.
func (r *Redis) Session(ctx context.Context, key string) (string, error) {
	userID, err := r.client.Get(ctx, r.sessionKey(key)).Result()
	if errors.Is(err, redis.Nil) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read session: %w", err)
	}
	return userID, nil
}

// DeleteSession implements Store.
func (r *Redis) DeleteSession(ctx context.Context, key string) error {
	userID, err := r.Session(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.sessionKey(key))
		p.SRem(ctx, r.userKey(userID), key)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions implements Store.
func (r *Redis) DeleteUserSessions(ctx context.Context, userID string) error {
	keys, err := r.client.SMembers(ctx, r.userKey(userID)).Result()
	if err != nil {
		return fmt.Errorf("list user sessions: %w", err)
	}
	del := []string{r.userKey(userID)}
	for _, k := range keys {
		del = append(del, r.sessionKey(k))
	}
	if err := r.client.Del(ctx, del...).Err(); err != nil {
		return fmt.Errorf("delete user sessions: %w", err)
	}
	return nil
}

// Hit implements Store. The expiry is set only by the first hit (NX), so a steady stream of
// hits cannot keep a window open forever.
func (r *Redis) Hit(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	k := r.counterKey(key)
	var incr *redis.IntCmd
	var ttl *redis.DurationCmd
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, k)
		p.Do(ctx, "pexpire", k, window.Milliseconds(), "NX")
		ttl = p.PTTL(ctx, k)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("count %s: %w", key, err)
	}
	return incr.Val(), max(ttl.Val(), 0), nil
}

// Count implements Store.
func (r *Redis) Count(ctx context.Context, key string) (int64, time.Duration, error) {
	k := r.counterKey(key)
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, k)
		ttl = p.PTTL(ctx, k)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read counter %s: %w", key, err)
	}
	n, err := get.Int64()
	if err != nil {
		return 0, 0, fmt.Errorf("read counter %s: %w", key, err)
	}
	return n, max(ttl.Val(), 0), nil
}

// reserveScript is Reserve in one step on the server: increment, refuse (and undo) over the
// limit. The expiry is set when the counter has none (a fresh counter), as Hit's NX does.
var reserveScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local ttl = redis.call('PTTL', KEYS[1])
if n > tonumber(ARGV[1]) then
	redis.call('DECR', KEYS[1])
	return {0, ttl}
end
return {1, ttl}
`)

// releaseScript gives one place back, unless the counter is gone (it reset), and deletes a
// counter that reaches zero rather than leave it at zero or below.
var releaseScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
	return 0
end
if redis.call('DECR', KEYS[1]) <= 0 then
	redis.call('DEL', KEYS[1])
end
return 1
`)

// Reserve implements Store.
func (r *Redis) Reserve(ctx context.Context, key string, limit int64, window time.Duration) (bool, time.Duration, error) {
	res, err := reserveScript.Run(ctx, r.client, []string{r.counterKey(key)}, limit, window.Milliseconds()).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("reserve %s: %w", key, err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("reserve %s: unexpected reply %v", key, res)
	}
	return res[0] == 1, max(time.Duration(res[1])*time.Millisecond, 0), nil
}

// Release implements Store.
func (r *Redis) Release(ctx context.Context, key string) error {
	if err := releaseScript.Run(ctx, r.client, []string{r.counterKey(key)}).Err(); err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	return nil
}

// Reset implements Store.
func (r *Redis) Reset(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.counterKey(key)).Err(); err != nil {
		return fmt.Errorf("reset counter %s: %w", key, err)
	}
	return nil
}

// Publish implements Store.
func (r *Redis) Publish(ctx context.Context, channel string, payload []byte) error {
	if err := r.client.Publish(ctx, r.channelName(channel), payload).Err(); err != nil {
		return fmt.Errorf("publish %s: %w", channel, err)
	}
	return nil
}

// Subscribe implements Store. Each subscription holds its own connection. It returns only once
// Redis has confirmed the subscription, so a Publish made after it returns cannot be missed.
//
// If the connection drops, go-redis reconnects and resubscribes on its own (its health check
// pings an idle connection every few seconds to notice a dead one); payloads published during
// the gap are lost, which is the at-most-once promise.
func (r *Redis) Subscribe(ctx context.Context, channel string) (*Subscription, error) {
	ps := r.client.Subscribe(ctx, r.channelName(channel))
	if err := awaitSubscribed(ctx, ps, r.client.Options().ReadTimeout); err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("subscribe %s: %w", channel, err)
	}
	msgs := ps.Channel()
	pumped := make(chan struct{})
	sub := newSubscription(ctx, func(*Subscription) error {
		err := ps.Close()
		<-pumped
		if errors.Is(err, redis.ErrClosed) {
			// The store was closed first and the pump below already ended the subscription.
			return nil
		}
		return err
	})
	go func() {
		defer close(pumped)
		for m := range msgs {
			sub.deliver([]byte(m.Payload))
		}
		close(sub.c)
		// msgs also ends when the store's client is closed under a live subscription; closing
		// the PubSub then stops go-redis's health check, which would otherwise ping forever.
		// When Close got here first this second close is a harmless ErrClosed.
		_ = ps.Close()
	}()
	return sub, nil
}

// awaitSubscribed reads replies until Redis confirms the subscription, bounded like any
// command by the client's read timeout and ctx's deadline, since Receive does not watch ctx.
func awaitSubscribed(ctx context.Context, ps *redis.PubSub, timeout time.Duration) error {
	for {
		msg, err := ps.ReceiveTimeout(ctx, timeout)
		if err != nil {
			return err
		}
		if _, ok := msg.(*redis.Subscription); ok {
			return nil
		}
	}
}

// DeleteAll removes every key under the store's prefix: sessions, session indexes and
// counters. It is for a backend that is purged, whose Redis is shared with others (the local
// runtime's): nothing of it may outlive it. The keys are found with SCAN, so a large Redis is
// not blocked while they are; a key written meanwhile may survive, so stop every writer first.
func (r *Redis) DeleteAll(ctx context.Context) error {
	if r.prefix == "" {
		return errors.New("delete all keys: the store has no prefix, so everything in Redis would go")
	}
	iter := r.client.Scan(ctx, 0, globEscape(r.prefix)+"*", 1000).Iterator()
	batch := make([]string, 0, 1000)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := r.client.Del(ctx, batch...).Err(); err != nil {
			return fmt.Errorf("delete keys under %q: %w", r.prefix, err)
		}
		batch = batch[:0]
		return nil
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("list keys under %q: %w", r.prefix, err)
	}
	return flush()
}

// globEscape quotes the characters that are special in a Redis MATCH pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\^`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Ping implements Store.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Close implements Store. Live subscriptions end as go-redis notices their connections closed.
func (r *Redis) Close() error { return r.client.Close() }
