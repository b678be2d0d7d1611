package coreapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/filter"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/jsondoc"
	"github.com/labstack/echo/v4"
)

var errQueryTimeout = &httpapi.Error{Status: http.StatusServiceUnavailable, Code: "query_timeout",
	Message: "the database did not answer in time; try again, or narrow the query", RetryAfter: queryRetryAfter}

// statusOf is the status of each kind of refusal the data service gives.
var statusOf = map[core.Kind]int{
	core.Invalid:         http.StatusBadRequest,
	core.Unauthenticated: http.StatusUnauthorized,
	core.Forbidden:       http.StatusForbidden,
	core.NotFound:        http.StatusNotFound,
	core.Conflict:        http.StatusConflict,
	core.TooLarge:        http.StatusRequestEntityTooLarge,
	core.Unavailable:     http.StatusServiceUnavailable,
	core.Failed:          http.StatusInternalServerError,
}

// queryRetryAfter is the Retry-After of a query_timeout: enough for a passing load to ease.
const queryRetryAfter = 5 * time.Second

// errDatabaseUnavailable answers what needs the database while it cannot be reached (Mongo
// restarting, its node lost): 503 with the time Swarm usually takes to restart it, never 500.
var errDatabaseUnavailable = &httpapi.Error{Status: http.StatusServiceUnavailable, Code: "database_unavailable",
	Message: "the database cannot be reached right now; try again in a moment", RetryAfter: databaseRetryAfter}

// databaseRetryAfter is the Retry-After of a database_unavailable: about a Mongo restart.
const databaseRetryAfter = 5 * time.Second

// toAPIError maps any error a handler or middleware returns to what the client sees. It is the
// one place where internal errors meet the contract's codes; anything unrecognised is a 500
// whose cause is logged, never shown.
func toAPIError(err error) *httpapi.Error {
	// Before the deadline: a server the driver could not select until the request's deadline
	// is out of reach, not slow.
	if errors.Is(err, docstore.ErrUnavailable) {
		return errDatabaseUnavailable
	}
	// A database call past its deadline (queryContext) fails with the context's error, whichever
	// of the engine or the server gave up first.
	if errors.Is(err, context.DeadlineExceeded) {
		return errQueryTimeout
	}
	if e, ok := httpapi.Common(err); ok {
		return e
	}
	var (
		de  *core.Error
		fe  *filter.Error
		je  *jsondoc.Error
		dup *docstore.DuplicateError
	)
	switch {
	case errors.As(err, &de):
		status := statusOf[de.Kind]
		if de.Status != 0 {
			status = de.Status
		}
		return &httpapi.Error{Status: status, Code: de.Code, Message: de.Message, Details: de.Details}
	case errors.As(err, &dup):
		return duplicateValue(dup)
	case errors.As(err, &fe):
		return httpapi.BadRequest("invalid_query", fe.Msg)
	case errors.As(err, &je) && je.Limit != "":
		return &httpapi.Error{Status: http.StatusBadRequest, Code: "document_too_complex", Message: je.Msg,
			Details: map[string]any{"limit": je.Limit, "max": je.Max}}
	case errors.As(err, &je):
		return httpapi.BadRequest("invalid_json", je.Error())
	}
	return httpapi.Internal
}

// duplicateValue is a write that a unique index refused, on any port or the websocket.
func duplicateValue(de *docstore.DuplicateError) *httpapi.Error {
	return &httpapi.Error{Status: http.StatusConflict, Code: "duplicate_value",
		Message: fmt.Sprintf("another document already has the same %s (unique index %s)", strings.Join(de.Fields, ", "), de.Index),
		Details: map[string]any{"fields": de.Fields, "index": de.Index}}
}

// httpErrorHandler is echo's error handler for both listeners.
func (s *Server) httpErrorHandler(err error, c echo.Context) {
	httpapi.ErrorHandler(s.log, toAPIError)(err, c)
}
