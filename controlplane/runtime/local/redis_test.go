package local

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/backpackhq/backpack/internal/testenv"
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
