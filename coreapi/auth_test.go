package coreapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/tools/credentials"
)

func TestRegister(t *testing.T) {
	api := newTestAPI(t)
	c := api.client()
	r := c.mustStatus(http.StatusCreated, c.post("/auth/register", map[string]string{"email": "  Ann@Example.COM ", "password": "password123"}))
	u := r.doc()
	if u["email"] != "ann@example.com" || len(u["_id"].(string)) != 24 || u["_createdAt"] == nil {
		t.Fatalf("registered user = %v", u)
	}
	if _, ok := u["passwordHash"]; ok {
		t.Fatal("password hash leaked")
	}
	c.expectError(c.post("/auth/register", map[string]string{"email": "ann@example.com", "password": "password123"}), 409, "email_taken")

	for name, body := range map[string]any{
		"bad email":       map[string]string{"email": "not-an-email", "password": "password123"},
		"display name":    map[string]string{"email": "Ann <ann@example.com>", "password": "password123"},
		"no domain dot":   map[string]string{"email": "ann@example", "password": "password123"},
		"empty email":     map[string]string{"email": "", "password": "password123"},
		"short password":  map[string]string{"email": "b@example.com", "password": "short"},
		"long password":   map[string]string{"email": "b@example.com", "password": strings.Repeat("p", 513)},
		"unknown field":   map[string]string{"email": "b@example.com", "password": "password123", "role": "admin"},
		"malformed json":  `{"email": "b@example.com",`,
		"wrong json type": `{"email": 5, "password": "password123"}`,
		"empty body":      ``,
		"two objects":     `{"email":"b@example.com","password":"password123"} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			r := c.post("/auth/register", body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			c.expectError(r, 400, r.errorCode())
		})
	}
	c.expectError(c.raw(http.MethodPost, "/auth/register", strings.NewReader("email=a"), "application/x-www-form-urlencoded"), 415, "unsupported_media_type")
}

func TestLoginCookieAndMe(t *testing.T) {
	api := newTestAPI(t)
	c := api.client()
	c.expectError(c.get("/auth/me"), 401, "not_signed_in")
	c.mustStatus(http.StatusCreated, c.post("/auth/register", map[string]string{"email": "ann@example.com", "password": "password123"}))
	c.expectError(c.post("/auth/login", map[string]string{"email": "ann@example.com", "password": "wrong-password"}), 401, "invalid_credentials")
	c.expectError(c.post("/auth/login", map[string]string{"email": "nobody@example.com", "password": "password123"}), 401, "invalid_credentials")

	c.header.Set("X-Forwarded-Proto", "https")
	r := c.mustStatus(http.StatusOK, c.post("/auth/login", map[string]string{"email": "ANN@example.com", "password": "password123"}))
	c.header.Del("X-Forwarded-Proto")
	setCookie := r.header.Get("Set-Cookie")
	for _, want := range []string{"bkpk_session=", "HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age="} {
		if !strings.Contains(setCookie, want) {
			t.Errorf("Set-Cookie %q lacks %q", setCookie, want)
		}
	}
	// The jar will not send a Secure cookie over http; sign in again without HTTPS.
	r = c.mustStatus(http.StatusOK, c.post("/auth/login", map[string]string{"email": "ann@example.com", "password": "password123"}))
	if strings.Contains(r.header.Get("Set-Cookie"), "Secure") {
		t.Error("Secure cookie over plain HTTP")
	}
	me := c.mustStatus(http.StatusOK, c.get("/auth/me")).doc()
	if me["email"] != "ann@example.com" {
		t.Fatalf("me = %v", me)
	}
	c.mustStatus(http.StatusNoContent, c.post("/auth/logout", nil))
	c.expectError(c.get("/auth/me"), 401, "not_signed_in")
	c.mustStatus(http.StatusNoContent, c.post("/auth/logout", nil))
}

func TestTokenAndLogoutEndsSessionEverywhere(t *testing.T) {
	api := newTestAPI(t)
	c := api.client()
	c.mustStatus(http.StatusCreated, c.post("/auth/register", map[string]string{"email": "ann@example.com", "password": "password123"}))
	var tok tokenResponse
	c.mustStatus(http.StatusOK, c.post("/auth/token", map[string]string{"email": "ann@example.com", "password": "password123"})).decode(&tok)
	expires, err := time.Parse(time.RFC3339, tok.ExpiresAt)
	if err != nil || len(tok.Token) < 40 || time.Until(expires) < 13*24*time.Hour {
		t.Fatalf("token = %+v (%v)", tok, err)
	}
	script := api.client()
	script.token = tok.Token
	script.mustStatus(http.StatusOK, script.get("/auth/me"))
	other := api.client()
	other.token = tok.Token
	other.mustStatus(http.StatusNoContent, other.post("/auth/logout", nil))
	script.expectError(script.get("/auth/me"), 401, "not_signed_in")
	bogus := api.client()
	bogus.token = "not-a-real-token"
	bogus.expectError(bogus.get("/auth/me"), 401, "not_signed_in")
}

func TestDeletedUserIsSignedOutAtOnce(t *testing.T) {
	api := newTestAPI(t)
	c, uid := api.signedIn()
	var tok tokenResponse
	c2 := api.client()
	c2.mustStatus(http.StatusOK, c2.post("/auth/token", map[string]string{"email": "userx@example.com", "password": "password123"})).decode(&tok)
	c2.token = tok.Token
	c.mustStatus(http.StatusOK, c.get("/auth/me"))
	c2.mustStatus(http.StatusOK, c2.get("/auth/me"))
	if _, err := api.srv.data.DeleteUser(context.Background(), uid); err != nil {
		t.Fatal(err)
	}
	c.expectError(c.get("/auth/me"), 401, "not_signed_in")
	c2.expectError(c2.get("/collections"), 401, "not_signed_in")
}

func TestLoginThrottlePerAccount(t *testing.T) {
	api := newTestAPI(t, func(c *Config) { c.LoginMaxFailuresPerAccount = 3 })
	c := api.client()
	c.mustStatus(http.StatusCreated, c.post("/auth/register", map[string]string{"email": "ann@example.com", "password": "password123"}))
	for range 3 {
		c.expectError(c.post("/auth/login", map[string]string{"email": "ann@example.com", "password": "guess-guess"}), 401, "invalid_credentials")
	}
	r := c.post("/auth/login", map[string]string{"email": "Ann@example.com", "password": "password123"})
	c.expectError(r, 429, "too_many_attempts")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > int(credentials.DefaultLoginWindow.Seconds()) {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	c.expectError(c.post("/auth/token", map[string]string{"email": "ann@example.com", "password": "password123"}), 429, "too_many_attempts")
	// Another account from the same address is not locked by this account's failures.
	c.mustStatus(http.StatusCreated, c.post("/auth/register", map[string]string{"email": "bob@example.com", "password": "password123"}))
	c.mustStatus(http.StatusOK, c.post("/auth/login", map[string]string{"email": "bob@example.com", "password": "password123"}))
}

func TestLoginThrottlePerAddress(t *testing.T) {
	api := newTestAPI(t, func(c *Config) { c.LoginMaxFailuresPerAddress, c.TrustedProxies = 4, []string{"127.0.0.1"} })
	attacker := api.client()
	attacker.header.Set("X-Forwarded-For", "203.0.113.7")
	for i := range 4 {
		attacker.expectError(attacker.post("/auth/login", map[string]string{"email": "victim" + strconv.Itoa(i) + "@example.com", "password": "guess-guess"}), 401, "invalid_credentials")
	}
	attacker.expectError(attacker.post("/auth/login", map[string]string{"email": "someone@example.com", "password": "guess-guess"}), 429, "too_many_attempts")
	honest := api.client()
	honest.header.Set("X-Forwarded-For", "198.51.100.9")
	honest.mustStatus(http.StatusCreated, honest.post("/auth/register", map[string]string{"email": "ann@example.com", "password": "password123"}))
	honest.mustStatus(http.StatusOK, honest.post("/auth/login", map[string]string{"email": "ann@example.com", "password": "password123"}))
}
