package coreapi

import (
	"context"
	"net/http"
	"time"

	"errors"

	"github.com/backpackhq/backpack/tools/filter"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/jsondoc"
	"github.com/labstack/echo/v4"
)

var (
	errNotSignedIn        = httpapi.NewError(http.StatusUnauthorized, "not_signed_in", "sign in first")
	errCollectionNotFound = httpapi.NewError(http.StatusNotFound, "collection_not_found", "no such collection")
	errDocumentNotFound   = httpapi.NewError(http.StatusNotFound, "document_not_found", "no such document")
	errFileNotFound       = httpapi.NewError(http.StatusNotFound, "file_not_found", "no such file")
	errQueryTimeout       = &httpapi.Error{Status: http.StatusServiceUnavailable, Code: "query_timeout",
		Message: "the database did not answer in time; try again, or narrow the query", RetryAfter: queryRetryAfter}
)

// queryRetryAfter is the Retry-After of a query_timeout: enough for a passing load to ease.
const queryRetryAfter = 5 * time.Second

// toAPIError maps any error a handler or middleware returns to what the client sees. It is the
// one place where internal errors meet the contract's codes; anything unrecognised is a 500
// whose cause is logged, never shown.
func toAPIError(err error) *httpapi.Error {
	// A database call past its deadline (queryContext) fails with the context's error, whichever
	// of the engine or the server gave up first.
	if errors.Is(err, context.DeadlineExceeded) {
		return errQueryTimeout
	}
	if e, ok := httpapi.Common(err); ok {
		return e
	}
	var (
		fe *filter.Error
		je *jsondoc.Error
	)
	switch {
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

// httpErrorHandler is echo's error handler for both listeners.
func (s *Server) httpErrorHandler(err error, c echo.Context) {
	httpapi.ErrorHandler(s.log, toAPIError)(err, c)
}
