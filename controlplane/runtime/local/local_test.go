package local

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
)

// TestLifecycle walks one backend through everything the control plane does with it: start,
// use, restart with a new key, publish a site, read logs, stop and start again, restart the
// whole runtime, and purge.
func TestLifecycle(t *testing.T) {
	dataDir := t.TempDir()
	r := newTestRuntime(t, dataDir)
	spec := testSpec("shop", "first-api-key-0123456789")

	p := mustApply(t, r, spec)
	for _, step := range []string{"opening database backends/shop/data.db", "starting api", "api ready"} {
		if !p.has(step) {
			t.Errorf("progress %q lacks %q", p.msgs, step)
		}
	}
	st, err := r.Status(context.Background(), "shop")
	if err != nil || !st.Ready || len(st.Services) != 2 {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	for i, name := range []string{"api", "web"} {
		if s := st.Services[i]; s.Name != name || s.Running != 1 || s.Desired != 1 || s.Node != Node || s.LastError != "" {
			t.Errorf("service %d = %+v", i, s)
		}
	}

	// The public API works in-process; the admin port over loopback HTTP, only with the token.
	wantStatus(t, "register", public(t, r, "shop", spec.APIKey, http.MethodPost, "/auth/register",
		map[string]string{"email": testEmail, "password": testPassword}), http.StatusCreated)
	if got := login(t, r, "shop", spec.APIKey); got != http.StatusOK {
		t.Fatalf("login: %d", got)
	}
	wantStatus(t, "no key", public(t, r, "shop", "", http.MethodGet, "/auth/me", nil), http.StatusUnauthorized)
	wantStatus(t, "create collection", adminJSON(t, r, spec, http.MethodPost, "/admin/collections", map[string]string{"name": "notes"}), http.StatusCreated)
	wantStatus(t, "create note", adminJSON(t, r, spec, http.MethodPost, "/admin/collections/notes/docs", map[string]string{"title": "hello"}), http.StatusCreated)
	var info struct {
		Counts map[string]int `json:"counts"`
	}
	res := adminJSON(t, r, spec, http.MethodGet, "/admin/info", nil)
	wantStatus(t, "admin info", res, http.StatusOK)
	if res.json(t, &info); info.Counts["users"] != 1 {
		t.Fatalf("admin info counts = %v", info.Counts)
	}
	wantStatus(t, "admin without token", admin(t, r, "shop", "", http.MethodGet, "/admin/info", nil, ""), http.StatusUnauthorized)
	wantStatus(t, "admin with wrong token", admin(t, r, "shop", "nope-nope-nope-nope", http.MethodGet, "/admin/info", nil, ""), http.StatusUnauthorized)

	// The same spec again leaves the running instance alone.
	before, _ := r.instance("shop")
	if p := mustApply(t, r, spec); !p.has("api already running") || p.has("starting api") {
		t.Errorf("second Apply progress = %q", p.msgs)
	}
	if after, _ := r.instance("shop"); after != before {
		t.Fatal("an identical Apply replaced the instance")
	}

	// A new API key restarts the API: the old key stops working, the new one works.
	spec.APIKey = "second-api-key-0123456789"
	if p := mustApply(t, r, spec); !p.has("starting api") {
		t.Errorf("Apply with a new key: progress %q", p.msgs)
	}
	if after, _ := r.instance("shop"); after == before {
		t.Fatal("a changed spec kept the old instance")
	}
	wantStatus(t, "old key", public(t, r, "shop", "first-api-key-0123456789", http.MethodPost, "/auth/login",
		map[string]string{"email": testEmail, "password": testPassword}), http.StatusUnauthorized)
	if got := login(t, r, "shop", spec.APIKey); got != http.StatusOK {
		t.Fatalf("login with the new key: %d", got)
	}

	checkSiteUpload(t, r, spec)
	checkLogs(t, r, "shop")

	// Stop without purge and start again: the data is still there. Following the logs of a
	// backend ends when it is removed.
	following := make(chan error, 1)
	go func() {
		following <- r.Logs(context.Background(), "shop", runtime.LogOptions{Follow: true}, io.Discard)
	}()
	time.Sleep(50 * time.Millisecond) // let it start; if it has not, it ends with ErrNotFound
	mustRemove(t, r, "shop", false)
	select {
	case err := <-following:
		if err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("follow across Remove: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("following the logs did not end when the backend was removed")
	}
	if _, err := r.Status(context.Background(), "shop"); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("Status after Remove: %v", err)
	}
	if _, ok := r.PublicHandler("shop"); ok {
		t.Fatal("public handler after Remove")
	}
	if _, ok := r.SiteHandler("shop"); ok {
		t.Fatal("site handler after Remove")
	}
	if _, err := r.AdminURL(context.Background(), "shop"); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("AdminURL after Remove: %v", err)
	}
	if err := r.Logs(context.Background(), "shop", runtime.LogOptions{}, io.Discard); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("Logs after Remove: %v", err)
	}
	mustRemove(t, r, "shop", false) // removing what is not running succeeds
	mustApply(t, r, spec)
	if got := login(t, r, "shop", spec.APIKey); got != http.StatusOK {
		t.Fatalf("login after Remove and Apply: %d", got)
	}
	if titles := noteTitles(t, r, spec); !slices.Equal(titles, []string{"hello"}) {
		t.Fatalf("notes after Remove and Apply = %q", titles)
	}
	if got := site(t, r, "shop", http.MethodGet, "/", nil); got.status != http.StatusOK || !strings.Contains(got.body, "release two") {
		t.Fatalf("site after Remove and Apply: %d %q", got.status, got.body)
	}

	// A new runtime on the same data directory finds everything again.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Apply(context.Background(), spec, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Apply after Close: %v", err)
	}
	r = newTestRuntime(t, dataDir)
	if _, err := r.Status(context.Background(), "shop"); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("a new runtime starts with nothing running: %v", err)
	}
	mustApply(t, r, spec)
	if got := login(t, r, "shop", spec.APIKey); got != http.StatusOK {
		t.Fatalf("login after a runtime restart: %d", got)
	}
	if titles := noteTitles(t, r, spec); !slices.Equal(titles, []string{"hello"}) {
		t.Fatalf("notes after a runtime restart = %q", titles)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	// Purging a backend that does not run (the process restarted) still removes its data.
	r = newTestRuntime(t, dataDir)
	var purge progressLog
	if err := r.Remove(context.Background(), "shop", Node, true, purge.add); err != nil {
		t.Fatal(err)
	}
	if !purge.has("removing database, files and site") {
		t.Errorf("purge progress = %q", purge.msgs)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "backends", "shop")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("backend directory after purge: %v", err)
	}
	mustRemove(t, r, "shop", true) // purging again succeeds

	mustApply(t, r, spec)
	if got := login(t, r, "shop", spec.APIKey); got != http.StatusUnauthorized {
		t.Fatalf("login after purge: %d, want 401", got)
	}
	if titles := noteTitles(t, r, spec); len(titles) != 0 {
		t.Fatalf("notes after purge = %q", titles)
	}
	if got := site(t, r, "shop", http.MethodGet, "/", nil); got.status != http.StatusNotFound {
		t.Fatalf("site after purge: %d", got.status)
	}
}

