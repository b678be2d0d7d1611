package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/names"
	"github.com/labstack/echo/v4"
)

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Name string `json:"name"`
	}
	cases := []struct {
		body, contentType string
		limit             int64
		wantStatus        int
	}{
		{`{"name":"a"}`, "application/json", 0, 0},
		{"{\"name\":\"a\"}\n  \t", "application/json; charset=utf-8", 0, 0},
		{`{"name":"a"}`, "text/plain", 0, http.StatusUnsupportedMediaType},
		{`{"name":"a"}`, "", 0, http.StatusUnsupportedMediaType},
		{`{"name":"a"}}`, "application/json", 0, http.StatusBadRequest},
		{`{"name":"a"} {"name":"b"}`, "application/json", 0, http.StatusBadRequest},
		{`{"name":"a"} x`, "application/json", 0, http.StatusBadRequest},
		{`{"nmae":"a"}`, "application/json", 0, http.StatusBadRequest},
		{`{"name":1}`, "application/json", 0, http.StatusBadRequest},
		{`{"name":`, "application/json", 0, http.StatusBadRequest},
		{``, "application/json", 0, http.StatusBadRequest},
		{`{"name":"a"}` + strings.Repeat(" ", 100), "application/json", 50, http.StatusRequestEntityTooLarge},
	}
	e := echo.New()
	for _, tc := range cases {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.contentType)
		rec := httptest.NewRecorder()
		if tc.limit > 0 {
			req.Body = http.MaxBytesReader(rec, io.NopCloser(strings.NewReader(tc.body)), tc.limit)
		}
		var v body
		err := DecodeJSON(e.NewContext(req, rec), &v)
		got := 0
		if err != nil {
			ae, ok := Common(err)
			if !ok {
				t.Fatalf("%q: unmapped error %v", tc.body, err)
			}
			got = ae.Status
		}
		if got != tc.wantStatus {
			t.Errorf("DecodeJSON(%q, %q) = %v (status %d), want %d", tc.body, tc.contentType, err, got, tc.wantStatus)
		}
	}
}

func TestCommon(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{NewError(http.StatusTeapot, "teapot", "short and stout"), http.StatusTeapot, "teapot"},
		{fmt.Errorf("wrapped: %w", &http.MaxBytesError{Limit: 10}), http.StatusRequestEntityTooLarge, "payload_too_large"},
		{names.Backend("Bad"), http.StatusBadRequest, "invalid_name"},
		{credentials.CheckPassword("short"), http.StatusBadRequest, "invalid_password"},
		{&credentials.LimitedError{Code: "too_many_attempts", Message: "slow down", RetryAfter: time.Minute}, http.StatusTooManyRequests, "too_many_attempts"},
		{echo.ErrNotFound, http.StatusNotFound, "not_found"},
		{echo.ErrMethodNotAllowed, http.StatusMethodNotAllowed, "method_not_allowed"},
		{context.Canceled, StatusClientClosedRequest, "client_closed_request"},
		{context.DeadlineExceeded, http.StatusServiceUnavailable, "timeout"},
	}
	for _, tc := range cases {
		e, ok := Common(tc.err)
		if !ok || e.Status != tc.status || e.Code != tc.code || e.Message == "" {
			t.Errorf("Common(%v) = %+v, %v; want %d %s", tc.err, e, ok, tc.status, tc.code)
		}
	}
	if _, ok := Common(errors.New("driver: connection reset")); ok {
		t.Error("an unknown error was mapped; it must stay internal")
	}
}

func TestErrorHandlerHidesInternalErrors(t *testing.T) {
	e := echo.New()
	var logged strings.Builder
	e.HTTPErrorHandler = ErrorHandler(newTextLogger(&logged), func(err error) *Error {
		if ae, ok := Common(err); ok {
			return ae
		}
		return Internal
	})
	e.GET("/boom", func(echo.Context) error { return errors.New("pq: password authentication failed for user secret") })
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "pq:") || !strings.Contains(rec.Body.String(), `"internal_error"`) {
		t.Fatalf("answer = %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logged.String(), "pq: password authentication failed") {
		t.Fatalf("the cause was not logged: %q", logged.String())
	}
}

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
