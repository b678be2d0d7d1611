package coreapi

import (
	"github.com/backpackhq/backpack/core"
	"github.com/labstack/echo/v4"
)

// callerOf is the caller of an HTTP request on either port: the operator on the admin port,
// to whom no collection rule applies, or the signed-in end user (anonymous when none).
func callerOf(c echo.Context) core.Caller {
	if admin, _ := c.Get(contextAdminKey).(bool); admin {
		return core.AdminCaller
	}
	session, _ := c.Get(contextSessionKey).(string)
	return core.Caller{UserID: sessionUser(c), Session: session}
}

// contextAdminKey marks requests authenticated with the admin token.
const contextAdminKey = "backpack.admin"
