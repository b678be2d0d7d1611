package controlplane

import (
	"net/http"
	"strings"
	"testing"
)

// Cookies a tenant's site could plant: NAME.DOMAIN shares its registrable domain with
// admin.DOMAIN, so its scripts can set cookies for the whole domain.

// expectCleared checks that the answer removes each cookie on the host itself.
func expectCleared(t *testing.T, header http.Header, names ...string) {
	t.Helper()
	for _, name := range names {
		cleared := false
		for _, c := range (&http.Response{Header: header}).Cookies() {
			if c.Name == name && c.Domain == "" && c.Path == "/" && c.MaxAge < 0 {
				cleared = true
			}
		}
		if !cleared {
			t.Errorf("the answer does not clear %s: %q", name, header.Values("Set-Cookie"))
		}
	}
}

// TestDuplicateSessionCookiesRefused: a request with two session cookies (the developer's and one
// another host planted for the whole domain) is refused whatever their order, and both cookies
// are cleared, so the developer is never signed into the planter's account.
func TestDuplicateSessionCookiesRefused(t *testing.T) {
	p := newTestPlane(t)
	victim := p.developer()
	attacker := p.developer()
	mine, planted := victim.sessionToken(), attacker.sessionToken()
	for _, cookies := range []string{
		sessionCookie + "=" + planted + "; " + sessionCookie + "=" + mine,
		sessionCookie + "=" + mine + "; " + sessionCookie + "=" + planted,
		sessionCookie + "=" + mine + "; " + csrfCookie + "=x; " + csrfCookie + "=y",
	} {
		r := p.anonymous().withHeaders(http.MethodGet, "/api/auth/me", nil, http.Header{"Cookie": {cookies}})
		r.expectError(http.StatusUnauthorized, "ambiguous_session")
		expectCleared(t, r.header, sessionCookie, csrfCookie)
		// The planted copy lives on the parent domain: it is cleared there too.
		if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), "\n"), "Domain=localhost") {
			t.Errorf("the parent domain's copies are not cleared: %q", r.header.Values("Set-Cookie"))
		}
	}
	// One cookie of each name is fine, and pages need no session at all.
	victim.mustStatus(http.StatusOK, victim.get("/api/auth/me"))
	victim.mustStatus(http.StatusOK, victim.withHeaders(http.MethodGet, "/", nil, http.Header{"Cookie": {sessionCookie + "=a; " + sessionCookie + "=b"}}))
}

// TestHostCookiesOverHTTPS: with https as the public scheme, the session and CSRF cookies are
// __Host- cookies (Secure, Path=/, no Domain), which no other host can set; a plain bkpk_admin
// cookie, which one could, no longer authenticates.
func TestHostCookiesOverHTTPS(t *testing.T) {
	p := newTestPlane(t, withConfig(func(c *Config) { c.PublicScheme = "https" }))
	d := p.anonymous()
	r := d.mustStatus(http.StatusCreated, registerAs(d, "ann@example.com", "a long password", nil))
	cookies := r.setCookies()
	session, csrf := cookies["__Host-bkpk_admin"], cookies["__Host-bkpk_csrf"]
	if session == nil || csrf == nil {
		t.Fatalf("Set-Cookie = %q, want __Host-bkpk_admin and __Host-bkpk_csrf", r.header.Values("Set-Cookie"))
	}
	for _, c := range []*http.Cookie{session, csrf} {
		if !c.Secure || c.Path != "/" || c.Domain != "" || c.SameSite != http.SameSiteStrictMode {
			t.Errorf("cookie %s = %+v, want Secure, Path=/, no Domain, SameSite=Strict", c.Name, c)
		}
	}
	if !session.HttpOnly || csrf.HttpOnly {
		t.Errorf("HttpOnly: session %v, csrf %v; want the session only", session.HttpOnly, csrf.HttpOnly)
	}
	if cookies[sessionCookie] != nil || cookies[csrfCookie] != nil {
		t.Errorf("unprefixed cookies set over https: %q", r.header.Values("Set-Cookie"))
	}

	// The browser sends the cookies back under their prefixed names.
	withCookie := func(method, path, cookie, csrfHeaderValue string) *resp {
		h := http.Header{"Cookie": {cookie}}
		if csrfHeaderValue != "" {
			h.Set(csrfHeader, csrfHeaderValue)
		}
		return p.anonymous().withHeaders(method, path, nil, h)
	}
	d.mustStatus(http.StatusOK, withCookie(http.MethodGet, "/api/auth/me", "__Host-bkpk_admin="+session.Value, ""))
	withCookie(http.MethodGet, "/api/auth/me", sessionCookie+"="+session.Value, "").expectError(http.StatusUnauthorized, "not_signed_in")
	dup := withCookie(http.MethodGet, "/api/auth/me", "__Host-bkpk_admin="+session.Value+"; __Host-bkpk_admin=other", "")
	dup.expectError(http.StatusUnauthorized, "ambiguous_session")
	expectCleared(t, dup.header, "__Host-bkpk_admin", "__Host-bkpk_csrf")
	for _, c := range (&http.Response{Header: dup.header}).Cookies() {
		if !c.Secure || c.Domain != "" {
			t.Errorf("clearing %s: %+v; a __Host- cookie is only cleared with Secure and no Domain", c.Name, c)
		}
	}

	// Signing out clears the prefixed cookies.
	out := d.mustStatus(http.StatusNoContent, withCookie(http.MethodPost, "/api/auth/logout", "__Host-bkpk_admin="+session.Value, csrf.Value))
	expectCleared(t, out.header, "__Host-bkpk_admin", "__Host-bkpk_csrf")
	withCookie(http.MethodGet, "/api/auth/me", "__Host-bkpk_admin="+session.Value, "").expectError(http.StatusUnauthorized, "not_signed_in")
}

// TestDevBackendCORSOnlyItsOwnSite: in backpack dev every site is NAME.localhost, so a backend
// that trusted every *.localhost origin would let any other backend's site call it with its
// users' cookies. It trusts its own site (any port) and plain localhost dev servers only.
func TestDevBackendCORSOnlyItsOwnSite(t *testing.T) {
	p := newTestPlane(t)
	d := p.developer()
	d.createBackend("shop")
	preflight := func(origin string) string {
		req, _ := http.NewRequest(http.MethodOptions, p.url("shop-be", "/collections"), nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", http.MethodGet)
		req.Header.Set("Access-Control-Request-Headers", "x-api-key")
		return do(t, &http.Client{Transport: p.transport()}, req).header.Get("Access-Control-Allow-Origin")
	}
	for _, origin := range []string{p.url("shop", ""), "http://shop.localhost:5173", "http://localhost:5173", "http://127.0.0.1:3000", "http://[::1]:8000"} {
		if got := preflight(origin); got != origin {
			t.Errorf("origin %s: Access-Control-Allow-Origin %q, want it allowed", origin, got)
		}
	}
	for _, origin := range []string{p.url("other", ""), "http://other.localhost:5173", p.url("admin", ""), "http://shop-be.localhost:1", "https://shop.localhost"} {
		if got := preflight(origin); got != "" {
			t.Errorf("origin %s: Access-Control-Allow-Origin %q, want it refused", origin, got)
		}
	}
}
