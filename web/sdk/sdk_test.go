package sdk

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestServesBothFormsAndTypes(t *testing.T) {
	h := Handler()
	for path, want := range map[string]string{
		"/sdk.js":   "globalThis.createSdk = createSdk",
		"/sdk.mjs":  "export { createSdk, BackpackError",
		"/sdk.d.ts": "createSdk",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) || rec.Header().Get("ETag") == "" {
			t.Fatalf("GET %s = %d, %s", path, rec.Code, rec.Header())
		}
		if path == "/sdk.js" && strings.Contains(rec.Body.String(), "\nexport ") {
			t.Fatal("the classic script contains an export statement")
		}
		again := httptest.NewRequest(http.MethodGet, path, nil)
		again.Header.Set("If-None-Match", rec.Header().Get("ETag"))
		rec2 := httptest.NewRecorder()
		h.ServeHTTP(rec2, again)
		if rec2.Code != http.StatusNotModified {
			t.Fatalf("revalidation of %s = %d", path, rec2.Code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sdk.exe", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("unknown file = %d", rec.Code)
	}
}
