package controlplane

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/backpackhq/backpack/tools/credentials"
)

// TestLoginThrottleConcurrent: wrong passwords sent all at once get no more 401s than the
// limit; the rest are refused before any password is checked.
func TestLoginThrottleConcurrent(t *testing.T) {
	p := newTestPlane(t)
	d := p.developer()
	const n = 30
	answers := make(chan *resp, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, r := p.loginFrom("203.0.113.1", d.email, "wrong password "+strconv.Itoa(i))
			answers <- r
		}()
	}
	wg.Wait()
	close(answers)
	count := map[int]int{}
	for r := range answers {
		count[r.status]++
		if r.status == http.StatusTooManyRequests {
			expectThrottled(t, r, credentials.DefaultLoginWindow)
		}
	}
	if count[http.StatusUnauthorized] > credentials.DefaultLoginMaxFailuresPerAccountAddress || count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != n {
		t.Fatalf("%d parallel wrong passwords: %v; want at most %d 401s, the rest 429", n, count, credentials.DefaultLoginMaxFailuresPerAccountAddress)
	}
}

// TestClientAddressFromTrustedProxiesOnly: X-Forwarded-For decides the counted address only
// when the peer is a configured proxy.
func TestClientAddressFromTrustedProxiesOnly(t *testing.T) {
	t.Run("untrusted peer", func(t *testing.T) {
		// The test's peer is 127.0.0.1: not in the configured proxies.
		p := newTestPlane(t, withConfig(func(c *Config) { c.LoginMaxFailuresPerAddress, c.TrustedProxies = 3, []string{"10.0.0.0/8"} }))
		for i := range 3 {
			_, r := p.loginFrom("203.0.113."+strconv.Itoa(i), "victim"+strconv.Itoa(i)+"@example.com", "guess-guess")
			r.expectError(http.StatusUnauthorized, "invalid_credentials")
		}
		_, r := p.loginFrom("198.51.100.1", "someone@example.com", "guess-guess")
		expectThrottled(t, r, credentials.DefaultLoginWindow)
	})
	t.Run("configured proxy", func(t *testing.T) {
		p := newTestPlane(t, withConfig(func(c *Config) { c.LoginMaxFailuresPerAddress, c.TrustedProxies = 3, []string{"127.0.0.1"} }))
		for i := range 3 {
			_, r := p.loginFrom("203.0.113.7", "victim"+strconv.Itoa(i)+"@example.com", "guess-guess")
			r.expectError(http.StatusUnauthorized, "invalid_credentials")
		}
		_, r := p.loginFrom("203.0.113.7", "someone@example.com", "guess-guess")
		expectThrottled(t, r, credentials.DefaultLoginWindow)
		// What the client put before the proxy's entry does not change the counted address.
		_, r = p.loginFrom("192.0.2.1, 203.0.113.7", "someone@example.com", "guess-guess")
		expectThrottled(t, r, credentials.DefaultLoginWindow)
		_, r = p.loginFrom("198.51.100.9", "someone@example.com", "guess-guess")
		r.expectError(http.StatusUnauthorized, "invalid_credentials")
	})
}

// TestLoginLockoutPerAccountAndAddress: a stranger's wrong passwords lock the account from the
// stranger's address only; the account-wide bound still stops a guess spread over addresses.
func TestLoginLockoutPerAccountAndAddress(t *testing.T) {
	const window = 10 * time.Minute
	p := newTestPlane(t, withConfig(func(c *Config) {
		c.LoginMaxFailuresPerAccount, c.LoginWindow, c.TrustedProxies = 8, window, []string{"127.0.0.1/32"}
	}))
	d := p.developer()
	for range credentials.DefaultLoginMaxFailuresPerAccountAddress {
		_, r := p.loginFrom("203.0.113.1", d.email, "guess-guess")
		r.expectError(http.StatusUnauthorized, "invalid_credentials")
	}
	_, r := p.loginFrom("203.0.113.1", d.email, "a long password")
	expectThrottled(t, r, window)
	c, r := p.loginFrom("198.51.100.7", d.email, "a long password")
	c.mustStatus(http.StatusOK, r)
	// 3 more failures from a second address reach the account-wide 8: now every address waits.
	for range 3 {
		_, r := p.loginFrom("203.0.113.2", d.email, "guess-guess")
		r.expectError(http.StatusUnauthorized, "invalid_credentials")
	}
	_, r = p.loginFrom("203.0.113.3", d.email, "guess-guess")
	expectThrottled(t, r, window)
	_, r = p.loginFrom("198.51.100.7", d.email, "a long password")
	expectThrottled(t, r, window)
}

// TestRegistrationThrottle: sign-ups from one address beyond the limit get 429, whether the
// earlier ones were accepted or not.
func TestRegistrationThrottle(t *testing.T) {
	p := newTestPlane(t, withConfig(func(c *Config) { c.RegistrationsPerAddress = 3 }))
	d := p.anonymous()
	d.mustStatus(http.StatusCreated, registerAs(d, "a@example.com", "a long password", nil))
	d.mustStatus(http.StatusCreated, registerAs(d, "b@example.com", "a long password", nil))
	registerAs(d, "a@example.com", "a long password", nil).expectError(http.StatusConflict, "email_taken")
	r := registerAs(d, "c@example.com", "a long password", nil)
	r.expectError(http.StatusTooManyRequests, "too_many_registrations")
	if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || secs > int(credentials.DefaultRegistrationWindow.Seconds()) {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	c, r := p.loginFrom("", "a@example.com", "a long password")
	c.mustStatus(http.StatusOK, r)
}
