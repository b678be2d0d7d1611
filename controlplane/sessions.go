package controlplane

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// The contract's cookies: the session (HttpOnly, SameSite=Strict) and the CSRF token, which
// scripts on the panel read and echo in X-CSRF-Token. These are their names over plain http;
// over https they carry the __Host- prefix (see cookieName).
const (
	sessionCookie = "bkpk_admin"
	csrfCookie    = "bkpk_csrf"
	csrfHeader    = "X-CSRF-Token"
)

const (
	ctxDeveloper = "developer"
	ctxSession   = "session"
)

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// openSession signs a developer in: a new session row and both cookies. It returns the CSRF
// token so API clients without cookie access can read it from the response.
func (s *Server) openSession(c echo.Context, d store.Developer) (string, error) {
	token, csrf := randomToken(), randomToken()
	now := time.Now()
	sess := store.Session{TokenHash: hashToken(token), DeveloperID: d.ID, CSRFToken: csrf, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	if err := s.store.CreateSession(c.Request().Context(), sess); err != nil {
		return "", err
	}
	s.setCookies(c, token, csrf, sess.ExpiresAt)
	return csrf, nil
}

// cookieName is the name a cookie of the control plane goes by: with the __Host- prefix when
// the public scheme is https, so that no backend's site (NAME.DOMAIN, on the same registrable
// domain as admin.DOMAIN) can set one for the panel.
func (s *Server) cookieName(base string) string {
	return httpapi.SessionCookieName(base, s.secureCookies())
}

func (s *Server) secureCookies() bool { return s.cfg.PublicScheme == "https" }

// setCookies sends both cookies, host-only (no Domain) with Path=/ as the __Host- prefix needs.
func (s *Server) setCookies(c echo.Context, token, csrf string, expires time.Time) {
	secure := s.secureCookies()
	maxAge := int(time.Until(expires).Seconds())
	if token == "" {
		maxAge = -1
	}
	c.SetCookie(&http.Cookie{Name: s.cookieName(sessionCookie), Value: token, Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteStrictMode, MaxAge: maxAge, Expires: expires})
	c.SetCookie(&http.Cookie{Name: s.cookieName(csrfCookie), Value: csrf, Path: "/", Secure: secure,
		SameSite: http.SameSiteStrictMode, MaxAge: maxAge, Expires: expires})
}

// resolveSession looks up the session cookie, if any, and for state-changing requests checks
// the CSRF header against the session's token. A request without a valid session carries on
// anonymous; requireDeveloper refuses it where an account is needed. An API request with two
// cookies of one name (another host of the site planted one) is refused and both are cleared:
// the first would otherwise decide whose account the developer acts in.
func (s *Server) resolveSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if strings.HasPrefix(c.Request().URL.Path, "/api/") {
			if err := httpapi.RefuseDuplicateCookies(c, s.secureCookies(), s.cookieName(sessionCookie), s.cookieName(csrfCookie)); err != nil {
				return err
			}
		}
		cookie, err := c.Cookie(s.cookieName(sessionCookie))
		if err != nil || cookie.Value == "" {
			return next(c)
		}
		sess, dev, err := s.store.SessionByTokenHash(c.Request().Context(), hashToken(cookie.Value), time.Now())
		if isNotFound(err) {
			s.setCookies(c, "", "", time.Unix(0, 0))
			return next(c)
		}
		if err != nil {
			return err
		}
		if !safeMethod(c.Request().Method) && !signInPaths[c.Request().URL.Path] {
			got := c.Request().Header.Get(csrfHeader)
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) != 1 {
				return errCSRF
			}
		}
		c.Set(ctxSession, sess)
		c.Set(ctxDeveloper, dev)
		return next(c)
	}
}

// signInPaths are not authenticated by the cookie (they check a password and open a new
// session), so signing in again with an old cookie jar needs no CSRF token.
var signInPaths = map[string]bool{"/api/auth/login": true, "/api/auth/register": true}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func (s *Server) requireDeveloper(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := c.Get(ctxDeveloper).(store.Developer); !ok {
			return errNotSignedIn
		}
		return next(c)
	}
}

func (s *Server) requireOperator(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if developer(c).Role != store.RoleOperator {
			return errOperatorOnly
		}
		return next(c)
	}
}

// developer is the signed-in caller; only call it behind requireDeveloper.
func developer(c echo.Context) store.Developer {
	d, _ := c.Get(ctxDeveloper).(store.Developer)
	return d
}

// sweepSessions deletes expired sessions hourly, so the table does not grow forever.
func (s *Server) sweepSessions(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := s.store.DeleteExpiredSessions(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep expired sessions", "err", err)
		} else if n > 0 {
			s.log.Info("swept expired sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
