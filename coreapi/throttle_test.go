package coreapi

import (
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/backpackhq/backpack/tools/credentials"
)

// loginFrom tries a password for email, sending X-Forwarded-For: ip when ip is not empty.
func (a *testAPI) loginFrom(ip, email, password string) *response {
	a.t.Helper()
	c := a.client()
	if ip != "" {
		c.header.Set("X-Forwarded-For", ip)
	}
	return c.post("/auth/login", map[string]string{"email": email, "password": password})
}

// expectRetryAfter checks a 429 in the contract's shape with a Retry-After in whole seconds.
func (c *client) expectRetryAfter(r *response, code string) {
	c.api.t.Helper()
	c.expectError(r, http.StatusTooManyRequests, code)
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		c.api.t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
}

// TestLoginThrottleConcurrent: wrong passwords sent all at once get no more 401s than the
// limit; the rest are refused before any password is checked.
func TestLoginThrottleConcurrent(t *testing.T) {
	api := newTestAPI(t)
	c := api.client()
	c.mustStatus(http.StatusCreated, c.post("/auth/register", map[string]string{"email": "ann@example.com", "password": "password123"}))
	const n = 30
	statuses := make(chan *response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- api.loginFrom("", "ann@example.com", "wrong password "+strconv.Itoa(i))
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for r := range statuses {
		count[r.status]++
		if r.status == http.StatusTooManyRequests {
			c.expectRetryAfter(r, "too_many_attempts")
		}
	}
	if count[http.StatusUnauthorized] > credentials.DefaultLoginMaxFailuresPerAccountAddress || count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != n {
		t.Fatalf("%d parallel wrong passwords: %v; want at most %d 401s, the rest 429", n, count, credentials.DefaultLoginMaxFailuresPerAccountAddress)
	}
}

// TestClientAddressFromTrustedProxiesOnly: X-Forwarded-For decides the counted address only
// when the peer is a configured proxy; otherwise a client cannot escape the per-address limit
// by inventing addresses.
func TestClientAddressFromTrustedProxiesOnly(t *testing.T) {
	t.Run("untrusted peer", func(t *testing.T) {
		// The test's peer is 127.0.0.1: not in the configured proxies.
		api := newTestAPI(t, func(c *Config) { c.LoginMaxFailuresPerAddress, c.TrustedProxies = 3, []string{"10.0.0.0/8"} })
		c := api.client()
		for i := range 3 {
			c.expectError(api.loginFrom("203.0.113."+strconv.Itoa(i), "victim"+strconv.Itoa(i)+"@example.com", "guess-guess"), 401, "invalid_credentials")
		}
		c.expectRetryAfter(api.loginFrom("198.51.100.1", "someone@example.com", "guess-guess"), "too_many_attempts")
	})
	t.Run("configured proxy", func(t *testing.T) {
		api := newTestAPI(t, func(c *Config) { c.LoginMaxFailuresPerAddress, c.TrustedProxies = 3, []string{"127.0.0.1/32"} })
		c := api.client()
		for i := range 3 {
			c.expectError(api.loginFrom("203.0.113.7", "victim"+strconv.Itoa(i)+"@example.com", "guess-guess"), 401, "invalid_credentials")
		}
		c.expectRetryAfter(api.loginFrom("203.0.113.7", "someone@example.com", "guess-guess"), "too_many_attempts")
		// What the client put before the proxy's entry does not change the counted address.
		c.expectRetryAfter(api.loginFrom("192.0.2.1, 203.0.113.7", "someone@example.com", "guess-guess"), "too_many_attempts")
		// Another client behind the proxy has its own budget.
		c.expectError(api.loginFrom("198.51.100.9", "someone@example.com", "guess-guess"), 401, "invalid_credentials")
	})
}

// TestLoginLockoutPerAccountAndAddress: a stranger's wrong passwords lock the account from the
// stranger's address only; the account-wide bound still stops a guess spread over addresses.
func TestLoginLockoutPerAccountAndAddress(t *testing.T) {
	api := newTestAPI(t, func(c *Config) { c.LoginMaxFailuresPerAccount, c.TrustedProxies = 8, []string{"127.0.0.1"} })
	c := api.client()
	c.mustStatus(http.StatusCreated, c.post("/auth/register", map[string]string{"email": "ann@example.com", "password": "password123"}))
	for range credentials.DefaultLoginMaxFailuresPerAccountAddress {
		c.expectError(api.loginFrom("203.0.113.1", "ann@example.com", "guess-guess"), 401, "invalid_credentials")
	}
	c.expectRetryAfter(api.loginFrom("203.0.113.1", "ann@example.com", "password123"), "too_many_attempts")
	c.mustStatus(http.StatusOK, api.loginFrom("198.51.100.7", "ann@example.com", "password123"))
	// 3 more failures from a second address reach the account-wide 8: now every address waits.
	for range 3 {
		c.expectError(api.loginFrom("203.0.113.2", "ann@example.com", "guess-guess"), 401, "invalid_credentials")
	}
	c.expectRetryAfter(api.loginFrom("203.0.113.3", "ann@example.com", "guess-guess"), "too_many_attempts")
	c.expectRetryAfter(api.loginFrom("198.51.100.7", "ann@example.com", "password123"), "too_many_attempts")
}

// TestRegistrationThrottle: sign-ups from one address beyond the limit get 429, whether the
// earlier ones were accepted or not.
func TestRegistrationThrottle(t *testing.T) {
	api := newTestAPI(t, func(c *Config) { c.RegistrationsPerAddress = 3 })
	c := api.client()
	register := func(email string) *response {
		return c.post("/auth/register", map[string]string{"email": email, "password": "password123"})
	}
	c.mustStatus(http.StatusCreated, register("a@example.com"))
	c.mustStatus(http.StatusCreated, register("b@example.com"))
	c.expectError(register("a@example.com"), http.StatusConflict, "email_taken")
	c.expectRetryAfter(register("c@example.com"), "too_many_registrations")
	// Signing in is not affected.
	c.mustStatus(http.StatusOK, c.post("/auth/login", map[string]string{"email": "a@example.com", "password": "password123"}))
}
