package controlplane

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Developer accounts on the real HTTP server: registration (and the operator's registration
// modes and invites), sign-in, sign-out, login throttling, session expiry and CSRF.

// signedInJSON is the answer to register and login.
type signedInJSON struct {
	Developer developerJSON `json:"developer"`
	CSRFToken string        `json:"csrfToken"`
}

// setCookies parses the response's Set-Cookie headers by name.
func (r *resp) setCookies() map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		out[c.Name] = c
	}
	return out
}

// sessionToken is the bkpk_admin cookie the developer's browser holds.
func (d *dev) sessionToken() string {
	u, _ := url.Parse(d.p.url("admin", "/"))
	for _, c := range d.http.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

// withHeaders sends a request with exactly the given extra headers (the CSRF header is not
// added from the cookie; put it in header when wanted).
func (d *dev) withHeaders(method, path string, body []byte, header http.Header) *resp {
	d.p.t.Helper()
	req, err := http.NewRequest(method, d.p.url("admin", path), bytes.NewReader(body))
	if err != nil {
		d.p.t.Fatal(err)
	}
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return do(d.p.t, d.http, req)
}

func jsonBody(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// replay sends a request carrying only the given session cookie, as an attacker who copied it
// would: no jar, so nothing the server clears client-side matters.
func (p *testPlane) replay(method, path, token, csrf string) *resp {
	p.t.Helper()
	req, err := http.NewRequest(method, p.url("admin", path), nil)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Cookie", sessionCookie+"="+token)
	if csrf != "" {
		req.Header.Set(csrfHeader, csrf)
	}
	return do(p.t, &http.Client{Transport: p.transport()}, req)
}

// sub runs a subtest in which the plane's helpers report to the subtest.
func sub(t *testing.T, p *testPlane, name string, f func(t *testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		prev := p.t
		p.t = t
		defer func() { p.t = prev }()
		f(t)
	})
}

func registerAs(d *dev, email, password string, extra map[string]any) *resp {
	d.p.t.Helper()
	body := map[string]any{"email": email, "password": password}
	for k, v := range extra {
		body[k] = v
	}
	return d.post("/api/auth/register", body)
}

func (d *dev) developers() []developerJSON {
	d.p.t.Helper()
	var out struct{ Developers []developerJSON }
	d.mustStatus(http.StatusOK, d.get("/api/developers")).decode(&out)
	return out.Developers
}

func TestAuthAccounts(t *testing.T) {
	p := newTestPlane(t)
	op := p.anonymous()
	var dev2 *dev

	sub(t, p, "the first account is the operator, with both cookies", func(t *testing.T) {
		r := op.mustStatus(http.StatusCreated, registerAs(op, "  Op@Example.COM ", "a long password", nil))
		var got signedInJSON
		r.decode(&got)
		op.email = "op@example.com"
		if got.Developer.Email != "op@example.com" || got.Developer.Role != "admin" || got.Developer.ID == "" || got.Developer.CreatedAt == "" {
			t.Fatalf("registered = %+v", got)
		}
		if strings.Contains(string(r.body), "argon2") || strings.Contains(strings.ToLower(string(r.body)), "password") {
			t.Fatalf("the answer shows the password hash: %s", r.body)
		}
		cookies := r.setCookies()
		sess, csrf := cookies[sessionCookie], cookies[csrfCookie]
		if sess == nil || csrf == nil {
			t.Fatalf("Set-Cookie = %q", r.header.Values("Set-Cookie"))
		}
		if !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/" || len(sess.Value) < 32 {
			t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Strict, Path=/", sess)
		}
		if csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode || csrf.Path != "/" || len(csrf.Value) < 32 {
			t.Errorf("csrf cookie = %+v, want readable by scripts, SameSite=Strict, Path=/", csrf)
		}
		if csrf.Value != got.CSRFToken || csrf.Value == sess.Value {
			t.Errorf("csrf cookie %q, answer's csrfToken %q, session %q", csrf.Value, got.CSRFToken, sess.Value)
		}
		if sess.MaxAge < int((DefaultSessionTTL - time.Minute).Seconds()) {
			t.Errorf("session cookie Max-Age = %d, want about the session TTL", sess.MaxAge)
		}
		if sess.Secure || csrf.Secure {
			t.Errorf("cookies are Secure on a plain-http plane")
		}
		var me developerJSON
		op.mustStatus(http.StatusOK, op.get("/api/auth/me")).decode(&me)
		if me != got.Developer {
			t.Fatalf("me = %+v, registered %+v", me, got.Developer)
		}
	})

	sub(t, p, "later accounts are developers", func(t *testing.T) {
		dev2 = p.developer()
		var me developerJSON
		dev2.mustStatus(http.StatusOK, dev2.get("/api/auth/me")).decode(&me)
		if me.Role != "developer" || me.Email != dev2.email {
			t.Fatalf("second account = %+v", me)
		}
		d3 := p.developer()
		d3.mustStatus(http.StatusOK, d3.get("/api/auth/me")).decode(&me)
		if me.Role != "developer" {
			t.Fatalf("third account = %+v", me)
		}
	})

	sub(t, p, "a taken email is refused whatever its case", func(t *testing.T) {
		anon := p.anonymous()
		for _, email := range []string{"op@example.com", "OP@EXAMPLE.COM", " op@example.com", strings.ToUpper(dev2.email)} {
			registerAs(anon, email, "another long password", nil).expectError(http.StatusConflict, "email_taken")
		}
		anon.get("/api/auth/me").expectError(http.StatusUnauthorized, "not_signed_in")
		// The operator's password was not replaced by the refused registrations.
		anon.post("/api/auth/login", map[string]any{"email": "op@example.com", "password": "another long password"}).
			expectError(http.StatusUnauthorized, "invalid_credentials")
		anon.mustStatus(http.StatusOK, anon.post("/api/auth/login", map[string]any{"email": "op@example.com", "password": "a long password"}))
	})

	sub(t, p, "the operator lists the developers", func(t *testing.T) {
		r := op.mustStatus(http.StatusOK, op.get("/api/developers"))
		if strings.Contains(string(r.body), "argon2") {
			t.Fatalf("the list shows password hashes: %s", r.body)
		}
		devs := op.developers()
		if len(devs) != 3 || devs[0].Email != "op@example.com" || devs[0].Role != "admin" || devs[1].Email != dev2.email || devs[1].Role != "developer" {
			t.Fatalf("developers = %+v", devs)
		}
	})
}

