package coreapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/tools/ephemeral"
)

func TestAPIKey(t *testing.T) {
	api := newTestAPI(t)
	c := api.client()
	c.apiKey = ""
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json"} {
		c.mustStatus(http.StatusOK, c.get(p))
	}
	for _, p := range []string{"/collections", "/auth/me", "/files", "/cars", "/cars/0123456789abcdef01234567", "/nope/a/b"} {
		c.expectError(c.get(p), 401, "missing_api_key")
	}
	c.expectError(c.post("/auth/login", map[string]string{"email": "a@b.co", "password": "password123"}), 401, "missing_api_key")
	c.apiKey = "wrong-key-0123456789"
	c.expectError(c.get("/collections"), 401, "invalid_api_key")
	c.apiKey = testAPIKey + "x"
	c.expectError(c.get("/collections"), 401, "invalid_api_key")
	// The key may not travel in the query string on HTTP routes.
	c.apiKey = ""
	c.expectError(c.get("/collections?apiKey="+testAPIKey), 401, "missing_api_key")
}

func TestCORS(t *testing.T) {
	api := newTestAPI(t)
	c := api.client()
	c.apiKey = ""
	c.header.Set("Origin", "https://shop.example.com")
	c.header.Set("Access-Control-Request-Method", "POST")
	c.header.Set("Access-Control-Request-Headers", "content-type,x-api-key")
	r := c.raw(http.MethodOptions, "/auth/login", nil, "")
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" ||
		r.header.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(strings.ToLower(r.header.Get("Access-Control-Allow-Headers")), "x-api-key") {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	c.header.Set("Origin", "https://evil.example.net")
	r = c.raw(http.MethodOptions, "/auth/login", nil, "")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from a foreign origin allowed: %v", r.header)
	}
	c.apiKey = testAPIKey
	c.header = http.Header{"Origin": {"https://shop.example.com"}}
	r = c.get("/healthz")
	if r.header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" || !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "X-Total-Count") {
		t.Fatalf("simple request: %v", r.header)
	}
	c.header = http.Header{"Origin": {"https://shop.example.com.evil.net"}}
	if r := c.get("/healthz"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("suffix origin allowed: %v", r.header)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	api := newTestAPI(t)
	c := api.client()
	ready := c.mustStatus(http.StatusOK, c.get("/readyz")).doc()
	if ready["status"] != "ok" {
		t.Fatalf("readyz = %v", ready)
	}
	if c.get("/healthz").header.Get("X-Request-Id") == "" {
		t.Fatal("no request id")
	}
	c.header.Set("X-Request-Id", "trace-abc.123")
	if got := c.get("/healthz").header.Get("X-Request-Id"); got != "trace-abc.123" {
		t.Fatalf("request id not kept: %q", got)
	}
	c.header.Set("X-Request-Id", "bad id\twith tabs")
	if got := c.get("/healthz").header.Get("X-Request-Id"); got == "bad id\twith tabs" || got == "" {
		t.Fatalf("malformed request id kept: %q", got)
	}

	// A replica whose Redis is gone is not ready, and says which dependency failed.
	eph, err := ephemeral.NewRedis(context.Background(), api.redis, "down:")
	if err != nil {
		t.Fatal(err)
	}
	down, err := New(context.Background(), api.cfg, api.store, eph)
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	_ = eph.Close()
	rec := serve(down.Handler(), http.MethodGet, "/readyz", nil)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"code":"not_ready"`) ||
		!strings.Contains(rec.Body.String(), `"redis":"unreachable"`) {
		t.Fatalf("readyz with Redis down: %d %s", rec.Code, rec.Body)
	}
}

func TestNoStackTraceOrDriverMessage(t *testing.T) {
	api := newTestAPI(t)
	c, _ := api.signedIn()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "items"}))
	for _, r := range []*response{c.get("/items?filter=%7B%22a%22%3A%7B%22%24regex%22%3A%22(%3F%3D)%22%7D%7D"), c.get("/items/zz")} {
		if strings.Contains(string(r.body), "goroutine") || strings.Contains(string(r.body), "mongo") || r.status >= 500 {
			t.Fatalf("leaky error: %d %s", r.status, r.body)
		}
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	api := newTestAPI(t)
	c, _ := api.signedIn()
	c.expectError(c.get("/a/b/c"), 404, "collection_not_found")
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "cars"}))
	c.expectError(c.get("/cars/0123456789abcdef01234567/extra"), 400, "invalid_id")
	c.expectError(c.send(http.MethodDelete, "/collections", nil), 405, "method_not_allowed")
	c.expectError(c.get("/admin/users"), 404, "collection_not_found")
	c.expectError(c.get("/metrics"), 404, "collection_not_found")
}

func TestAdminMetrics(t *testing.T) {
	api := newTestAPI(t)
	c := api.client()
	c.get("/healthz")
	req, _ := http.NewRequest(http.MethodGet, api.admin+"/metrics", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("metrics without token: %d", res.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer wrong-token-0123456789")
	if res, _ = http.DefaultClient.Do(req); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("metrics with wrong token: %d", res.StatusCode)
	}
	res.Body.Close()
	rec := serve(api.srv.AdminHandler(), http.MethodGet, "/metrics", http.Header{"Authorization": {"Bearer " + testAdminToken}})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `backpack_api_http_requests_total{method="GET",route="/healthz",status="200"}`) {
		t.Fatalf("metrics: %d %.500s", rec.Code, rec.Body)
	}
}
