package controlplane

import (
	"net/http"
	"time"

	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

type settingsJSON struct {
	Registration string `json:"registration"`
}

func (s *Server) getSettings(c echo.Context) error {
	mode, err := s.store.Setting(c.Request().Context(), store.SettingRegistration)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, settingsJSON{mode})
}

func (s *Server) patchSettings(c echo.Context) error {
	var req settingsJSON
	if err := decode(c, &req); err != nil {
		return err
	}
	switch store.RegistrationMode(req.Registration) {
	case store.RegistrationOpen, store.RegistrationInvite, store.RegistrationClosed:
	default:
		return &httpapi.Error{Status: http.StatusBadRequest, Code: "invalid_setting",
			Message: "registration must be open, invite or closed", Details: map[string]any{"field": "registration"}}
	}
	if err := s.store.SetSetting(c.Request().Context(), store.SettingRegistration, req.Registration); err != nil {
		return err
	}
	s.log.Info("registration mode changed", "mode", req.Registration, "by", developer(c).ID)
	return c.JSON(http.StatusOK, req)
}

// inviteJSON is an invite as listed; Code appears only in the answer to its creation, since
// only its hash is stored.
type inviteJSON struct {
	ID        string `json:"id"`
	Code      string `json:"code,omitempty"`
	Email     string `json:"email,omitempty"`
	CreatedAt string `json:"createdAt"`
	ExpiresAt string `json:"expiresAt"`
	UsedAt    string `json:"usedAt,omitempty"`
}

func toInviteJSON(inv store.Invite) inviteJSON {
	return inviteJSON{ID: inv.ID, Email: inv.Email, CreatedAt: rfc3339(inv.CreatedAt), ExpiresAt: rfc3339(inv.ExpiresAt), UsedAt: rfc3339(inv.UsedAt)}
}

type createInviteBody struct {
	Email string `json:"email"`
}

func (s *Server) createInvite(c echo.Context) error {
	var req createInviteBody
	if c.Request().ContentLength != 0 {
		if err := decode(c, &req); err != nil {
			return err
		}
	}
	if req.Email != "" {
		email, err := credentials.NormalizeEmail(req.Email)
		if err != nil {
			return err
		}
		req.Email = email
	}
	now := time.Now()
	code := randomToken()
	inv := store.Invite{ID: newID(), CodeHash: hashToken(code), Email: req.Email, CreatedBy: developer(c).ID,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.InviteTTL)}
	if err := s.store.CreateInvite(c.Request().Context(), inv); err != nil {
		return err
	}
	out := toInviteJSON(inv)
	out.Code = code
	return c.JSON(http.StatusCreated, out)
}

func (s *Server) listInvites(c echo.Context) error {
	invs, err := s.store.ListInvites(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]inviteJSON, len(invs))
	for i, inv := range invs {
		out[i] = toInviteJSON(inv)
	}
	return c.JSON(http.StatusOK, map[string]any{"invites": out})
}

func (s *Server) deleteInvite(c echo.Context) error {
	err := s.store.DeleteInvite(c.Request().Context(), c.Param("id"))
	if isNotFound(err) {
		return httpapi.NewError(http.StatusNotFound, "invite_not_found", "no such invite")
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
