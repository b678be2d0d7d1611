package controlplane

import (
	"net/http"
	"strings"
	"testing"
)

// TestRotateKeyOnlyThroughTheControlPlane: the admin proxy refuses rotateApiKey, however the
// path or the field is spelled, naming the endpoint that rotates; the key the control plane
// shows keeps working, and the proxy still changes the other settings.
func TestRotateKeyOnlyThroughTheControlPlane(t *testing.T) {
	p := newTestPlane(t)
	d := p.developer()
	d.createBackend("shop")
	send := func(method, rawPath, body string) *resp {
		t.Helper()
		req, err := http.NewRequest(method, p.url("admin", "/"), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = rawPath // on the wire as written, neither cleaned nor re-escaped
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(csrfHeader, d.csrf())
		return do(t, d.http, req)
	}
	for _, c := range []struct{ path, body string }{
		{"/api/backends/shop/admin/settings", `{"rotateApiKey":true}`},
		{"/api/backends/shop/admin/settings", `{"corsOrigins":["https://a.example"],"rotateApiKey":true}`},
		{"/api/backends/shop/admin/settings", `{"ROTATEAPIKEY":true}`},
		{"/api/backends/shop/admin/settings", `{"rotateApiKey":false,"rotateApiKey":true}`},
		{"/api/backends/shop/admin/settings/", `{"rotateApiKey":true}`},
		{"/api/backends/shop/admin/%73ettings", `{"rotateApiKey":true}`},
		{"/api/backends/shop/admin//settings", `{"rotateApiKey":true}`},
	} {
		for _, method := range []string{http.MethodPatch, http.MethodPost, http.MethodPut} {
			r := send(method, c.path, c.body)
			if r.status < 400 {
				t.Fatalf("%s %s %s = %d %s: the proxy let the key rotate", method, c.path, c.body, r.status, r.body)
			}
			if method == http.MethodPatch && c.path == "/api/backends/shop/admin/settings" {
				e := r.expectError(http.StatusForbidden, "rotate_key_through_control_plane")
				if !strings.Contains(e.Message, "POST /api/backends/shop/api-key") {
					t.Errorf("message %q does not name the endpoint that rotates", e.Message)
				}
			}
		}
	}
	key := d.mustStatus(http.StatusOK, d.get("/api/backends/shop")).backend().APIKey
	u := p.endUser("shop", key)
	u.mustStatus(http.StatusCreated, u.send(http.MethodPost, "/auth/register", map[string]any{"email": "ann@example.com", "password": "password123"}))

	// Everything else about the settings still goes through.
	r := send(http.MethodPatch, "/api/backends/shop/admin/settings", `{"corsOrigins":["https://a.example"],"rotateApiKey":false}`)
	d.mustStatus(http.StatusOK, r)
	if !strings.Contains(string(r.body), "https://a.example") || strings.Contains(string(r.body), `"apiKey"`) {
		t.Fatalf("settings patch answered %s", r.body)
	}
	u.mustStatus(http.StatusCreated, u.send(http.MethodPost, "/auth/register", map[string]any{"email": "bob@example.com", "password": "password123"}))
}
