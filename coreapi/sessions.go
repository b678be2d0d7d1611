package coreapi

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/backpackhq/backpack/tools/ephemeral"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// sessionCookie is the end users' session cookie of the contract, as named over plain http;
// over https it is __Host-bkpk_session (see sessionCookieName).
const sessionCookie = "bkpk_session"

// contextUserKey is where resolveSession leaves the signed-in user's id.
const contextUserKey = "backpack.user"

// contextSessionKey is where resolveSession leaves the session's storage key, for logout.
const contextSessionKey = "backpack.session"

// newSessionToken returns a random bearer secret and the key it is stored under. Only the
// SHA-256 of a token is stored, so a leaked Redis dump does not hand out live sessions.
func newSessionToken() (token, key string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("session token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, sessionKey(token), nil
}

func sessionKey(token string) string {
	d := sha256.Sum256([]byte(token))
	return hex.EncodeToString(d[:])
}

// requestToken finds the caller's session token: a bearer token wins over the cookie, so a
// script acting for one user is not confused by a browser cookie for another. A websocket
// handshake may carry it as ?token=, since browsers cannot set headers there.
func requestToken(c echo.Context) string {
	if t, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	if t := c.QueryParam("token"); t != "" && isWebsocketPath(c.Request().URL.Path) {
		return t
	}
	if ck, err := c.Cookie(sessionCookieName(c)); err == nil {
		return ck.Value
	}
	return ""
}

// sessionCookieName is the session cookie's name for this request: __Host-bkpk_session when the
// client came over https, which no other host of the site (another tenant's NAME.DOMAIN) can
// set for NAME-be.DOMAIN; only that name is read then. Plain http keeps bkpk_session.
func sessionCookieName(c echo.Context) string {
	return httpapi.SessionCookieName(sessionCookie, c.Scheme() == "https")
}

// resolveSession identifies the signed-in user, if any. An unknown or expired token makes the
// request anonymous; endpoints that need a user then answer 401. A request with two session
// cookies (another host of the site planted one for the whole domain) is refused and both are
// cleared, rather than the first deciding who the user is; health checks and the SDK, which
// need no session, are left alone.
func (s *Server) resolveSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !slices.Contains(unauthenticatedPaths, c.Request().URL.Path) {
			if err := httpapi.RefuseDuplicateCookies(c, c.Scheme() == "https", sessionCookieName(c)); err != nil {
				return err
			}
		}
		token := requestToken(c)
		if token == "" || len(token) > 512 {
			return next(c)
		}
		key := sessionKey(token)
		uid, err := s.eph.Session(c.Request().Context(), key)
		switch {
		case errors.Is(err, ephemeral.ErrNotFound):
		case err != nil:
			return fmt.Errorf("resolve session: %w", err)
		default:
			c.Set(contextUserKey, uid)
			c.Set(contextSessionKey, key)
		}
		return next(c)
	}
}

// sessionUser is the signed-in user's id, or "".
func sessionUser(c echo.Context) string {
	uid, _ := c.Get(contextUserKey).(string)
	return uid
}

// setSessionCookie sends the session cookie with the contract's attributes: HttpOnly,
// SameSite=Lax, host-only with Path=/, and Secure with the __Host- prefix whenever the client
// reached us over HTTPS (directly or through Traefik, which sets X-Forwarded-Proto).
func (s *Server) setSessionCookie(c echo.Context, token string, expires time.Time) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookieName(c), Value: token, Path: "/", Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Scheme() == "https",
	})
}

func (s *Server) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookieName(c), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Scheme() == "https",
	})
}
