// Package httpapi is what Backpack's two HTTP APIs (a backend's coreapi and the control plane)
// share at their edge: the contract's error shape, request ids, request logs and strict JSON
// bodies, so both answer clients the same way.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/names"
	"github.com/labstack/echo/v4"
)

// Error is an error a client should see: a status, a stable snake_case code and a message in
// plain words. Handlers return it; Write renders it in the contract's shape.
type Error struct {
	Status     int
	Code       string
	Message    string
	Details    map[string]any
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// NewError is shorthand for an Error without details.
func NewError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

// BadRequest is a 400 with the given code.
func BadRequest(code, msg string) *Error { return NewError(http.StatusBadRequest, code, msg) }

// StatusClientClosedRequest is nginx's conventional status for a request the client abandoned;
// it appears only in logs and metrics.
const StatusClientClosedRequest = 499

// Internal is what a client sees of a failure that is ours; the cause is logged, never shown.
var Internal = NewError(http.StatusInternalServerError, "internal_error", "something went wrong on our side")

// ErrorBody is the contract's error shape.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// Common maps the errors both APIs produce alike (their own Errors, oversized bodies, bad
// names and credentials, echo's routing errors, cancelled requests) and reports false for
// anything else, which the caller maps or treats as internal.
func Common(err error) (*Error, bool) {
	var (
		ae       *Error
		he       *echo.HTTPError
		ne       *names.Error
		re       *credentials.RuleError
		le       *credentials.LimitedError
		maxBytes *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
		return ae, true
	case errors.As(err, &maxBytes):
		return NewError(http.StatusRequestEntityTooLarge, "payload_too_large",
			fmt.Sprintf("request body is larger than %d bytes", maxBytes.Limit)), true
	case errors.As(err, &ne):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_name", Message: ne.Error(),
			Details: map[string]any{"kind": ne.Kind, "reason": ne.Msg}}, true
	case errors.As(err, &re):
		return &Error{Status: http.StatusBadRequest, Code: re.Code, Message: re.Message, Details: map[string]any{"field": re.Field}}, true
	case errors.As(err, &le):
		return &Error{Status: http.StatusTooManyRequests, Code: le.Code, Message: le.Message, RetryAfter: le.RetryAfter}, true
	case errors.As(err, &he):
		return fromHTTPError(he), true
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer, and it is not our failure.
		return NewError(StatusClientClosedRequest, "client_closed_request", "the client closed the request"), true
	case errors.Is(err, context.DeadlineExceeded):
		return NewError(http.StatusServiceUnavailable, "timeout", "the request took too long"), true
	}
	return nil, false
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
			return Internal
		}
		code = "bad_request"
	}
	return NewError(he.Code, code, msg)
}

// Write sends e in the contract's shape (headers only for HEAD, the same as GET's), with
// Retry-After when set.
func Write(c echo.Context, e *Error) {
	if e.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	if c.Request().Method == http.MethodHead {
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		_ = c.NoContent(e.Status)
		return
	}
	_ = c.JSON(e.Status, ErrorBody{Error: ErrorDetail{Code: e.Code, Message: e.Message, Details: e.Details}})
}

// ErrorHandler is an echo HTTPErrorHandler: it maps err with toError, logs the cause of
// internal errors (never shown to the client) and writes the answer.
func ErrorHandler(log *slog.Logger, toError func(error) *Error) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		e := toError(err)
		if e.Status == http.StatusInternalServerError {
			log.ErrorContext(c.Request().Context(), "request failed", "err", err,
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID), "path", c.Path())
		}
		Write(c, e)
	}
}