// checkSiteUpload publishes two releases through the admin port and checks the site handler
// follows the current one.
func checkSiteUpload(t *testing.T, r *Runtime, spec runtime.Spec) {
	t.Helper()
	if got := site(t, r, spec.Name, http.MethodGet, "/", nil); got.status != http.StatusNotFound || !strings.Contains(got.body, "No site has been uploaded for <strong>shop</strong>") {
		t.Fatalf("site before upload: %d %q", got.status, got.body)
	}
	put := func(zip []byte) {
		t.Helper()
		res := admin(t, r, spec.Name, spec.AdminToken, http.MethodPut, "/admin/site", bytes.NewReader(zip), "application/zip")
		wantStatus(t, "upload site", res, http.StatusCreated)
	}
	put(siteZip(t, "index.html", "<h1>release one</h1>", "assets/app.js", "console.log(1)"))
	if got := site(t, r, spec.Name, http.MethodGet, "/", nil); got.status != http.StatusOK || got.body != "<h1>release one</h1>" ||
		got.header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET / = %d %q %v", got.status, got.body, got.header)
	}
	if got := site(t, r, spec.Name, http.MethodGet, "/some/route", nil); got.status != http.StatusOK || got.body != "<h1>release one</h1>" {
		t.Fatalf("SPA route = %d %q", got.status, got.body)
	}
	asset := site(t, r, spec.Name, http.MethodGet, "/assets/app.js", nil)
	if asset.status != http.StatusOK || asset.body != "console.log(1)" || asset.header.Get("ETag") == "" ||
		asset.header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("asset = %d %q %v", asset.status, asset.body, asset.header)
	}
	if got := site(t, r, spec.Name, http.MethodGet, "/assets/app.js", http.Header{"If-None-Match": {asset.header.Get("ETag")}}); got.status != http.StatusNotModified {
		t.Fatalf("conditional asset = %d", got.status)
	}
	if got := site(t, r, spec.Name, http.MethodGet, "/x.js", nil); got.status != http.StatusNotFound {
		t.Fatalf("missing asset = %d", got.status)
	}
	if got := site(t, r, spec.Name, http.MethodPost, "/", nil); got.status != http.StatusMethodNotAllowed {
		t.Fatalf("POST / = %d", got.status)
	}
	put(siteZip(t, "index.html", "<h1>release two</h1>"))
	if got := site(t, r, spec.Name, http.MethodGet, "/", nil); got.body != "<h1>release two</h1>" {
		t.Fatalf("after a second upload GET / = %q", got.body)
	}
	if got := site(t, r, spec.Name, http.MethodGet, "/assets/app.js", nil); got.status != http.StatusNotFound {
		t.Fatalf("an asset of the old release = %d", got.status)
	}
}

