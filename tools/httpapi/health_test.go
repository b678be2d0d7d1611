package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestReadyz: every check answering is 200 with each named ok; one failing is 503 not_ready
// naming it, and a hung check is cut off by the time limit instead of hanging the probe.
func TestReadyz(t *testing.T) {
	up := Check{Name: "db", Ping: func(context.Context) error { return nil }}
	down := Check{Name: "cache", Ping: func(context.Context) error { return errors.New("refused") }}
	hung := Check{Name: "slow", Ping: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	for _, tc := range []struct {
		checks []Check
		status int
		body   string
	}{
		{[]Check{up}, http.StatusOK, `{"checks":{"db":"ok"},"status":"ok"}`},
		{[]Check{up, down}, http.StatusServiceUnavailable, `"code":"not_ready","message":"gone","details":{"checks":{"cache":"unreachable","db":"ok"}}`},
		{[]Check{hung}, http.StatusServiceUnavailable, `"checks":{"slow":"unreachable"}`},
	} {
		e := echo.New()
		e.HTTPErrorHandler = ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)), func(err error) *Error {
			if e, ok := Common(err); ok {
				return e
			}
			return Internal
		})
		e.GET("/readyz", func(c echo.Context) error { return Readyz(c, "gone", tc.checks...) })
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("checks %v: %d %s", tc.checks, rec.Code, rec.Body)
		}
	}
}
