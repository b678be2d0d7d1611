package controlplane

import (
	"errors"
	"net/http"
	"time"

	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/labstack/echo/v4"
)

// developerJSON is a developer account as the API shows it.
type developerJSON struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Role      string `json:"role"`
	CreatedAt string `json:"createdAt"`
}

func toDeveloperJSON(d store.Developer) developerJSON {
	return developerJSON{ID: d.ID, Email: d.Email, Role: string(d.Role), CreatedAt: rfc3339(d.CreatedAt)}
}

// signedIn is the answer to register and login: the account and the CSRF token to send with
// state-changing requests (also in the bkpk_csrf cookie).
type signedIn struct {
	Developer developerJSON `json:"developer"`
	CSRFToken string        `json:"csrfToken"`
}

type registerBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Invite   string `json:"invite"`
}

func (s *Server) register(c echo.Context) error {
	var req registerBody
	if err := decode(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.throttle.Register(ctx, c.RealIP()); err != nil {
		return err
	}
	email, hash, err := s.passwords.NewAccount(ctx, req.Email, req.Password)
	if err != nil {
		return err
	}
	reg := store.Registration{ID: newID(), Email: email, PasswordHash: hash, Now: time.Now()}
	if req.Invite != "" {
		reg.InviteCodeHash = hashToken(req.Invite)
	}
	d, err := s.store.Register(ctx, reg)
	if errors.Is(err, store.ErrConflict) {
		return errEmailTaken
	}
	if err != nil {
		return err
	}
	s.log.Info("developer registered", "developer", d.ID, "role", d.Role)
	csrf, err := s.openSession(c, d)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, signedIn{toDeveloperJSON(d), csrf})
}

type loginBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) login(c echo.Context) error {
	var req loginBody
	if err := decode(c, &req); err != nil {
		return err
	}
	email, err := credentials.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	if req.Password == "" || len(req.Password) > credentials.MaxPasswordBytes {
		return errInvalidLogin
	}
	ctx := c.Request().Context()
	attempt, err := s.throttle.Begin(ctx, email, c.RealIP())
	if err != nil {
		return err
	}
	d, err := s.store.DeveloperByEmail(ctx, email)
	if err != nil && !isNotFound(err) {
		return errors.Join(err, attempt.Cancel(ctx))
	}
	ok, err := s.passwords.Verify(ctx, d.PasswordHash, req.Password)
	if err != nil {
		return errors.Join(err, attempt.Cancel(ctx))
	}
	if !ok {
		// The attempt's places under the throttle stay taken: they count this failure.
		return errInvalidLogin
	}
	if err := attempt.Succeeded(ctx); err != nil {
		return err
	}
	csrf, err := s.openSession(c, d)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, signedIn{toDeveloperJSON(d), csrf})
}

func (s *Server) logout(c echo.Context) error {
	sess, _ := c.Get(ctxSession).(store.Session)
	if err := s.store.DeleteSession(c.Request().Context(), sess.TokenHash); err != nil && !isNotFound(err) {
		return err
	}
	s.signedOut(c.Request().Context())
	s.setCookies(c, "", "", time.Unix(0, 0))
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) me(c echo.Context) error {
	return c.JSON(http.StatusOK, toDeveloperJSON(developer(c)))
}

func (s *Server) listDevelopers(c echo.Context) error {
	devs, err := s.store.ListDevelopers(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]developerJSON, len(devs))
	for i, d := range devs {
		out[i] = toDeveloperJSON(d)
	}
	return c.JSON(http.StatusOK, map[string]any{"developers": out})
}
