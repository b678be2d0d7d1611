package coreapi

import (
	"context"
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

// newSessionToken returns a random bearer secret.
func newSessionToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// sessionKey is the key a token's session is stored under: the SHA-256 of the backend's
// incarnation and the token. Only the digest is stored, so a leaked Redis dump does not hand
// out live sessions; and the incarnation binds the session to this backend's database, so a
// token of a purged backend means nothing to a new backend of the same name (see
// data's loadIncarnation).
func (s *Server) sessionKey(token string) string {
	h := sha256.New()
	h.Write([]byte(s.data.Incarnation()))
	h.Write([]byte{0})
	h.Write([]byte(token))
	return hex.EncodeToString(h.Sum(nil))
}

// sessionOwner is the one answer to "whose session is this key": the user of a live session
// whose user still exists, or "" for anyone else. Every HTTP request (through resolveSession)
// and every websocket handshake asks it.
func (s *Server) sessionOwner(ctx context.Context, key string) (string, error) {
	uid, err := s.eph.Session(ctx, key)
	if errors.Is(err, ephemeral.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("resolve session: %w", err)
	}
	exists, err := s.data.UserExists(ctx, uid)
	if err != nil {
		return "", fmt.Errorf("resolve session: %w", err)
	}
	if !exists {
		// A session that outlived its user's deletion (see openSession) ends here.
		if err := s.eph.DeleteSession(ctx, key); err != nil {
			s.log.Warn("end session of a deleted user", "err", err)
		}
		return "", nil
	}
	return uid, nil
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
	return httpapi.SessionCookieName(sessionCookie, overHTTPS(c))
}

// overHTTPS reports whether the client came over TLS: directly, or through a proxy that says so
// in X-Forwarded-Proto, which Traefik sets to "https" for requests and to "wss" for websocket
// handshakes.
func overHTTPS(c echo.Context) bool {
	scheme := c.Scheme()
	return scheme == "https" || scheme == "wss"
}

// resolveSession identifies the signed-in user, if any. An unknown or expired token, or one
// whose user was deleted, makes the request anonymous; endpoints that need a user then answer
// 401. A request with two session cookies (another host of the site planted one for the whole
// domain) is refused and both are cleared, rather than the first deciding who the user is;
// health checks and the SDK, which need no session, are left alone.
func (s *Server) resolveSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !slices.Contains(unauthenticatedPaths, c.Request().URL.Path) {
			if err := httpapi.RefuseDuplicateCookies(c, overHTTPS(c), sessionCookieName(c)); err != nil {
				return err
			}
		}
		token := requestToken(c)
		if token == "" || len(token) > 512 {
			return next(c)
		}
		key := s.sessionKey(token)
		uid, err := s.sessionOwner(c.Request().Context(), key)
		if err != nil {
			return err
		}
		if uid != "" {
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
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: overHTTPS(c),
	})
}

func (s *Server) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookieName(c), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: overHTTPS(c),
	})
}