func TestRegistrationModes(t *testing.T) {
	p := newTestPlane(t)
	op := p.developer()
	dev2 := p.developer()
	count := func() int { return len(op.developers()) }
	mode := func() string {
		var s struct{ Registration string }
		op.mustStatus(http.StatusOK, op.get("/api/settings")).decode(&s)
		return s.Registration
	}
	setMode := func(m string) {
		var s struct{ Registration string }
		op.mustStatus(http.StatusOK, op.patch("/api/settings", map[string]any{"registration": m})).decode(&s)
		if s.Registration != m || mode() != m {
			p.t.Fatalf("mode = %q after setting %q", mode(), m)
		}
	}
	anon := p.anonymous()

	sub(t, p, "open by the plane's configuration", func(t *testing.T) {
		if m := mode(); m != "open" {
			t.Fatalf("mode = %q", m)
		}
	})

	sub(t, p, "an unknown mode is refused", func(t *testing.T) {
		for _, m := range []any{"bogus", "", "OPEN", 1, nil} {
			r := op.patch("/api/settings", map[string]any{"registration": m})
			if r.status != http.StatusBadRequest {
				t.Fatalf("mode %v: %d %s", m, r.status, r.body)
			}
		}
		op.patch("/api/settings", map[string]any{"registration": "bogus"}).expectError(http.StatusBadRequest, "invalid_setting")
		if m := mode(); m != "open" {
			t.Fatalf("mode = %q after refused changes", m)
		}
	})

	sub(t, p, "closed", func(t *testing.T) {
		setMode("closed")
		before := count()
		registerAs(anon, "closed@example.com", "a long password", nil).expectError(http.StatusForbidden, "registration_closed")
		registerAs(anon, "closed@example.com", "a long password", map[string]any{"invite": "anything"}).expectError(http.StatusForbidden, "registration_closed")
		if count() != before {
			t.Fatal("an account was created while registration is closed")
		}
		anon.post("/api/auth/login", map[string]any{"email": "closed@example.com", "password": "a long password"}).
			expectError(http.StatusUnauthorized, "invalid_credentials")
		// Existing accounts still sign in.
		again := p.anonymous()
		again.mustStatus(http.StatusOK, again.post("/api/auth/login", map[string]any{"email": dev2.email, "password": "a long password"}))
	})

	var used string
	sub(t, p, "invite: one use per code", func(t *testing.T) {
		setMode("invite")
		before := count()
		registerAs(anon, "new@example.com", "a long password", nil).expectError(http.StatusForbidden, "invite_invalid")
		registerAs(anon, "new@example.com", "a long password", map[string]any{"invite": "not-a-real-code"}).expectError(http.StatusForbidden, "invite_invalid")
		if count() != before {
			t.Fatal("an account was created without an invite")
		}
		var inv inviteJSON
		op.mustStatus(http.StatusCreated, op.post("/api/invites", nil)).decode(&inv)
		if len(inv.Code) < 32 || inv.ID == "" || inv.Email != "" || inv.ExpiresAt <= inv.CreatedAt || inv.UsedAt != "" {
			t.Fatalf("invite = %+v", inv)
		}
		used = inv.ID
		newcomer := p.anonymous()
		var got signedInJSON
		newcomer.mustStatus(http.StatusCreated, registerAs(newcomer, "new@example.com", "a long password", map[string]any{"invite": inv.Code})).decode(&got)
		if got.Developer.Role != "developer" {
			t.Fatalf("invited account = %+v", got.Developer)
		}
		newcomer.mustStatus(http.StatusOK, newcomer.get("/api/auth/me"))
		registerAs(p.anonymous(), "second@example.com", "a long password", map[string]any{"invite": inv.Code}).expectError(http.StatusForbidden, "invite_invalid")
		if count() != before+1 {
			t.Fatalf("%d accounts, want %d", count(), before+1)
		}
	})

	var boundID string
	sub(t, p, "invite bound to an email", func(t *testing.T) {
		var inv inviteJSON
		op.mustStatus(http.StatusCreated, op.post("/api/invites", map[string]any{"email": " Bound@Example.com"})).decode(&inv)
		if inv.Email != "bound@example.com" || inv.Code == "" {
			t.Fatalf("invite = %+v", inv)
		}
		boundID = inv.ID
		registerAs(anon, "someone-else@example.com", "a long password", map[string]any{"invite": inv.Code}).expectError(http.StatusForbidden, "invite_invalid")
		// The refused attempt did not use the invite up.
		bound := p.anonymous()
		bound.mustStatus(http.StatusCreated, registerAs(bound, "BOUND@example.com", "a long password", map[string]any{"invite": inv.Code}))
		op.post("/api/invites", map[string]any{"email": "not an email"}).expectError(http.StatusBadRequest, "invalid_email")
	})

	sub(t, p, "the list shows no codes", func(t *testing.T) {
		r := op.mustStatus(http.StatusOK, op.get("/api/invites"))
		var list struct{ Invites []map[string]any }
		r.decode(&list)
		if len(list.Invites) != 2 {
			t.Fatalf("invites = %s", r.body)
		}
		for _, inv := range list.Invites {
			if _, ok := inv["code"]; ok {
				t.Fatalf("the list shows a code: %s", r.body)
			}
			if inv["usedAt"] == nil || inv["usedAt"] == "" {
				t.Fatalf("a used invite does not say so: %s", r.body)
			}
		}
		if list.Invites[0]["id"] != boundID || list.Invites[1]["id"] != used || list.Invites[0]["email"] != "bound@example.com" {
			t.Fatalf("invites (newest first) = %s", r.body)
		}
	})

	sub(t, p, "a revoked invite cannot be used", func(t *testing.T) {
		var inv inviteJSON
		op.mustStatus(http.StatusCreated, op.post("/api/invites", map[string]any{})).decode(&inv)
		r := op.delete("/api/invites/" + inv.ID)
		op.mustStatus(http.StatusNoContent, r)
		if len(r.body) != 0 {
			t.Fatalf("204 with a body: %q", r.body)
		}
		op.delete("/api/invites/"+inv.ID).expectError(http.StatusNotFound, "invite_not_found")
		op.delete("/api/invites/no-such-invite").expectError(http.StatusNotFound, "invite_not_found")
		before := count()
		registerAs(anon, "revoked@example.com", "a long password", map[string]any{"invite": inv.Code}).expectError(http.StatusForbidden, "invite_invalid")
		if count() != before {
			t.Fatal("a revoked invite created an account")
		}
	})

	sub(t, p, "developers and strangers cannot manage registration", func(t *testing.T) {
		var inv inviteJSON
		op.mustStatus(http.StatusCreated, op.post("/api/invites", nil)).decode(&inv)
		stranger := p.anonymous()
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{http.MethodGet, "/api/settings", nil},
			{http.MethodPatch, "/api/settings", map[string]any{"registration": "open"}},
			{http.MethodGet, "/api/invites", nil},
			{http.MethodPost, "/api/invites", map[string]any{}},
			{http.MethodPost, "/api/invites", nil},
			{http.MethodDelete, "/api/invites/" + inv.ID, nil},
			{http.MethodGet, "/api/developers", nil},
		} {
			dev2.send(c.method, c.path, c.body).expectError(http.StatusForbidden, "forbidden")
			stranger.send(c.method, c.path, c.body).expectError(http.StatusUnauthorized, "not_signed_in")
		}
		if m := mode(); m != "invite" {
			t.Fatalf("mode = %q after a developer's PATCH", m)
		}
		var list struct{ Invites []inviteJSON }
		op.mustStatus(http.StatusOK, op.get("/api/invites")).decode(&list)
		if len(list.Invites) != 3 || list.Invites[0].ID != inv.ID {
			t.Fatalf("invites after a developer's attempts = %+v", list.Invites)
		}
		// The invite the developer tried to revoke still works.
		newcomer := p.anonymous()
		newcomer.mustStatus(http.StatusCreated, registerAs(newcomer, "late@example.com", "a long password", map[string]any{"invite": inv.Code}))
	})

	sub(t, p, "open again", func(t *testing.T) {
		setMode("open")
		d := p.anonymous()
		d.mustStatus(http.StatusCreated, registerAs(d, "open@example.com", "a long password", nil))
	})
}

