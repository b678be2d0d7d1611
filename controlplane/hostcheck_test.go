package controlplane

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// asHost sends a request to the plane with the given Host header.
func (d *dev) asHost(host, method, path string, body any) *resp {
	d.p.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, err := http.NewRequest(method, d.p.url("admin", path), bytes.NewReader(b))
	if err != nil {
		d.p.t.Fatal(err)
	}
	req.Host = host
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(d.p.t, d.http, req)
}

// TestUnknownHostRefused: the control plane answers only for its own hosts, so a rebound DNS
// name cannot register the operator of a local control plane; health checks and metrics answer
// for any host, as orchestrators and Prometheus call them by address.
func TestUnknownHostRefused(t *testing.T) {
	p := newTestPlane(t)
	anon := p.anonymous()
	port := p.port()
	for _, host := range []string{"evil.example", "evil.example:" + port, "localhost.evil.example", "admin.localhost.evil.example",
		"10.0.0.5", "[::2]:" + port, "shop.example.com"} {
		e := wantError(anon.asHost(host, http.MethodPost, "/api/auth/register", map[string]any{"email": "op@example.com", "password": "a long password"}),
			http.StatusMisdirectedRequest, "misdirected_request")
		if e.Message == "" {
			t.Fatalf("host %q: no message", host)
		}
		wantError(anon.asHost(host, http.MethodGet, "/api/auth/me", nil), http.StatusMisdirectedRequest, "misdirected_request")
		wantError(anon.asHost(host, http.MethodGet, "/no/such/path", nil), http.StatusMisdirectedRequest, "misdirected_request")
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			anon.mustStatus(http.StatusOK, anon.asHost(host, http.MethodGet, path, nil))
		}
	}
	// Nobody was registered: the first account below is still the operator.
	for _, host := range []string{"admin.localhost:" + port, "ADMIN.localhost.", "localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port, "[::1]", "localhost"} {
		wantError(anon.asHost(host, http.MethodGet, "/api/auth/me", nil), http.StatusUnauthorized, "not_signed_in")
	}
	var out signedInJSON
	anon.mustStatus(http.StatusCreated, anon.asHost("127.0.0.1:"+port, http.MethodPost, "/api/auth/register",
		map[string]any{"email": "op@example.com", "password": "a long password"})).decode(&out)
	if out.Developer.Role != "admin" {
		t.Fatalf("first account after refused requests: %+v", out.Developer)
	}
}

// TestOwnHostsOnADomain: with a real domain only admin.DOMAIN is the control plane's; loopback
// names are refused like any other.
func TestOwnHostsOnADomain(t *testing.T) {
	p := newTestPlane(t, withConfig(func(c *Config) { c.Domain = "example.com" }))
	anon := p.anonymous()
	for _, host := range []string{"admin.example.com", "admin.example.com:443", "Admin.Example.COM.", "admin.example.com:" + p.port()} {
		wantError(anon.asHost(host, http.MethodGet, "/api/auth/me", nil), http.StatusUnauthorized, "not_signed_in")
	}
	for _, host := range []string{"example.com", "127.0.0.1:" + p.port(), "localhost", "admin.localhost", "[::1]", "admin.example.com.evil.example"} {
		wantError(anon.asHost(host, http.MethodGet, "/api/auth/me", nil), http.StatusMisdirectedRequest, "misdirected_request")
		anon.mustStatus(http.StatusOK, anon.asHost(host, http.MethodGet, "/healthz", nil))
	}
}
