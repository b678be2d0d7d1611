package httpapi

import (
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// hostPrefix marks a cookie that browsers accept only from the host itself: Secure, Path=/ and
// no Domain attribute.
const hostPrefix = "__Host-"

// SessionCookieName is the name a session cookie goes by. Over https it carries the __Host-
// prefix: a tenant's site on a sibling host of the same registrable domain (NAME.DOMAIN next to
// admin.DOMAIN and NAME-be.DOMAIN) can set a plain cookie for the whole domain, but never a
// __Host- one, so it cannot sign a visitor into another account or shadow their session. Over
// plain http (backpack dev) browsers refuse the prefix, and the plain name is used.
func SessionCookieName(name string, https bool) string {
	if https {
		return hostPrefix + name
	}
	return name
}

// ErrAmbiguousSession answers a request that carries two cookies of one session name: one of
// them was set by another host of the site, and using either could act for the wrong account.
var ErrAmbiguousSession = NewError(http.StatusUnauthorized, "ambiguous_session",
	"the request carries more than one session cookie of the same name; they have been cleared, sign in again")

// RefuseDuplicateCookies returns ErrAmbiguousSession (with the name in details.cookie) when the
// request carries more than one cookie of any of names, after adding Set-Cookie headers that
// clear every one of names, on the request's host and on its parent domains.
func RefuseDuplicateCookies(c echo.Context, secure bool, names ...string) error {
	req := c.Request()
	for _, name := range names {
		if len(req.CookiesNamed(name)) < 2 {
			continue
		}
		for _, n := range names {
			ClearCookie(c.Response(), req.Host, n, secure)
		}
		e := *ErrAmbiguousSession
		e.Details = map[string]any{"cookie": name}
		return &e
	}
	return nil
}

// ClearCookie adds Set-Cookie headers that remove the cookie name (Path=/) from the browser: on
// the host itself and, unless the name has the __Host- prefix, on each parent domain of host,
// where another host of the site may have planted a copy. Browsers ignore the headers for
// domains they would not have accepted a cookie for (public suffixes, say).
func ClearCookie(w http.ResponseWriter, host, name string, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Secure: secure})
	if strings.HasPrefix(name, hostPrefix) {
		return
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if net.ParseIP(host) != nil {
		return
	}
	for {
		i := strings.IndexByte(host, '.')
		if i < 0 {
			return
		}
		host = host[i+1:]
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", Domain: host, MaxAge: -1, Secure: secure})
	}
}
