package coreapi

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/backpackhq/backpack/tools/ephemeral"
	"github.com/labstack/echo/v4"
)

// sessionCookie is the end users' session cookie of the contract.
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
	if ck, err := c.Cookie(sessionCookie); err == nil {
		return ck.Value
	}
	return ""
}

// resolveSession identifies the signed-in user, if any. An unknown or expired token makes the
// request anonymous; endpoints that need a user then answer 401.
func (s *Server) resolveSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
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
// SameSite=Lax, and Secure whenever the client reached us over HTTPS (directly or through
// Traefik, which sets X-Forwarded-Proto).
func (s *Server) setSessionCookie(c echo.Context, token string, expires time.Time) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Scheme() == "https",
	})
}

func (s *Server) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Scheme() == "https",
	})
}