// checkLogs reads the api and web logs, tails them, and follows a new line.
func checkLogs(t *testing.T, r *Runtime, name string) {
	t.Helper()
	api := logLines(t, r, name, runtime.LogOptions{Tail: runtime.AllLines})
	if !slices.ContainsFunc(api, func(l string) bool { return strings.Contains(l, `"path":"/auth/login"`) }) {
		t.Fatalf("api logs lack the login request:\n%s", strings.Join(api, "\n"))
	}
	for _, l := range api {
		if !json.Valid([]byte(l)) {
			t.Fatalf("api log line is not JSON: %q", l)
		}
	}
	if tail := logLines(t, r, name, runtime.LogOptions{Service: "api", Tail: 2}); len(tail) != 2 || !slices.Equal(tail, api[len(api)-2:]) {
		t.Fatalf("tail 2 = %q, all ends %q", tail, api[len(api)-2:])
	}
	if none := logLines(t, r, name, runtime.LogOptions{Service: "api", Tail: 0}); len(none) != 0 {
		t.Fatalf("tail 0 = %q, want no past lines (as docker logs --tail 0)", none)
	}
	web := logLines(t, r, name, runtime.LogOptions{Service: "web", Tail: runtime.AllLines})
	var entry struct {
		Method string `json:"method"`
		Path   string `json:"path"`
		Status int    `json:"status"`
		Bytes  int64  `json:"bytes"`
	}
	found := false
	for _, l := range web {
		if err := json.Unmarshal([]byte(l), &entry); err == nil && entry.Path == "/x.js" {
			found = entry.Method == http.MethodGet && entry.Status == http.StatusNotFound && entry.Bytes > 0
		}
	}
	if !found {
		t.Fatalf("web logs lack GET /x.js 404:\n%s", strings.Join(web, "\n"))
	}
	if err := r.Logs(context.Background(), name, runtime.LogOptions{Service: "db"}, io.Discard); !errors.Is(err, runtime.ErrUnknownService) {
		t.Fatalf("unknown service: %v", err)
	}
	if err := r.Logs(context.Background(), "nobody", runtime.LogOptions{}, io.Discard); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("unknown backend: %v", err)
	}

	// Follow: a request made after the stream started shows up in it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := r.Logs(ctx, name, runtime.LogOptions{Service: "web", Tail: 1, Follow: true}, pw)
		pw.Close()
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() { // the tail line: the stream has started
		t.Fatal("follow wrote nothing")
	}
	site(t, r, name, http.MethodGet, "/followed", nil)
	seen := make(chan bool, 1)
	go func() {
		for lines.Scan() {
			if strings.Contains(lines.Text(), `"path":"/followed"`) {
				seen <- true
				break
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case <-seen:
	case <-time.After(5 * time.Second):
		t.Fatal("the followed line did not arrive")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("follow ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end with its context")
	}
}

// TestIsolation runs two backends side by side (started concurrently): users, keys and admin
// tokens of one mean nothing to the other.
func TestIsolation(t *testing.T) {
	r := newTestRuntime(t, t.TempDir())
	alpha, beta := testSpec("alpha", "alpha-api-key-0123456789"), testSpec("beta", "beta-api-key-0123456789")
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, s := range []runtime.Spec{alpha, beta} {
		wg.Go(func() {
			_, err := r.Apply(context.Background(), s, nil)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	wantStatus(t, "register on alpha", public(t, r, "alpha", alpha.APIKey, http.MethodPost, "/auth/register",
		map[string]string{"email": testEmail, "password": testPassword}), http.StatusCreated)
	if got := login(t, r, "alpha", alpha.APIKey); got != http.StatusOK {
		t.Fatalf("login on alpha: %d", got)
	}
	if got := login(t, r, "beta", beta.APIKey); got != http.StatusUnauthorized {
		t.Fatalf("alpha's user logging in on beta: %d, want 401", got)
	}
	res := public(t, r, "beta", alpha.APIKey, http.MethodGet, "/collections", nil)
	wantStatus(t, "alpha's key on beta", res, http.StatusUnauthorized)
	wantStatus(t, "alpha's admin token on beta", admin(t, r, "beta", alpha.AdminToken, http.MethodGet, "/admin/info", nil, ""), http.StatusUnauthorized)
	wantStatus(t, "beta's own admin token", admin(t, r, "beta", beta.AdminToken, http.MethodGet, "/admin/info", nil, ""), http.StatusOK)

	alphaURL, _ := r.AdminURL(context.Background(), "alpha")
	betaURL, _ := r.AdminURL(context.Background(), "beta")
	if alphaURL == betaURL || !strings.HasPrefix(alphaURL, "http://127.0.0.1:") {
		t.Fatalf("admin URLs %q and %q", alphaURL, betaURL)
	}

	// Purging one leaves the other's data.
	mustRemove(t, r, "alpha", true)
	wantStatus(t, "beta after alpha's purge", admin(t, r, "beta", beta.AdminToken, http.MethodGet, "/admin/info", nil, ""), http.StatusOK)
	if _, err := os.Stat(filepath.Join(r.dataDir, "backends", "beta", "files")); err != nil {
		t.Fatalf("beta's files dir after alpha's purge: %v", err)
	}
}

// TestApplyRefusesBadSpecs keeps names that are not backend names away from paths and
// database names, and placements the local runtime cannot honour.
func TestApplyRefusesBadSpecs(t *testing.T) {
	r := newTestRuntime(t, t.TempDir())
	for _, spec := range []runtime.Spec{
		testSpec("../etc", "some-api-key-0123456789"),
		testSpec("A", "some-api-key-0123456789"),
		{Name: "shop", APIKey: "some-api-key-0123456789", AdminToken: "some-admin-token-0123456789", Node: "node-2"},
		{Name: "shop", AdminToken: "some-admin-token-0123456789"}, // no API key: coreapi refuses
	} {
		if _, err := r.Apply(context.Background(), spec, nil); err == nil {
			t.Errorf("Apply(%+v) succeeded", spec)
		}
	}
	if _, ok := r.PublicHandler("shop"); ok {
		t.Fatal("a refused Apply left an instance")
	}
	if err := r.Remove(context.Background(), "../etc", Node, true, nil); err == nil {
		t.Fatal("Remove of a bad name succeeded")
	}
}