// loginFrom signs in with a fresh cookie jar, sending X-Forwarded-For: ip, which gives the
// client's address when the plane trusts loopback as a proxy (TrustedProxies), as it trusts
// Traefik's network in a stack.
func (p *testPlane) loginFrom(ip, email, password string) (*dev, *resp) {
	p.t.Helper()
	d := p.anonymous()
	r := d.withHeaders(http.MethodPost, "/api/auth/login", jsonBody(map[string]any{"email": email, "password": password}),
		http.Header{"Content-Type": {"application/json"}, "X-Forwarded-For": {ip}})
	return d, r
}

func expectThrottled(t *testing.T, r *resp, window time.Duration) {
	t.Helper()
	r.expectError(http.StatusTooManyRequests, "too_many_attempts")
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > int(window.Seconds()) {
		t.Fatalf("Retry-After = %q, want 1..%d seconds", r.header.Get("Retry-After"), int(window.Seconds()))
	}
}

func TestLoginLogout(t *testing.T) {
	const window = 10 * time.Minute
	p := newTestPlane(t, withConfig(func(c *Config) {
		c.LoginMaxFailuresPerAccountAddress, c.LoginMaxFailuresPerAccount, c.LoginMaxFailuresPerAddress, c.LoginWindow = 3, 20, 8, window
		c.TrustedProxies = []string{"127.0.0.1/32"}
	}))
	p.developer() // the operator
	d := p.developer()

	sub(t, p, "wrong password and unknown email get the same answer", func(t *testing.T) {
		_, wrong := p.loginFrom("203.0.113.1", d.email, "not the password")
		_, unknown := p.loginFrom("203.0.113.1", "nobody@example.com", "a long password")
		a, b := wrong.expectError(http.StatusUnauthorized, "invalid_credentials"), unknown.expectError(http.StatusUnauthorized, "invalid_credentials")
		if a.Message != b.Message || len(wrong.setCookies()) != 0 || len(unknown.setCookies()) != 0 {
			t.Fatalf("answers differ or set cookies: %s / %s", wrong.body, unknown.body)
		}
		_, empty := p.loginFrom("203.0.113.1", d.email, "")
		empty.expectError(http.StatusUnauthorized, "invalid_credentials")
	})

	sub(t, p, "sign in, me, sign out", func(t *testing.T) {
		c, r := p.loginFrom("203.0.113.2", strings.ToUpper(d.email), "a long password")
		c.mustStatus(http.StatusOK, r)
		var got signedInJSON
		r.decode(&got)
		if got.Developer.Email != d.email || got.Developer.Role != "developer" || got.CSRFToken == "" || got.CSRFToken != c.csrf() {
			t.Fatalf("login = %s (csrf cookie %q)", r.body, c.csrf())
		}
		if ck := r.setCookies()[sessionCookie]; ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
			t.Fatalf("session cookie = %+v", ck)
		}
		var me developerJSON
		c.mustStatus(http.StatusOK, c.get("/api/auth/me")).decode(&me)
		if me != got.Developer {
			t.Fatalf("me = %+v", me)
		}
		token, csrf := c.sessionToken(), c.csrf()
		if token == "" || token == d.sessionToken() {
			t.Fatalf("the login's session token %q is not a new one", token)
		}

		// Logging out needs the CSRF token like any state change, and then ends this session only.
		c.noCSRF = true
		c.post("/api/auth/logout", nil).expectError(http.StatusForbidden, "csrf_failed")
		c.mustStatus(http.StatusOK, c.get("/api/auth/me"))
		c.noCSRF = false
		out := c.mustStatus(http.StatusNoContent, c.post("/api/auth/logout", nil))
		for _, name := range []string{sessionCookie, csrfCookie} {
			if ck := out.setCookies()[name]; ck == nil || ck.MaxAge >= 0 || ck.Value != "" {
				t.Errorf("logout does not clear %s: %+v", name, ck)
			}
		}
		c.get("/api/auth/me").expectError(http.StatusUnauthorized, "not_signed_in")
		c.post("/api/auth/logout", nil).expectError(http.StatusUnauthorized, "not_signed_in")
		// The old cookie, replayed by hand, no longer opens anything: the session is gone
		// on the server, not just in the browser.
		p.replay(http.MethodGet, "/api/auth/me", token, "").expectError(http.StatusUnauthorized, "not_signed_in")
		p.replay(http.MethodGet, "/api/backends", token, "").expectError(http.StatusUnauthorized, "not_signed_in")
		p.replay(http.MethodPost, "/api/auth/logout", token, csrf).expectError(http.StatusUnauthorized, "not_signed_in")
		// The developer's other session (from registering) is untouched.
		d.mustStatus(http.StatusOK, d.get("/api/auth/me"))
		d.mustStatus(http.StatusOK, p.replay(http.MethodGet, "/api/auth/me", d.sessionToken(), ""))
	})

	sub(t, p, "a made-up session cookie is nobody", func(t *testing.T) {
		p.replay(http.MethodGet, "/api/auth/me", "made-up", "").expectError(http.StatusUnauthorized, "not_signed_in")
		p.replay(http.MethodGet, "/api/auth/me", hashToken(d.sessionToken()), "").expectError(http.StatusUnauthorized, "not_signed_in")
	})

	throttled := p.developer()
	sub(t, p, "throttled after 3 failures, even with the right password", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			_, r := p.loginFrom("203.0.113.3", throttled.email, "wrong password "+strconv.Itoa(i))
			r.expectError(http.StatusUnauthorized, "invalid_credentials")
		}
		_, r := p.loginFrom("203.0.113.3", throttled.email, "wrong password again")
		expectThrottled(t, r, window)
		c, r := p.loginFrom("203.0.113.3", throttled.email, "a long password")
		expectThrottled(t, r, window)
		if len(r.setCookies()) != 0 {
			t.Fatalf("a throttled login set cookies: %q", r.header.Values("Set-Cookie"))
		}
		c.get("/api/auth/me").expectError(http.StatusUnauthorized, "not_signed_in")
		// The lock is on the account from this address, whatever the email's case; from
		// another address the owner still signs in (TestLoginLockoutPerAccountAndAddress).
		_, r = p.loginFrom("203.0.113.3", strings.ToUpper(throttled.email), "a long password")
		expectThrottled(t, r, window)
		// Other accounts, from the same address, are not locked.
		c, r = p.loginFrom("203.0.113.3", d.email, "a long password")
		c.mustStatus(http.StatusOK, r)
		// A session opened before the lock still works.
		throttled.mustStatus(http.StatusOK, throttled.get("/api/auth/me"))
	})

	sub(t, p, "an unknown email is throttled like a known one", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			_, r := p.loginFrom("203.0.113.4", "ghost@example.com", "wrong password")
			r.expectError(http.StatusUnauthorized, "invalid_credentials")
		}
		_, r := p.loginFrom("203.0.113.4", "ghost@example.com", "wrong password")
		expectThrottled(t, r, window)
	})

	sub(t, p, "a successful login clears the account's failures from its address", func(t *testing.T) {
		e := p.developer()
		for round := 0; round < 3; round++ {
			for i := 0; i < 2; i++ {
				_, r := p.loginFrom("203.0.113.5", e.email, "wrong password")
				r.expectError(http.StatusUnauthorized, "invalid_credentials")
			}
			c, r := p.loginFrom("203.0.113.5", e.email, "a long password")
			c.mustStatus(http.StatusOK, r)
		}
	})

	sub(t, p, "throttled per address across accounts", func(t *testing.T) {
		for i := 0; i < 8; i++ {
			_, r := p.loginFrom("203.0.113.6", "guess"+strconv.Itoa(i)+"@example.com", "wrong password")
			r.expectError(http.StatusUnauthorized, "invalid_credentials")
		}
		_, r := p.loginFrom("203.0.113.6", d.email, "a long password")
		expectThrottled(t, r, window)
		c, r := p.loginFrom("203.0.113.7", d.email, "a long password")
		c.mustStatus(http.StatusOK, r)
	})
}

