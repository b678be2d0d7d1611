package controlplane

import (
	"errors"
	"net/http"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/httpapi"
)

// Errors the control plane's handlers return; the codes are part of the contract the admin
// panel and operators' scripts rely on.
var (
	errNotSignedIn      = httpapi.NewError(http.StatusUnauthorized, "not_signed_in", "sign in first")
	errCSRF             = httpapi.NewError(http.StatusForbidden, "csrf_failed", "send the bkpk_csrf cookie's value in the X-CSRF-Token header")
	errOperatorOnly     = httpapi.NewError(http.StatusForbidden, "forbidden", "only the operator can do this")
	errBackendNotFound  = httpapi.NewError(http.StatusNotFound, "backend_not_found", "no such backend")
	errInvalidLogin     = httpapi.NewError(http.StatusUnauthorized, "invalid_credentials", "the email or password is wrong")
	errEmailTaken       = httpapi.NewError(http.StatusConflict, "email_taken", "an account with this email exists; sign in instead")
	errNameTaken        = httpapi.NewError(http.StatusConflict, "name_taken", "a backend with this name exists; choose another name")
	errRegistrationShut = httpapi.NewError(http.StatusForbidden, "registration_closed", "registration is closed; ask the operator for an account")
	errInviteInvalid    = httpapi.NewError(http.StatusForbidden, "invite_invalid", "registration needs a valid invite: this one is missing, used, expired or for another email")
)

// toAPIError maps any error a handler returns to what the client sees: the one place where
// store and runtime errors meet the contract's codes.
func toAPIError(err error) *httpapi.Error {
	if e, ok := httpapi.Common(err); ok {
		return e
	}
	switch {
	case errors.Is(err, store.ErrRegistrationClosed):
		return errRegistrationShut
	case errors.Is(err, store.ErrInviteInvalid):
		return errInviteInvalid
	case errors.Is(err, runtime.ErrUnknownService):
		return httpapi.BadRequest("unknown_service", err.Error())
	case errors.Is(err, runtime.ErrNotFound):
		return httpapi.NewError(http.StatusConflict, "backend_not_ready", "the backend is not running right now; try again once it is")
	}
	return httpapi.Internal
}
