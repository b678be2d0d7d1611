package openapicheck

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// HeadMatchesGet sends GET and then HEAD to every GET route of a router (path parameters
// filled from params, a wildcard with "x"), through client to base with header, and checks
// that HEAD answers with GET's status and content type and no body. Each request closes its
// connection and gives up reading after the headers, so streams (server-sent events, log
// follows) are checked too.
func HeadMatchesGet(t testing.TB, client *http.Client, base string, routes []*echo.Route, params map[string]string, header http.Header) {
	t.Helper()
	checked := 0
	for _, r := range routes {
		if r.Method != http.MethodGet {
			continue
		}
		path := echoParam.ReplaceAllStringFunc(r.Path, func(p string) string {
			if v, ok := params[p[1:]]; ok {
				return v
			}
			t.Fatalf("route %s: no value for parameter %s", r.Path, p)
			return ""
		})
		path = strings.Replace(path, "*", "x", 1)
		get, _ := send(t, client, http.MethodGet, base+path, header)
		head, body := send(t, client, http.MethodHead, base+path, header)
		if head.StatusCode != get.StatusCode || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") || len(body) != 0 {
			t.Errorf("HEAD %s (route %s) = %d %q with %d body bytes; GET = %d %q",
				path, r.Path, head.StatusCode, head.Header.Get("Content-Type"), len(body), get.StatusCode, get.Header.Get("Content-Type"))
		}
		checked++
	}
	if checked == 0 {
		t.Error("no GET routes")
	}
}

// send makes one request on its own connection and reads at most a little of the body.
func send(t testing.TB, client *http.Client, method, url string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	var body []byte
	if method == http.MethodHead {
		body, _ = io.ReadAll(io.LimitReader(res.Body, 1))
	}
	return res, body
}