func TestAuthExpiry(t *testing.T) {
	const ttl = time.Second
	p := newTestPlane(t, withConfig(func(c *Config) {
		c.SessionTTL, c.InviteTTL, c.Registration = ttl, ttl, "invite"
	}))
	// The cookies say when they expire (in whole seconds), so a jar may drop them early: this
	// test carries the session token by hand.
	op := p.anonymous()
	r := op.mustStatus(http.StatusCreated, registerAs(op, "op@example.com", "a long password", nil)) // the first needs no invite
	token, csrf := r.setCookies()[sessionCookie].Value, r.setCookies()[csrfCookie].Value
	var inv inviteJSON
	op.mustStatus(http.StatusCreated, p.replay(http.MethodPost, "/api/invites", token, csrf)).decode(&inv)
	op.mustStatus(http.StatusOK, p.replay(http.MethodGet, "/api/auth/me", token, ""))
	time.Sleep(ttl + 200*time.Millisecond)

	// The server refuses the session, not just the browser that dropped the cookie.
	p.replay(http.MethodGet, "/api/auth/me", token, "").expectError(http.StatusUnauthorized, "not_signed_in")
	p.replay(http.MethodGet, "/api/invites", token, "").expectError(http.StatusUnauthorized, "not_signed_in")
	p.replay(http.MethodPost, "/api/invites", token, csrf).expectError(http.StatusUnauthorized, "not_signed_in")

	// The invite has expired too.
	late := p.anonymous()
	registerAs(late, "late@example.com", "a long password", map[string]any{"invite": inv.Code}).expectError(http.StatusForbidden, "invite_invalid")

	// Signing in again opens a new session.
	again := p.anonymous()
	r = again.mustStatus(http.StatusOK, again.post("/api/auth/login", map[string]any{"email": "op@example.com", "password": "a long password"}))
	token = r.setCookies()[sessionCookie].Value
	var devs struct{ Developers []developerJSON }
	again.mustStatus(http.StatusOK, p.replay(http.MethodGet, "/api/developers", token, "")).decode(&devs)
	if len(devs.Developers) != 1 {
		t.Fatalf("developers = %+v: the expired invite created an account", devs.Developers)
	}
}

