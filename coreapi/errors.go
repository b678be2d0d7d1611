package coreapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/filter"
	"github.com/backpackhq/backpack/tools/jsondoc"
	"github.com/backpackhq/backpack/tools/names"
	"github.com/labstack/echo/v4"
)

// Error is an error a client should see: a status, a stable snake_case code and a message in
// plain words. Handlers return it; writeError renders it in the contract's shape.
type Error struct {
	Status     int
	Code       string
	Message    string
	Details    map[string]any
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func apiError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

// statusClientClosedRequest is nginx's conventional status for a request the client abandoned;
// it appears only in logs and metrics.
const statusClientClosedRequest = 499

func badRequest(code, msg string) *Error { return apiError(http.StatusBadRequest, code, msg) }

var (
	errNotSignedIn        = apiError(http.StatusUnauthorized, "not_signed_in", "sign in first")
	errCollectionNotFound = apiError(http.StatusNotFound, "collection_not_found", "no such collection")
	errDocumentNotFound   = apiError(http.StatusNotFound, "document_not_found", "no such document")
	errFileNotFound       = apiError(http.StatusNotFound, "file_not_found", "no such file")
)

// errorBody is the contract's error shape.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// toAPIError maps any error a handler or middleware returns to what the client sees. It is the
// one place where internal errors meet the contract's codes; anything unrecognised is a 500
// whose cause is logged, never shown.
func toAPIError(err error) *Error {
	var (
		ae       *Error
		he       *echo.HTTPError
		fe       *filter.Error
		je       *jsondoc.Error
		ne       *names.Error
		re       *credentials.RuleError
		le       *credentials.LimitedError
		maxBytes *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &maxBytes):
		return apiError(http.StatusRequestEntityTooLarge, "payload_too_large",
			fmt.Sprintf("request body is larger than %d bytes", maxBytes.Limit))
	case errors.As(err, &fe):
		return badRequest("invalid_query", fe.Msg)
	case errors.As(err, &je):
		return badRequest("invalid_json", je.Error())
	case errors.As(err, &ne):
		return badRequest("invalid_name", ne.Error())
	case errors.As(err, &re):
		return &Error{Status: http.StatusBadRequest, Code: re.Code, Message: re.Message, Details: map[string]any{"field": re.Field}}
	case errors.As(err, &le):
		return &Error{Status: http.StatusTooManyRequests, Code: "too_many_attempts",
			Message: "too many failed sign-in attempts; try again later", RetryAfter: le.RetryAfter}
	case errors.As(err, &he):
		return fromHTTPError(he)
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer, and it is not our failure.
		return apiError(statusClientClosedRequest, "client_closed_request", "the client closed the request")
	case errors.Is(err, context.DeadlineExceeded):
		return apiError(http.StatusServiceUnavailable, "timeout", "the request took too long")
	}
	return apiError(http.StatusInternalServerError, "internal_error", "something went wrong on our side")
}

func fromHTTPError(he *echo.HTTPError) *Error {
	msg := http.StatusText(he.Code)
	if s, ok := he.Message.(string); ok && s != "" {
		msg = s
	}
	code := map[int]string{
		http.StatusNotFound:              "not_found",
		http.StatusMethodNotAllowed:      "method_not_allowed",
		http.StatusRequestEntityTooLarge: "payload_too_large",
		http.StatusUnsupportedMediaType:  "unsupported_media_type",
		http.StatusBadRequest:            "bad_request",
		http.StatusUnauthorized:          "unauthorized",
		http.StatusForbidden:             "forbidden",
		http.StatusTooManyRequests:       "too_many_requests",
		http.StatusServiceUnavailable:    "unavailable",
	}[he.Code]
	if code == "" {
		if he.Code >= 500 {
			return apiError(http.StatusInternalServerError, "internal_error", "something went wrong on our side")
		}
		code = "bad_request"
	}
	return apiError(he.Code, code, msg)
}

// httpErrorHandler is echo's error handler for both listeners.
func (s *Server) httpErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	ae := toAPIError(err)
	if ae.Status == http.StatusInternalServerError {
		s.log.ErrorContext(c.Request().Context(), "request failed", "err", err,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID), "path", c.Path())
	}
	if ae.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int((ae.RetryAfter+time.Second-1)/time.Second)))
	}
	body := errorBody{Error: errorDetail{Code: ae.Code, Message: ae.Message, Details: ae.Details}}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(ae.Status)
		return
	}
	_ = c.JSON(ae.Status, body)
}
