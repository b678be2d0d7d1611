package coreapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

type signInBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

var errInvalidCredentials = httpapi.NewError(http.StatusUnauthorized, "invalid_credentials", "the email or password is wrong")

func (s *Server) register(c echo.Context) error {
	var req signInBody
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.loginThrottle().Register(ctx, c.RealIP()); err != nil {
		return err
	}
	email, hash, err := s.passwords.NewAccount(ctx, req.Email, req.Password)
	if err != nil {
		return err
	}
	u, err := s.data.CreateUser(ctx, email, hash)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, u.Public())
}

// authenticate checks credentials under the login throttle and opens a session.
func (s *Server) authenticate(c echo.Context) (core.User, string, time.Time, error) {
	var req signInBody
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return core.User{}, "", time.Time{}, err
	}
	email, err := credentials.NormalizeEmail(req.Email)
	if err != nil {
		return core.User{}, "", time.Time{}, err
	}
	if req.Password == "" || len(req.Password) > credentials.MaxPasswordBytes {
		return core.User{}, "", time.Time{}, errInvalidCredentials
	}
	ctx := c.Request().Context()
	attempt, err := s.loginThrottle().Begin(ctx, email, c.RealIP())
	if err != nil {
		return core.User{}, "", time.Time{}, err
	}
	u, err := s.data.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, core.ErrNoUser) {
		return core.User{}, "", time.Time{}, errors.Join(err, attempt.Cancel(ctx))
	}
	ok, err := s.passwords.Verify(ctx, u.PasswordHash, req.Password)
	if err != nil {
		return core.User{}, "", time.Time{}, errors.Join(err, attempt.Cancel(ctx))
	}
	if !ok {
		// The attempt's places under the throttle stay taken: they count this failure.
		return core.User{}, "", time.Time{}, errInvalidCredentials
	}
	if err := attempt.Succeeded(ctx); err != nil {
		return core.User{}, "", time.Time{}, err
	}
	token, expires, err := s.openSession(ctx, u.ID.Hex())
	return u, token, expires, err
}

// openSession stores a new session for a user whose credentials were just checked, unless the
// user was deleted meanwhile.
//
// Deleting a user (core.Service.DeleteUser) removes the user, then the user's sessions. Here the session is stored first,
// then the user looked up again, in the database itself (this replica's cache may not have
// heard of a deletion on another one yet). If the user is still there, its deletion has not
// started, so it will find this session among the user's sessions and end it. If the user is
// gone, the deletion may have ended the user's sessions before this one was stored, so it is
// ended here, and the login fails as for an unknown account. The token is only handed out
// after this check, so no client ever holds a session of a deleted user.
func (s *Server) openSession(ctx context.Context, uid string) (string, time.Time, error) {
	token, err := newSessionToken()
	if err != nil {
		return "", time.Time{}, err
	}
	key := s.sessionKey(token)
	if err := s.eph.PutSession(ctx, key, uid, s.cfg.SessionTTL); err != nil {
		return "", time.Time{}, err
	}
	exists, err := s.data.UserStored(ctx, uid)
	if err == nil && exists {
		return token, time.Now().Add(s.cfg.SessionTTL), nil
	}
	if derr := s.eph.DeleteSession(context.WithoutCancel(ctx), key); derr != nil {
		return "", time.Time{}, fmt.Errorf("end the session of a deleted user: %w", derr)
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("open session: %w", err)
	}
	return "", time.Time{}, errInvalidCredentials
}

func (s *Server) login(c echo.Context) error {
	u, token, expires, err := s.authenticate(c)
	if err != nil {
		return err
	}
	s.setSessionCookie(c, token, expires)
	return c.JSON(http.StatusOK, u.Public())
}

type tokenResponse struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expiresAt"`
}

func (s *Server) token(c echo.Context) error {
	_, token, expires, err := s.authenticate(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tokenResponse{Token: token, ExpiresAt: expires.UTC().Format(core.TimestampLayout)})
}

// logout ends the caller's session in the store, so the token stops working everywhere at
// once, and clears the cookie. It succeeds for an anonymous caller too: the result is the same.
func (s *Server) logout(c echo.Context) error {
	if key, ok := c.Get(contextSessionKey).(string); ok {
		ctx := c.Request().Context()
		if err := s.eph.DeleteSession(ctx, key); err != nil {
			return err
		}
		s.data.Publish(ctx, core.Event{Kind: core.KindSession, Action: "end", Session: key})
	}
	s.clearSessionCookie(c)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) me(c echo.Context) error {
	uid := sessionUser(c)
	if uid == "" {
		return core.ErrNotSignedIn
	}
	u, err := s.data.UserByID(c.Request().Context(), uid)
	if errors.Is(err, core.ErrNoUser) {
		return core.ErrNotSignedIn
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u.Public())
}

// loginThrottle counts sign-in attempts and sign-ups in the backend's shared ephemeral store,
// so the limits hold across replicas.
func (s *Server) loginThrottle() credentials.Throttle {
	return s.cfg.Limits.Throttle(s.eph)
}