func TestCSRF(t *testing.T) {
	p := newTestPlane(t)
	op := p.developer()
	d := p.developer()
	other := p.developer()
	kept := d.createBackend("kept")
	backends := func(c *dev) []backendJSON {
		var out struct{ Backends []backendJSON }
		c.mustStatus(http.StatusOK, c.get("/api/backends")).decode(&out)
		return out.Backends
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		list := backends(d)
		if len(list) != 1 || list[0].Name != "kept" || list[0].State != "running" {
			t.Fatalf("backends after refused requests = %+v", list)
		}
		if got := d.mustStatus(http.StatusOK, d.get("/api/backends/kept")).backend(); got.APIKey != kept.APIKey {
			t.Fatalf("API key changed by a refused request: %q, was %q", got.APIKey, kept.APIKey)
		}
		var s struct{ Registration string }
		op.mustStatus(http.StatusOK, op.get("/api/settings")).decode(&s)
		if s.Registration != "open" {
			t.Fatalf("registration = %q after refused requests", s.Registration)
		}
		var inv struct{ Invites []inviteJSON }
		op.mustStatus(http.StatusOK, op.get("/api/invites")).decode(&inv)
		if len(inv.Invites) != 0 {
			t.Fatalf("invites after refused requests = %+v", inv.Invites)
		}
		var cols []map[string]any
		d.mustStatus(http.StatusOK, d.get("/api/backends/kept/admin/collections")).decode(&cols)
		if len(cols) != 0 {
			t.Fatalf("collections after refused requests = %v", cols)
		}
		d.mustStatus(http.StatusOK, d.get("/api/auth/me"))
		op.mustStatus(http.StatusOK, op.get("/api/auth/me"))
	}
	type call struct {
		c            *dev
		method, path string
		body         []byte
	}
	calls := []call{
		{d, http.MethodPost, "/api/backends", jsonBody(map[string]any{"name": "sneaky"})},
		{d, http.MethodDelete, "/api/backends/kept", nil},
		{d, http.MethodDelete, "/api/backends/kept?purge=true", nil},
		{d, http.MethodPost, "/api/backends/kept/api-key", nil},
		{d, http.MethodPost, "/api/backends/kept/admin/collections", jsonBody(map[string]any{"name": "sneaky"})},
		{d, http.MethodPost, "/api/auth/logout", nil},
		{op, http.MethodPatch, "/api/settings", jsonBody(map[string]any{"registration": "closed"})},
		{op, http.MethodPost, "/api/invites", jsonBody(map[string]any{})},
		{op, http.MethodPost, "/api/auth/logout", nil},
	}
	send := func(c call, header http.Header) *resp {
		if c.body != nil {
			header.Set("Content-Type", "application/json")
		}
		return c.c.withHeaders(c.method, c.path, c.body, header)
	}

	sub(t, p, "without the header", func(t *testing.T) {
		for _, c := range calls {
			send(c, http.Header{}).expectError(http.StatusForbidden, "csrf_failed")
		}
		unchanged(t)
	})

	sub(t, p, "with a wrong token", func(t *testing.T) {
		for _, c := range calls {
			for _, token := range []string{"wrong", c.c.csrf() + "x", c.c.csrf()[:len(c.c.csrf())-1], strings.ToUpper(c.c.csrf())} {
				send(c, http.Header{csrfHeader: {token}}).expectError(http.StatusForbidden, "csrf_failed")
			}
		}
		unchanged(t)
	})

	sub(t, p, "with another session's token", func(t *testing.T) {
		for _, c := range calls {
			send(c, http.Header{csrfHeader: {other.csrf()}}).expectError(http.StatusForbidden, "csrf_failed")
		}
		unchanged(t)
	})

	sub(t, p, "with a planted cookie and a matching header", func(t *testing.T) {
		// Double submit is not enough: the token must be the session's.
		u, _ := url.Parse(p.url("admin", "/"))
		jar, _ := cookiejar.New(nil)
		jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: d.sessionToken()}, {Name: csrfCookie, Value: "planted"}})
		planted := &dev{p: p, http: &http.Client{Jar: jar, Transport: p.transport()}}
		for _, c := range calls[:4] {
			c.c = planted
			send(c, http.Header{csrfHeader: {"planted"}}).expectError(http.StatusForbidden, "csrf_failed")
		}
		unchanged(t)
	})

	sub(t, p, "safe methods need no token", func(t *testing.T) {
		d.noCSRF = true
		defer func() { d.noCSRF = false }()
		d.mustStatus(http.StatusOK, d.get("/api/auth/me"))
		d.mustStatus(http.StatusOK, d.get("/api/backends"))
		d.mustStatus(http.StatusOK, d.get("/api/backends/kept"))
		d.mustStatus(http.StatusOK, d.get("/api/backends/kept/admin/users"))
	})

	sub(t, p, "with the right token it works", func(t *testing.T) {
		d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": "honest"}))
		d.mustStatus(http.StatusOK, d.post("/api/backends/kept/api-key", nil))
		d.mustStatus(http.StatusCreated, d.post("/api/backends/kept/admin/collections", map[string]any{"name": "honest"}))
		op.mustStatus(http.StatusCreated, op.post("/api/invites", nil))
		if list := backends(d); len(list) != 2 {
			t.Fatalf("backends = %+v", list)
		}
	})
}

