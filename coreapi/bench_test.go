package coreapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/internal/teststore"
	"github.com/backpackhq/backpack/tools/ephemeral"
)

// benchAPI is one replica driven in-process through its handler: no network, an in-process
// store (newTestStore) and the in-memory ephemeral store, with a signed-in user's bearer token.
type benchAPI struct {
	b       *testing.B
	handler http.Handler
	token   string
}

func benchNewAPI(b *testing.B) *benchAPI {
	b.Helper()
	cfg := Config{APIKey: testAPIKey, AdminToken: testAdminToken, FilesDir: b.TempDir(), SiteDir: b.TempDir(),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	srv, err := New(context.Background(), cfg, teststore.New(b), ephemeral.NewMemory())
	if err != nil {
		b.Fatal(err)
	}
	a := &benchAPI{b: b, handler: srv.Handler()}
	creds := `{"email":"bench@example.com","password":"password123"}`
	a.mustStatus(http.StatusCreated, a.request(http.MethodPost, "/auth/register", creds))
	var tok tokenResponse
	if err := json.Unmarshal(a.mustStatus(http.StatusOK, a.request(http.MethodPost, "/auth/token", creds)).Body.Bytes(), &tok); err != nil {
		b.Fatal(err)
	}
	a.token = tok.Token
	a.mustStatus(http.StatusCreated, a.request(http.MethodPost, "/collections", `{"name":"items"}`))
	return a
}

// request runs one request through the handler with the API key, the bearer token once there
// is one, and a JSON body when body is not empty.
func (a *benchAPI) request(method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-API-Key", testAPIKey)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	return rec
}

func (a *benchAPI) mustStatus(want int, rec *httptest.ResponseRecorder) *httptest.ResponseRecorder {
	a.b.Helper()
	if rec.Code != want {
		a.b.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body)
	}
	return rec
}

// benchItem is a small, realistic document body.
func benchItem(i int) string {
	return fmt.Sprintf(`{"title":"Item %d","price":%d.99,"inStock":%t,"tags":["red","sale"],"dimensions":{"w":30,"h":20,"unit":"cm"}}`,
		i, i%500, i%3 != 0)
}

func BenchmarkCreateDocument(b *testing.B) {
	a := benchNewAPI(b)
	body := benchItem(1)
	for b.Loop() {
		a.mustStatus(http.StatusCreated, a.request(http.MethodPost, "/items", body))
	}
}

func BenchmarkListDocuments20(b *testing.B) {
	a := benchNewAPI(b)
	for i := range 1000 {
		a.mustStatus(http.StatusCreated, a.request(http.MethodPost, "/items", benchItem(i)))
	}
	b.ResetTimer()
	for b.Loop() {
		a.mustStatus(http.StatusOK, a.request(http.MethodGet, "/items?limit=20", ""))
	}
}
