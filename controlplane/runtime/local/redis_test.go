package local

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// TestSessionsSurviveRestartsWithRedis: with a Redis configured, an end user's session outlives
// the backend's instance and the whole runtime; two backends' sessions stay apart.
func TestSessionsSurviveRestartsWithRedis(t *testing.T) {
	redisURL := testenv.Redis(t)
	dir := t.TempDir()
	open := func() *Runtime {
		r, err := New(context.Background(), Config{DataDir: dir, RedisURL: redisURL,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := open()
	spec, other := testSpec("kept", "api-key-of-kept-0123456789"), testSpec("apart", "api-key-of-apart-0123456789")
	mustApply(t, r, spec)
	mustApply(t, r, other)
	if got := public(t, r, "kept", spec.APIKey, http.MethodPost, "/auth/register",
		map[string]string{"email": testEmail, "password": testPassword}).status; got != http.StatusCreated {
		t.Fatalf("register = %d", got)
	}
	var tok struct{ Token string }
	public(t, r, "kept", spec.APIKey, http.MethodPost, "/auth/token", map[string]string{"email": testEmail, "password": testPassword}).json(t, &tok)
	if tok.Token == "" {
		t.Fatal("no token")
	}
	me := func(r *Runtime, name, apiKey string) int {
		h, ok := r.PublicHandler(name)
		if !ok {
			t.Fatalf("no public handler for %s", name)
		}
		req := httptest.NewRequest(http.MethodGet, "/auth/me", nil)
		req.Header.Set("X-API-Key", apiKey)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		return serve(h, req).status
	}
	if got := me(r, "kept", spec.APIKey); got != http.StatusOK {
		t.Fatalf("me before the restart = %d", got)
	}
	if got := me(r, "apart", other.APIKey); got != http.StatusUnauthorized {
		t.Fatalf("another backend accepted the session: %d", got)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = open()
	defer r.Close()
	mustApply(t, r, spec)
	if got := me(r, "kept", spec.APIKey); got != http.StatusOK {
		t.Fatalf("me after the restart = %d; the session should have survived in Redis", got)
	}
}

// TestPurgeEndsSessionsWithRedis: purging a backend removes every key it had in the shared
// Redis, and a backend created again under the same name honours none of the old tokens.
func TestPurgeEndsSessionsWithRedis(t *testing.T) {
	redisURL := testenv.Redis(t)
	r, err := New(context.Background(), Config{DataDir: t.TempDir(), RedisURL: redisURL,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	spec, kept := testSpec("reuse", "api-key-of-reuse-0123456789"), testSpec("kept", "api-key-of-kept-0123456789")
	mustApply(t, r, spec)
	mustApply(t, r, kept)
	token := func(name, apiKey string) string {
		creds := map[string]string{"email": testEmail, "password": testPassword}
		wantStatus(t, "register", public(t, r, name, apiKey, http.MethodPost, "/auth/register", creds), http.StatusCreated)
		var tok struct{ Token string }
		public(t, r, name, apiKey, http.MethodPost, "/auth/token", creds).json(t, &tok)
		if tok.Token == "" {
			t.Fatal("no token")
		}
		return tok.Token
	}
	old, keptToken := token("reuse", spec.APIKey), token("kept", kept.APIKey)
	wantStatus(t, "create collection", publicAs(t, r, "reuse", spec.APIKey, old, http.MethodPost, "/collections", map[string]string{"name": "notes"}), http.StatusCreated)

	mustRemove(t, r, "reuse", true)
	rdb := redis.NewClient(mustParseRedisURL(t, redisURL))
	defer rdb.Close()
	if left, err := rdb.Keys(context.Background(), "bkpk:reuse:*").Result(); err != nil || len(left) != 0 {
		t.Fatalf("keys of the purged backend left in Redis: %v (%v)", left, err)
	}
	if left, err := rdb.Keys(context.Background(), "bkpk:kept:*").Result(); err != nil || len(left) == 0 {
		t.Fatalf("the other backend's keys went too: %v (%v)", left, err)
	}

	mustApply(t, r, spec)
	token("reuse", spec.APIKey)
	wantStatus(t, "me with the old token", publicAs(t, r, "reuse", spec.APIKey, old, http.MethodGet, "/auth/me", nil), http.StatusUnauthorized)
	wantStatus(t, "write with the old token", publicAs(t, r, "reuse", spec.APIKey, old, http.MethodPost, "/collections", map[string]string{"name": "notes"}), http.StatusUnauthorized)
	wantStatus(t, "me on the other backend", publicAs(t, r, "kept", kept.APIKey, keptToken, http.MethodGet, "/auth/me", nil), http.StatusOK)
}

func mustParseRedisURL(t *testing.T, url string) *redis.Options {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return opts
}
