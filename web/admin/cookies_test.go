package admin_test

import (
	"fmt"
	"testing"
)

// TestCSRFTokenFromEitherCookie: over https the control plane names the CSRF cookie
// __Host-bkpk_csrf (no other host of the domain can set it), over http bkpk_csrf; the panel
// reads whichever it has, preferring the __Host- one to a plain copy planted for the domain.
func TestCSRFTokenFromEitherCookie(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	p.open(ctx, "/signin")
	cases := map[string]string{
		"__Host-bkpk_csrf=mine":                          "mine",
		"bkpk_csrf=plain":                                "plain",
		"bkpk_csrf=planted; __Host-bkpk_csrf=mine":       "mine",
		"a=1; __Host-bkpk_csrf=mine%3D; b=2":             "mine=",
		"x__Host-bkpk_csrf=no; xbkpk_csrf=no; other=yes": "",
	}
	for jar, want := range cases {
		var got string
		// The page's cookie jar is replaced by a fixed string: browsers would not let a page
		// over http set a __Host- cookie.
		p.eval(ctx, fmt.Sprintf(`import('/assets/api.js').then((m) => {
			Object.defineProperty(document, 'cookie', {get: () => %q, configurable: true});
			try { return m.csrfToken(); } finally { delete document.cookie; }
		})`, jar), &got)
		if got != want {
			t.Errorf("cookies %q: csrfToken() = %q, want %q", jar, got, want)
		}
	}
}
