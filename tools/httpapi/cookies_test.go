package httpapi

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// TestClearCookie: a plain name is cleared on the host and every parent domain (where another
// host of the site can have planted a copy); a __Host- name, which only the host itself can
// set, on the host alone, and with Secure, without which a browser ignores the header.
func TestClearCookie(t *testing.T) {
	domains := func(host, name string, secure bool) []string {
		rec := httptest.NewRecorder()
		ClearCookie(rec, host, name, secure)
		var out []string
		for _, c := range (&http.Response{Header: rec.Header()}).Cookies() {
			if c.Name != name || c.MaxAge >= 0 || c.Path != "/" || c.Secure != secure {
				t.Errorf("ClearCookie(%q, %q) set %+v", host, name, c)
			}
			out = append(out, c.Domain)
		}
		return out
	}
	for _, c := range []struct {
		host, name string
		secure     bool
		want       []string
	}{
		{"admin.localhost:8080", "bkpk_admin", false, []string{"", "localhost"}},
		{"Shop-BE.Example.com.", "bkpk_session", true, []string{"", "example.com", "com"}},
		{"shop-be.example.com", "__Host-bkpk_session", true, []string{""}},
		{"127.0.0.1:3000", "bkpk_session", false, []string{""}},
		{"[::1]:3000", "bkpk_session", false, []string{""}},
		{"localhost", "bkpk_session", false, []string{""}},
	} {
		if got := domains(c.host, c.name, c.secure); !slices.Equal(got, c.want) {
			t.Errorf("ClearCookie(%q, %q) cleared on %q, want %q", c.host, c.name, got, c.want)
		}
	}
	if SessionCookieName("bkpk_admin", true) != "__Host-bkpk_admin" || SessionCookieName("bkpk_admin", false) != "bkpk_admin" {
		t.Error("SessionCookieName does not prefix over https only")
	}
}
