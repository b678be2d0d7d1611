package coreapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/internal/openapicheck"
	"github.com/backpackhq/backpack/internal/teststore"
	"github.com/backpackhq/backpack/tools/ephemeral"
)

func openapiTestServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(context.Background(), Config{APIKey: "k-0123456789abcdef", AdminToken: "a-0123456789abcdef", FilesDir: t.TempDir(), SiteDir: t.TempDir()},
		teststore.New(t), ephemeral.NewMemory())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestOpenAPIMatchesRoutes keeps openapi.json in step with the public router: every route is
// documented and every documented operation is a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, _ := openapicheck.Parse(t, openAPIDocument)
	openapicheck.MatchRoutes(t, doc, openapiTestServer(t).public.Routes(), "publicRouter()")
}

// TestOpenAPIDocumentIsWellFormed checks the version, that every operation has an id and a
// response, that path parameters are declared, that exactly the unauthenticated paths drop
// the API key, and that every $ref resolves.
func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	doc, raw := openapicheck.Parse(t, openAPIDocument)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	if doc.Info.Title == "" || doc.Info.Version == "" {
		t.Error("info.title and info.version are required")
	}
	if len(doc.Paths) == 0 {
		t.Fatal("the document has no paths")
	}

	// The global requirement must ask for the API key in every alternative.
	if len(doc.Security) == 0 {
		t.Error("the document has no global security requirement")
	}
	for i, req := range doc.Security {
		if _, ok := req["apiKey"]; !ok {
			t.Errorf("global security alternative %d does not require the apiKey scheme", i)
		}
		for name := range req {
			if _, ok := doc.Components.SecuritySchemes[name]; !ok {
				t.Errorf("global security names unknown scheme %q", name)
			}
		}
	}

	for key, op := range openapicheck.CheckOperations(t, doc, raw) {
		path := key[strings.Index(key, " ")+1:]

		public := slices.Contains(unauthenticatedPaths, path)
		switch {
		case public && (op.Security == nil || len(*op.Security) != 0):
			t.Errorf("%s needs no API key, so it must set security: []", key)
		case !public && op.Security != nil:
			t.Errorf("%s needs the API key, so it must not override the global security", key)
		}
	}

	refs := openapicheck.Refs(raw)
	if len(refs) == 0 {
		t.Error("the document uses no $ref at all; expected shared components")
	}
	for _, ref := range refs {
		if _, err := openapicheck.Resolve(raw, ref); err != nil {
			t.Errorf("$ref %q: %v", ref, err)
		}
	}
}

// TestOpenAPIServedWithoutKey checks that tooling can fetch the document without an API key.
func TestOpenAPIServedWithoutKey(t *testing.T) {
	s := openapiTestServer(t)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d, want 200; body %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Errorf("served document has openapi = %v", doc["openapi"])
	}

	// A documented route that does need the key still refuses without it.
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/collections", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("GET /collections without a key = %d, want 401", rec.Code)
	}
}
