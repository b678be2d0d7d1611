package jsfunc

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestFetch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/away" {
			http.Redirect(w, r, "http://example.invalid/", http.StatusFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Reply", "yes")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"method": r.Method, "body": string(body), "token": r.Header.Get("X-Token")})
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	p := newTestPool(t, PoolConfig{Workers: 1})
	src := `async function onRequest(req, ctx) {
  if (req.away) {
    try { await ctx.fetch(req.url + '/away'); } catch (e) { return 'refused: ' + e.message; }
  }
  const r = await ctx.fetch(req.url + '/echo', {method: 'post', body: {a: 1}, headers: {'X-Token': 't1'}});
  return {status: r.status, ok: r.ok, reply: r.headers['x-reply'], body: await r.json()};
}`
	args, _ := json.Marshal(map[string]any{"url": srv.URL})
	inv := Invocation{Key: "fetch", Source: src, Handler: "onRequest", Args: []json.RawMessage{args},
		FetchHosts: []string{strings.ToUpper(u.Host)}, Host: newMemHost()}
	res, err := p.Invoke(ctxT(t), inv)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":200,"ok":true,"reply":"yes","body":{"body":"{\"a\":1}","method":"POST","token":"t1"}}`
	if string(res.Value) != want {
		t.Fatalf("got %s", res.Value)
	}

	// A redirect to a host that is not allowed is refused.
	inv.Args[0], _ = json.Marshal(map[string]any{"url": srv.URL, "away": true})
	res, err = p.Invoke(ctxT(t), inv)
	if err != nil || !strings.Contains(string(res.Value), "not in the function's allowed hosts") {
		t.Fatalf("redirect away: %s, %v", res.Value, err)
	}

	// Without the host in FetchHosts, the call throws.
	inv.FetchHosts = []string{"example.com"}
	inv.Args[0] = args
	_, err = p.Invoke(ctxT(t), inv)
	var te *ThrownError
	if !errors.As(err, &te) || !strings.Contains(te.Message, "not in the function's allowed hosts") {
		t.Fatalf("host not allowed: %v", err)
	}

	// Only http and https.
	res, err = invoke(t, p, "fetch-file", `function onRequest(req, ctx) {
  try { ctx.fetch('file:///etc/passwd'); } catch (e) { return e.message; }
}`, "onRequest", nil, `{}`)
	if err != nil || !strings.Contains(string(res.Value), "only http and https") {
		t.Fatalf("file URL: %s, %v", res.Value, err)
	}
}
