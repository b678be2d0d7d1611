package coreapi

import (
	"net/http"
	"strings"
	"testing"
)

// End users' session cookies and what other hosts of the site can do to them: NAME.DOMAIN (and
// every other tenant's site) shares the registrable domain with NAME-be.DOMAIN.

// sessionCookiesIn is the session cookie headers of an answer by name.
func sessionCookiesIn(r *response) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Domain == "" {
			out[c.Name] = c
		}
	}
	return out
}

// TestDuplicateSessionCookiesRefused: two session cookies (one planted for the whole domain by
// another host) are refused with 401 and cleared, on the host and its parent domains, rather
// than the first one deciding who the user is.
func TestDuplicateSessionCookiesRefused(t *testing.T) {
	api := newTestAPI(t)
	victim, _ := api.signedIn()
	attacker, _ := api.signedIn()
	tokenOf := func(c *client) string {
		for _, ck := range c.http.Jar.Cookies(mustParse(api.url)) {
			if ck.Name == sessionCookie {
				return ck.Value
			}
		}
		t.Fatal("no session cookie in the jar")
		return ""
	}
	mine, planted := tokenOf(victim), tokenOf(attacker)
	for _, cookies := range []string{"bkpk_session=" + planted + "; bkpk_session=" + mine, "bkpk_session=" + mine + "; bkpk_session=" + planted} {
		c := api.client()
		c.header.Set("Cookie", cookies)
		r := c.get("/auth/me")
		c.expectError(r, http.StatusUnauthorized, "ambiguous_session")
		if ck := sessionCookiesIn(r)["bkpk_session"]; ck == nil || ck.MaxAge >= 0 || ck.Path != "/" {
			t.Errorf("the answer does not clear the cookie: %q", r.header.Values("Set-Cookie"))
		}
		// Served as shop-be.example.com, the copy planted on example.com is cleared too.
		req, _ := http.NewRequest(http.MethodGet, api.url+"/auth/me", nil)
		req.Host = "shop-be.example.com"
		req.Header.Set("X-API-Key", testAPIKey)
		req.Header.Set("Cookie", cookies)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := strings.Join(res.Header.Values("Set-Cookie"), "\n"); res.StatusCode != http.StatusUnauthorized || !strings.Contains(got, "Domain=example.com") {
			t.Errorf("%d, Set-Cookie %q: the parent domain's copy is not cleared", res.StatusCode, got)
		}
	}
	// One cookie signs in as before.
	victim.mustStatus(http.StatusOK, victim.get("/auth/me"))
	// Health checks and the SDK need no session, so stray cookies do not break a site.
	c := api.client()
	c.header.Set("Cookie", "bkpk_session=a; bkpk_session=b")
	c.mustStatus(http.StatusOK, c.get("/healthz"))
	c.mustStatus(http.StatusOK, c.get("/sdk.js"))
}

// TestHostSessionCookieOverHTTPS: a request that came over https gets a __Host- session
// cookie (Secure, Path=/, no Domain), which no other host can set, and only that name signs
// it in; over plain http the cookie keeps its plain name.
func TestHostSessionCookieOverHTTPS(t *testing.T) {
	api := newTestAPI(t)
	c := api.client()
	c.mustStatus(http.StatusCreated, c.post("/auth/register", map[string]string{"email": "ann@example.com", "password": "password123"}))
	c.header.Set("X-Forwarded-Proto", "https")
	r := c.mustStatus(http.StatusOK, c.post("/auth/login", map[string]string{"email": "ann@example.com", "password": "password123"}))
	ck := sessionCookiesIn(r)["__Host-bkpk_session"]
	if ck == nil || !ck.Secure || ck.Path != "/" || ck.Domain != "" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Fatalf("Set-Cookie = %q, want __Host-bkpk_session with Secure, Path=/, HttpOnly, SameSite=Lax and no Domain", r.header.Values("Set-Cookie"))
	}
	if sessionCookiesIn(r)["bkpk_session"] != nil {
		t.Errorf("an unprefixed session cookie over https: %q", r.header.Values("Set-Cookie"))
	}
	https := func(cookie string) *client {
		b := api.client()
		b.header.Set("X-Forwarded-Proto", "https")
		b.header.Set("Cookie", cookie)
		return b
	}
	b := https("__Host-bkpk_session=" + ck.Value)
	b.mustStatus(http.StatusOK, b.get("/auth/me"))
	// A websocket behind Traefik says wss, not https: the same cookie signs it in, so it gets
	// the broadcasts a signed-in user may read.
	ws := https("__Host-bkpk_session=" + ck.Value)
	ws.header.Set("X-Forwarded-Proto", "wss")
	conn := ws.dialWS()
	b.mustStatus(http.StatusCreated, b.post("/collections", map[string]string{"name": "notes"}))
	b.mustStatus(http.StatusCreated, b.post("/notes", map[string]string{"title": "over wss"}))
	conn.expectBroadcast("create", "notes", "title", "over wss")
	// A plain-named cookie over https may come from any host of the site: it signs nobody in.
	b = https("bkpk_session=" + ck.Value)
	b.expectError(b.get("/auth/me"), http.StatusUnauthorized, "not_signed_in")
	b = https("__Host-bkpk_session=" + ck.Value + "; __Host-bkpk_session=x")
	r = b.get("/auth/me")
	b.expectError(r, http.StatusUnauthorized, "ambiguous_session")
	if cl := sessionCookiesIn(r)["__Host-bkpk_session"]; cl == nil || cl.MaxAge >= 0 || !cl.Secure {
		t.Errorf("the answer does not clear the __Host- cookie: %q", r.header.Values("Set-Cookie"))
	}
	b = https("__Host-bkpk_session=" + ck.Value)
	r = b.mustStatus(http.StatusNoContent, b.post("/auth/logout", nil))
	if cl := sessionCookiesIn(r)["__Host-bkpk_session"]; cl == nil || cl.MaxAge >= 0 || !cl.Secure {
		t.Errorf("logout does not clear the __Host- cookie: %q", r.header.Values("Set-Cookie"))
	}

	// Over plain http the name stays bkpk_session (browsers refuse __Host- there).
	c.header.Del("X-Forwarded-Proto")
	r = c.mustStatus(http.StatusOK, c.post("/auth/login", map[string]string{"email": "ann@example.com", "password": "password123"}))
	if plain := sessionCookiesIn(r)["bkpk_session"]; plain == nil || plain.Secure {
		t.Errorf("Set-Cookie over http = %q", r.header.Values("Set-Cookie"))
	}
	c.mustStatus(http.StatusOK, c.get("/auth/me"))
}