// TestRegistrationRaces registers concurrently: of simultaneous first registrations exactly
// one becomes the operator, and an invite admits exactly one of those racing to use it.
func TestRegistrationRaces(t *testing.T) {
	p := newTestPlane(t)
	const n = 8
	race := func(email func(i int) string, invite string) []*http.Response {
		out := make([]*http.Response, n)
		errs := make([]error, n)
		start := make(chan struct{})
		done := make(chan int)
		for i := 0; i < n; i++ {
			go func() {
				defer func() { done <- i }()
				body := map[string]any{"email": email(i), "password": "a long password"}
				if invite != "" {
					body["invite"] = invite
				}
				req, _ := http.NewRequest(http.MethodPost, p.url("admin", "/api/auth/register"), bytes.NewReader(jsonBody(body)))
				req.Header.Set("Content-Type", "application/json")
				<-start
				res, err := (&http.Client{Transport: p.transport()}).Do(req)
				out[i], errs[i] = res, err
			}()
		}
		close(start)
		for range n {
			<-done
		}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("registration %d: %v", i, err)
			}
		}
		return out
	}

	results := race(func(i int) string { return "first" + strconv.Itoa(i) + "@example.com" }, "")
	admins, opEmail := 0, ""
	for _, res := range results {
		var got signedInJSON
		err := json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated || err != nil {
			t.Fatalf("registration: %d %v", res.StatusCode, err)
		}
		if got.Developer.Role == "admin" {
			admins++
			opEmail = got.Developer.Email
		}
	}
	if admins != 1 {
		t.Fatalf("%d operators among %d simultaneous first registrations", admins, n)
	}

	op := p.anonymous()
	op.mustStatus(http.StatusOK, op.post("/api/auth/login", map[string]any{"email": opEmail, "password": "a long password"}))
	op.mustStatus(http.StatusOK, op.patch("/api/settings", map[string]any{"registration": "invite"}))
	var inv inviteJSON
	op.mustStatus(http.StatusCreated, op.post("/api/invites", nil)).decode(&inv)
	admitted := 0
	for _, res := range race(func(i int) string { return "invited" + strconv.Itoa(i) + "@example.com" }, inv.Code) {
		body := new(bytes.Buffer)
		_, _ = body.ReadFrom(res.Body)
		res.Body.Close()
		switch res.StatusCode {
		case http.StatusCreated:
			admitted++
		case http.StatusForbidden:
			(&resp{t: t, status: res.StatusCode, header: res.Header, body: body.Bytes()}).expectError(http.StatusForbidden, "invite_invalid")
		default:
			t.Fatalf("registration with the invite: %d %s", res.StatusCode, body)
		}
	}
	if admitted != 1 {
		t.Fatalf("one invite admitted %d accounts", admitted)
	}
	if devs := op.developers(); len(devs) != n+1 {
		t.Fatalf("%d developers, want %d", len(devs), n+1)
	}
}
