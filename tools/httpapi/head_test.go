package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// TestHeadForGet: every GET route answers HEAD with its status and headers and no body, and a
// stream (which runs until its context ends) ends once its headers are out. A HEAD client
// reuses the connection right after the headers, so a stream left running would hold up the
// next request on it.
func TestHeadForGet(t *testing.T) {
	e := echo.New()
	HeadForGet(e)
	e.GET("/plain", func(c echo.Context) error { return c.String(http.StatusTeapot, "body") })
	e.GET("/stream", func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderContentType, "text/event-stream")
		c.Response().WriteHeader(http.StatusOK)
		c.Response().Flush()
		select {
		case <-c.Request().Context().Done():
			return nil
		case <-time.After(time.Minute):
			return nil
		}
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	client := &http.Client{Timeout: 10 * time.Second}

	res, err := client.Head(srv.URL + "/plain")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTeapot || res.ContentLength > 0 && res.Header.Get("Content-Length") != "4" {
		t.Errorf("HEAD /plain = %d (length %d); want GET's 418", res.StatusCode, res.ContentLength)
	}

	start := time.Now()
	res, err = client.Head(srv.URL + "/stream")
	if err != nil {
		t.Fatalf("HEAD on a stream: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get(echo.HeaderContentType) != "text/event-stream" {
		t.Errorf("HEAD /stream = %d %q", res.StatusCode, res.Header.Get(echo.HeaderContentType))
	}
	res, err = client.Get(srv.URL + "/plain")
	if err != nil {
		t.Fatalf("the request after HEAD on a stream, on the same connection: %v", err)
	}
	res.Body.Close()
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("HEAD on a stream and the next request took %s: the stream ran on after its headers", waited)
	}
}
