package coreapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/backpackhq/backpack/core"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
)

// adminClient talks to the admin port with the admin token, as the control plane does.
type adminClient struct {
	api   *testAPI
	token string
}

func (a *testAPI) adminClient() *adminClient { return &adminClient{api: a, token: testAdminToken} }

// do sends a prepared request and reads the whole answer.
func (a *testAPI) do(req *http.Request) *response {
	a.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{t: a.t, status: res.StatusCode, header: res.Header, body: b}
}

func (c *adminClient) raw(method, path string, body io.Reader, contentType string) *response {
	c.api.t.Helper()
	req, err := http.NewRequest(method, c.api.admin+path, body)
	if err != nil {
		c.api.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return c.api.do(req)
}

func (c *adminClient) send(method, path string, body any) *response {
	c.api.t.Helper()
	if body == nil {
		return c.raw(method, path, nil, "")
	}
	j, err := json.Marshal(body)
	if err != nil {
		c.api.t.Fatal(err)
	}
	return c.raw(method, path, bytes.NewReader(j), "application/json")
}

func (c *adminClient) get(path string) *response {
	return c.send(http.MethodGet, path, nil)
}

func (c *adminClient) post(path string, body any) *response {
	return c.send(http.MethodPost, path, body)
}

func (c *adminClient) put(path string, body any) *response {
	return c.send(http.MethodPut, path, body)
}

func (c *adminClient) patch(path string, body any) *response {
	return c.send(http.MethodPatch, path, body)
}

func (c *adminClient) del(path string) *response {
	return c.send(http.MethodDelete, path, nil)
}

func (c *adminClient) mustStatus(want int, r *response) *response {
	c.api.t.Helper()
	return (&client{api: c.api}).mustStatus(want, r)
}

func (c *adminClient) expectError(r *response, status int, code string) {
	c.api.t.Helper()
	(&client{api: c.api}).expectError(r, status, code)
}

// dialAdminWS opens the admin change stream with the admin token.
func (a *testAPI) dialAdminWS() *wsClient {
	a.t.Helper()
	conn, res, err := a.tryDialAdminWS("", http.Header{"Authorization": {"Bearer " + testAdminToken}})
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		a.t.Fatalf("dial /admin/ws: %v (status %d)", err, status)
	}
	return newWSClient(a.t, conn)
}

func (a *testAPI) tryDialAdminWS(query string, header http.Header) (*websocket.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(a.admin, "http") + "/admin/ws" + query
	conn, res, err := websocket.DefaultDialer.Dial(u, header)
	if err == nil {
		a.t.Cleanup(func() { _ = conn.Close() })
	}
	return conn, res, err
}

// expectAdminEvent waits for a change event of this kind and action on the admin stream.
func expectAdminEvent(w *wsClient, kind, action string, match func(m, resp map[string]any) bool) map[string]any {
	w.t.Helper()
	return w.expect(func(m map[string]any) bool {
		resp, _ := m["response"].(map[string]any)
		return m["requestId"] == nil && m["kind"] == kind && m["action"] == action && resp != nil && match(m, resp)
	})
}

const (
	someUserID = "0123456789abcdef01234567"
	someDocID  = "0123456789abcdef01234568"
)

// adminRoutes lists the admin router's routes with their parameters filled in, so every
// route added later is covered by the access tests without editing them.
func adminRoutes(t *testing.T, api *testAPI) []struct{ method, path string } {
	t.Helper()
	fill := strings.NewReplacer(":collection", "cars", ":userId", someUserID, ":id", someDocID, ":filename", "a.txt", ":name", "hello")
	var out []struct{ method, path string }
	seen := map[string]bool{}
	for _, r := range api.srv.AdminHandler().(*echo.Echo).Routes() {
		if strings.Contains(r.Path, "*") || slices.Contains(adminUnauthenticatedPaths, r.Path) {
			continue
		}
		out = append(out, struct{ method, path string }{r.Method, fill.Replace(r.Path)})
		seen[r.Method+" "+r.Path] = true
	}
	// The contract's routes must all be there, or the loops below would prove little.
	for _, want := range []string{
		"GET /metrics", "GET /admin/info", "GET /admin/users", "GET /admin/users/:id", "DELETE /admin/users/:id",
		"GET /admin/collections", "POST /admin/collections", "PATCH /admin/collections/:collection",
		"DELETE /admin/collections/:collection", "GET /admin/collections/:collection/docs",
		"POST /admin/collections/:collection/docs", "GET /admin/collections/:collection/docs/:id",
		"PUT /admin/collections/:collection/docs/:id", "PATCH /admin/collections/:collection/docs/:id",
		"DELETE /admin/collections/:collection/docs/:id", "GET /admin/collections/:collection/indexes",
		"POST /admin/collections/:collection/indexes", "DELETE /admin/collections/:collection/indexes/:index", "GET /admin/files", "GET /admin/files/:userId/:filename",
		"DELETE /admin/files/:userId/:filename", "GET /admin/site", "PUT /admin/site", "POST /admin/site/rollback", "GET /admin/settings",
		"PATCH /admin/settings", "GET /admin/ws", "GET /admin/functions", "GET /admin/functions/:name", "PUT /admin/functions/:name",
		"DELETE /admin/functions/:name", "GET /admin/functions/:name/logs", "POST /admin/functions/:name/invoke", "GET /admin/backup",
	} {
		if !seen[want] {
			t.Fatalf("admin router has no route %s (routes: %v)", want, seen)
		}
	}
	return out
}

func TestAdminRequiresToken(t *testing.T) {
	api := newTestAPI(t)
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	badCredentials := []struct {
		name   string
		header http.Header
	}{
		{"no token", http.Header{}},
		{"wrong token", http.Header{"Authorization": {"Bearer wrong-token-0123456789"}}},
		{"token with extra byte", http.Header{"Authorization": {"Bearer " + testAdminToken + "x"}}},
		{"token prefix", http.Header{"Authorization": {"Bearer " + testAdminToken[:len(testAdminToken)-1]}}},
		{"empty bearer", http.Header{"Authorization": {"Bearer "}}},
		{"token without scheme", http.Header{"Authorization": {testAdminToken}}},
		{"API key as bearer", http.Header{"Authorization": {"Bearer " + testAPIKey}}},
		{"API key header", http.Header{"X-API-Key": {testAPIKey}}},
		{"token in API key header", http.Header{"X-API-Key": {testAdminToken}}},
		{"basic with token as password", http.Header{"Authorization": {basic("admin", testAdminToken)}}},
		{"basic with token as user", http.Header{"Authorization": {basic(testAdminToken, "")}}},
		{"basic scheme, raw token", http.Header{"Authorization": {"Basic " + testAdminToken}}},
	}
	routes := adminRoutes(t, api)
	for _, r := range routes {
		for _, bc := range badCredentials {
			req, err := http.NewRequest(r.method, api.admin+r.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range bc.header {
				req.Header[k] = v
			}
			res := api.do(req)
			// HEAD, answered wherever GET is, has the status and headers but no body.
			var e httpapi.ErrorBody
			if res.status != http.StatusUnauthorized || r.method != http.MethodHead && (json.Unmarshal(res.body, &e) != nil ||
				e.Error.Code != "invalid_admin_token" || e.Error.Message == "") {
				t.Errorf("%s %s with %s: %d %s, want 401 invalid_admin_token", r.method, r.path, bc.name, res.status, res.body)
			}
			if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("%s %s with %s: content type %q", r.method, r.path, bc.name, ct)
			}
		}
		// With the token the same request gets past the check (whatever the handler then says).
		req, _ := http.NewRequest(r.method, api.admin+r.path, nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		if res := api.do(req); res.status == http.StatusUnauthorized {
			t.Errorf("%s %s with the token: %d %s", r.method, r.path, res.status, res.body)
		}
	}

	// The change stream's handshake is refused the same way, also with credentials in the query.
	for _, bc := range badCredentials {
		if _, res, err := api.tryDialAdminWS("", bc.header); err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
			t.Errorf("/admin/ws with %s: %v %v", bc.name, err, res)
		}
	}
	for _, q := range []string{"?token=" + testAdminToken, "?apiKey=" + testAPIKey, "?access_token=" + testAdminToken} {
		if _, res, err := api.tryDialAdminWS(q, http.Header{}); err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
			t.Errorf("/admin/ws%s: %v %v", q, err, res)
		}
	}

	// A refused request has no effect: no release, no collection, no rotated key.
	bad := &adminClient{api: api, token: "wrong-token-0123456789"}
	bad.expectError(bad.raw(http.MethodPut, "/admin/site", bytes.NewReader(siteZip(t, map[string]string{"index.html": "x"})), "application/zip"),
		401, "invalid_admin_token")
	bad.expectError(bad.post("/admin/collections", map[string]string{"name": "cars"}), 401, "invalid_admin_token")
	bad.expectError(bad.patch("/admin/settings", map[string]any{"rotateApiKey": true}), 401, "invalid_admin_token")
	adm := api.adminClient()
	if site := adm.mustStatus(http.StatusOK, adm.get("/admin/site")); !bytes.Equal(bytes.TrimSpace(site.body), []byte(`{"current":null,"releases":[]}`)) {
		t.Fatalf("site after refused upload = %s", site.body)
	}
	if colls := adm.mustStatus(http.StatusOK, adm.get("/admin/collections")).docs(); len(colls) != 0 {
		t.Fatalf("collections after refused create = %v", colls)
	}
	c := api.client()
	c.expectError(c.get("/auth/me"), 401, "not_signed_in") // the API key still works

	// The health checks answer without a token, and only them: the control plane polls
	// readiness before it has a backend's token at hand.
	for _, path := range adminUnauthenticatedPaths {
		res := api.do(mustRequest(t, http.MethodGet, api.admin+path))
		if res.status != http.StatusOK || !strings.Contains(string(res.body), `"ok"`) {
			t.Errorf("GET %s on the admin port without a token: %d %s", path, res.status, res.body)
		}
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestAdminNotOnPublicPort(t *testing.T) {
	api := newTestAPI(t)
	c, uid := api.signedIn()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "cars"}))
	c.mustStatus(http.StatusCreated, c.post("/cars", map[string]any{"secret": "car-data"}))
	c.mustStatus(http.StatusCreated, c.upload(http.MethodPost, "/files", filePart("a.txt", "file-data")))
	email := c.mustStatus(http.StatusOK, c.get("/auth/me")).doc()["email"].(string)
	var cookie string
	for _, ck := range c.http.Jar.Cookies(mustParse(api.url)) {
		cookie = ck.Name + "=" + ck.Value
	}
	if cookie == "" {
		t.Fatal("no session cookie")
	}

	credentials := []struct {
		name   string
		header http.Header
	}{
		{"session", http.Header{"X-Api-Key": {testAPIKey}, "Cookie": {cookie}}},
		{"session and admin bearer", http.Header{"X-Api-Key": {testAPIKey}, "Cookie": {cookie}, "Authorization": {"Bearer " + testAdminToken}}},
		{"admin bearer", http.Header{"X-Api-Key": {testAPIKey}, "Authorization": {"Bearer " + testAdminToken}}},
		{"admin token as API key", http.Header{"X-Api-Key": {testAdminToken}, "Cookie": {cookie}}},
	}
	var paths []string
	for _, r := range adminRoutes(t, api) {
		p := strings.ReplaceAll(r.path, someUserID, uid)
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	// Spellings a router or a proxy might treat as the same path.
	paths = append(paths, "/admin", "/admin/", "/admin/users/", "//admin/users", "/%61dmin/users", "/admin/info?x=1")
	// What an answer would hold if it leaked admin data.
	leaks := []string{email, uid, "car-data", "counts", "corsOrigins", "apiKey", "releases", "backpack_api_", testAdminToken, testAPIKey}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	for _, p := range paths {
		for _, m := range methods {
			for _, cr := range credentials {
				var body io.Reader
				if m != http.MethodGet && m != http.MethodDelete {
					body = strings.NewReader(`{}`)
				}
				req, err := http.NewRequest(m, api.url+p, body)
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range cr.header {
					req.Header[k] = v
				}
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				res := api.do(req)
				if res.status != http.StatusNotFound && res.status != http.StatusMethodNotAllowed && res.status != http.StatusUnauthorized {
					t.Errorf("public %s %s with %s: %d %s", m, p, cr.name, res.status, res.body)
				}
				if res.errorCode() == "" {
					t.Errorf("public %s %s with %s: not an error body: %s", m, p, cr.name, res.body)
				}
				for _, leak := range leaks {
					if strings.Contains(string(res.body), leak) {
						t.Errorf("public %s %s with %s: answer holds %q: %s", m, p, cr.name, leak, res.body)
					}
				}
			}
		}
	}
	// Nor does the public port open the admin change stream.
	u := "ws" + strings.TrimPrefix(api.url, "http") + "/admin/ws?apiKey=" + testAPIKey
	for _, cr := range credentials {
		conn, res, err := websocket.DefaultDialer.Dial(u, cr.header)
		if err == nil {
			_ = conn.Close()
			t.Errorf("public /admin/ws with %s: upgraded", cr.name)
		} else if res == nil || res.StatusCode/100 == 2 {
			t.Errorf("public /admin/ws with %s: %v %v", cr.name, err, res)
		}
	}
	// And the user's data is untouched by all of the above.
	if docs := c.mustStatus(http.StatusOK, c.get("/cars")).docs(); len(docs) != 1 {
		t.Fatalf("cars = %v", docs)
	}
	c.mustStatus(http.StatusOK, c.get("/files/"+uid+"/a.txt"))
	c.mustStatus(http.StatusOK, c.get("/auth/me"))
}

func TestAdminInfo(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	info := adm.mustStatus(http.StatusOK, adm.get("/admin/info")).doc()
	if info["version"] != Version || info["connections"] != float64(0) {
		t.Fatalf("info = %v", info)
	}
	if counts, _ := info["counts"].(map[string]any); counts["users"] != float64(0) || counts["collections"] != float64(0) || counts["files"] != float64(0) {
		t.Fatalf("counts on an empty backend = %v", info["counts"])
	}
	if _, err := time.Parse(time.RFC3339, info["startedAt"].(string)); err != nil {
		t.Fatalf("startedAt = %v: %v", info["startedAt"], err)
	}

	ann, _ := api.signedIn()
	bob, _ := api.signedIn()
	for _, name := range []string{"cars", "boats", "planes"} {
		adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": name}))
	}
	ann.mustStatus(http.StatusCreated, ann.upload(http.MethodPost, "/files", filePart("a.txt", "a")))
	ann.mustStatus(http.StatusCreated, ann.upload(http.MethodPost, "/files", filePart("b.txt", "b")))
	bob.mustStatus(http.StatusCreated, bob.upload(http.MethodPost, "/files", filePart("a.txt", "a")))
	ann.mustStatus(http.StatusCreated, ann.post("/cars", map[string]any{"n": 1}))
	bob.dialWS()
	waitFor(t, func() bool {
		return adm.mustStatus(http.StatusOK, adm.get("/admin/info")).doc()["connections"] == float64(1)
	})

	time.Sleep(1100 * time.Millisecond) // so the uptime is at least a second
	info = adm.mustStatus(http.StatusOK, adm.get("/admin/info")).doc()
	counts, _ := info["counts"].(map[string]any)
	if counts["users"] != float64(2) || counts["collections"] != float64(3) || counts["files"] != float64(3) {
		t.Fatalf("counts = %v", info["counts"])
	}
	uptime, err := time.ParseDuration(info["uptime"].(string))
	if err != nil || uptime < time.Second || uptime > time.Hour {
		t.Fatalf("uptime = %v (%v)", info["uptime"], err)
	}
}

// register creates a user through the public API and returns its id.
func register(t *testing.T, api *testAPI, email string) string {
	t.Helper()
	c := api.client()
	u := c.mustStatus(http.StatusCreated, c.post("/auth/register", map[string]string{"email": email, "password": "password123"})).doc()
	return u["_id"].(string)
}

func emailsOf(docs []doc) []string {
	out := []string{}
	for _, d := range docs {
		out = append(out, d["email"].(string))
	}
	return out
}

func TestAdminUsersList(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	if list := adm.mustStatus(http.StatusOK, adm.get("/admin/users")).docs(); len(list) != 0 {
		t.Fatalf("empty list = %v", list)
	}
	for _, e := range []string{"carol@example.com", "Alice@Example.com", "axb@example.org", "a.b@example.org", "bob@example.net"} {
		register(t, api, e)
	}

	r := adm.mustStatus(http.StatusOK, adm.get("/admin/users"))
	all := r.docs()
	want := []string{"a.b@example.org", "alice@example.com", "axb@example.org", "bob@example.net", "carol@example.com"}
	if got := emailsOf(all); !slices.Equal(got, want) || r.header.Get("X-Total-Count") != "5" {
		t.Fatalf("list = %v (total %q), want %v", got, r.header.Get("X-Total-Count"), want)
	}
	for _, u := range all {
		if len(u["_id"].(string)) != 24 || u["_createdAt"] == nil || u["passwordHash"] != nil || len(u) > 4 {
			t.Fatalf("user view = %v", u)
		}
	}

	search := []struct {
		query string
		want  []string
	}{
		{"ALICE", []string{"alice@example.com"}},
		{"example.org", []string{"a.b@example.org", "axb@example.org"}},
		{"a.b", []string{"a.b@example.org"}}, // the dot is a dot, not any character
		{"A.B@", []string{"a.b@example.org"}},
		{".*", []string{}},
		{"^a", []string{}},
		{"com$", []string{}},
		{"(", []string{}},
		{"[a-z]", []string{}},
		{`\`, []string{}},
		{"a|b", []string{}},
		{"nobody", []string{}},
		{"", want},
	}
	for _, s := range search {
		r := adm.mustStatus(http.StatusOK, adm.get("/admin/users?email="+url.QueryEscape(s.query)))
		if got := emailsOf(r.docs()); !slices.Equal(got, s.want) || r.header.Get("X-Total-Count") != strconv.Itoa(len(s.want)) {
			t.Errorf("search %q = %v (total %q), want %v", s.query, got, r.header.Get("X-Total-Count"), s.want)
		}
	}

	r = adm.mustStatus(http.StatusOK, adm.get("/admin/users?limit=2&skip=1"))
	if got := emailsOf(r.docs()); !slices.Equal(got, want[1:3]) || r.header.Get("X-Total-Count") != "5" {
		t.Fatalf("page = %v (total %q)", got, r.header.Get("X-Total-Count"))
	}
	r = adm.mustStatus(http.StatusOK, adm.get("/admin/users?email=example&skip=4"))
	if got := emailsOf(r.docs()); !slices.Equal(got, want[4:]) || r.header.Get("X-Total-Count") != "5" {
		t.Fatalf("last page = %v (total %q)", got, r.header.Get("X-Total-Count"))
	}
	r = adm.mustStatus(http.StatusOK, adm.get("/admin/users?skip=10"))
	if got := r.docs(); len(got) != 0 || r.header.Get("X-Total-Count") != "5" {
		t.Fatalf("beyond the end = %v (total %q)", got, r.header.Get("X-Total-Count"))
	}

	for _, q := range []string{"?role=admin", "?filter=%7B%7D", "?limit=0", "?limit=1001", "?limit=x", "?skip=-1", "?skip=x",
		"?email=" + strings.Repeat("a", 300)} {
		adm.expectError(adm.get("/admin/users"+q), 400, "invalid_query")
	}
}

func TestAdminUsersGetAndDelete(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	ann, annID := api.signedIn()
	bob, bobID := api.signedIn()
	annEmail := ann.mustStatus(http.StatusOK, ann.get("/auth/me")).doc()["email"]

	u := adm.mustStatus(http.StatusOK, adm.get("/admin/users/"+annID)).doc()
	if u["_id"] != annID || u["email"] != annEmail || u["passwordHash"] != nil {
		t.Fatalf("get = %v", u)
	}
	for _, id := range []string{someUserID, "nope", "0123456789ABCDEF0123456", "0123456789abcdef0123456z", strings.Repeat("f", 48)} {
		adm.expectError(adm.get("/admin/users/"+id), 404, "user_not_found")
		adm.expectError(adm.del("/admin/users/"+id), 404, "user_not_found")
	}

	// Ann is signed in with a cookie and a bearer token, and has a websocket open.
	annTok := api.client()
	tok := annTok.mustStatus(http.StatusOK, annTok.post("/auth/token", map[string]string{"email": annEmail.(string), "password": "password123"})).doc()
	annTok.token = tok["token"].(string)
	annTok.mustStatus(http.StatusOK, annTok.get("/auth/me"))
	annWS := ann.dialWS()
	bobWS := bob.dialWS()

	deleted := adm.mustStatus(http.StatusOK, adm.del("/admin/users/"+annID)).doc()
	if deleted["_id"] != annID || deleted["email"] != annEmail {
		t.Fatalf("delete = %v", deleted)
	}
	// Every one of her sessions ends at once, and her connection is closed as ended.
	ann.expectError(ann.get("/auth/me"), 401, "not_signed_in")
	annTok.expectError(annTok.get("/auth/me"), 401, "not_signed_in")
	annWS.expectClose(closeSessionEnded)
	ann.expectError(ann.post("/auth/login", map[string]string{"email": annEmail.(string), "password": "password123"}), 401, "invalid_credentials")

	adm.expectError(adm.get("/admin/users/"+annID), 404, "user_not_found")
	adm.expectError(adm.del("/admin/users/"+annID), 404, "user_not_found")
	if list := adm.mustStatus(http.StatusOK, adm.get("/admin/users")).docs(); len(list) != 1 || list[0]["_id"] != bobID {
		t.Fatalf("list after delete = %v", list)
	}
	// Bob is not affected.
	bob.mustStatus(http.StatusOK, bob.get("/auth/me"))
	bobWS.ok("relayProbe", nil)
}

func collectionsByName(docs []doc) map[string]doc {
	out := map[string]doc{}
	for _, d := range docs {
		out[d["name"].(string)] = d
	}
	return out
}

func TestAdminCollections(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	if list := adm.mustStatus(http.StatusOK, adm.get("/admin/collections")).docs(); len(list) != 0 {
		t.Fatalf("empty list = %v", list)
	}

	cars := adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "cars"})).doc()
	if cars["name"] != "cars" || cars["rule"] != "authenticated" || cars["count"] != float64(0) || cars["_createdAt"] == nil {
		t.Fatalf("created = %v", cars)
	}
	for _, rule := range []string{"owner", "public-read", "authenticated"} {
		name := "with-" + strings.ReplaceAll(rule, "-", "")
		c := adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": name, "rule": rule})).doc()
		if c["name"] != name || c["rule"] != rule {
			t.Fatalf("created with rule %s = %v", rule, c)
		}
	}
	adm.expectError(adm.post("/admin/collections", map[string]string{"name": "cars"}), 409, "collection_exists")
	adm.expectError(adm.post("/admin/collections", map[string]string{"name": "cars", "rule": "owner"}), 409, "collection_exists")
	for _, name := range []string{"", "1cars", "_users", "a b", "admin", "auth", strings.Repeat("x", 65)} {
		adm.expectError(adm.post("/admin/collections", map[string]string{"name": name}), 400, "invalid_name")
	}
	for _, rule := range []string{"nobody", "Owner", "public"} {
		adm.expectError(adm.post("/admin/collections", map[string]string{"name": "ruled", "rule": rule}), 400, "invalid_rule")
	}
	adm.expectError(adm.post("/admin/collections", map[string]any{"name": "extra", "owner": "x"}), 400, "invalid_json")
	adm.expectError(adm.raw(http.MethodPost, "/admin/collections", strings.NewReader(`name=x`), "application/x-www-form-urlencoded"), 415, "unsupported_media_type")

	// Documents written by a user show in the count; the refused creations left nothing.
	ann, _ := api.signedIn()
	ann.mustStatus(http.StatusCreated, ann.post("/cars", map[string]any{"n": 1}))
	ann.mustStatus(http.StatusCreated, ann.post("/cars", map[string]any{"n": 2}))
	list := adm.mustStatus(http.StatusOK, adm.get("/admin/collections")).docs()
	byName := collectionsByName(list)
	if len(list) != 4 || byName["cars"]["count"] != float64(2) || byName["with-owner"]["rule"] != "owner" ||
		byName["with-publicread"]["rule"] != "public-read" || byName["with-owner"]["count"] != float64(0) {
		t.Fatalf("list = %v", list)
	}
	if names := []string{list[0]["name"].(string), list[1]["name"].(string), list[2]["name"].(string), list[3]["name"].(string)}; !slices.IsSorted(names) {
		t.Fatalf("list not sorted by name: %v", names)
	}

	// A rule change applies to the public API at once.
	anon := api.client()
	anon.expectError(anon.get("/cars"), 401, "not_signed_in")
	changed := adm.mustStatus(http.StatusOK, adm.patch("/admin/collections/cars", map[string]string{"rule": "public-read"})).doc()
	if changed["name"] != "cars" || changed["rule"] != "public-read" || changed["count"] != float64(2) {
		t.Fatalf("patched = %v", changed)
	}
	if docs := anon.mustStatus(http.StatusOK, anon.get("/cars")).docs(); len(docs) != 2 {
		t.Fatalf("public read after rule change = %v", docs)
	}
	adm.expectError(adm.patch("/admin/collections/boats", map[string]string{"rule": "owner"}), 404, "collection_not_found")
	adm.expectError(adm.patch("/admin/collections/_users", map[string]string{"rule": "owner"}), 404, "collection_not_found")
	for _, body := range []any{map[string]string{"rule": "nobody"}, map[string]string{"rule": ""}, map[string]any{}} {
		adm.expectError(adm.patch("/admin/collections/cars", body), 400, "invalid_rule")
	}
	adm.expectError(adm.patch("/admin/collections/cars", map[string]string{"rule": "owner", "name": "x"}), 400, "invalid_json")
	if c := collectionsByName(adm.get("/admin/collections").docs())["cars"]; c["rule"] != "public-read" {
		t.Fatalf("rule after refused changes = %v", c)
	}

	// Dropping a collection deletes its documents.
	dropped := adm.mustStatus(http.StatusOK, adm.del("/admin/collections/cars")).doc()
	if dropped["name"] != "cars" || dropped["count"] != float64(2) {
		t.Fatalf("dropped = %v", dropped)
	}
	if _, ok := collectionsByName(adm.get("/admin/collections").docs())["cars"]; ok {
		t.Fatal("dropped collection still listed")
	}
	ann.expectError(ann.get("/cars"), 404, "collection_not_found")
	anon.expectError(anon.get("/cars"), 404, "collection_not_found")
	ann.expectError(ann.post("/cars", map[string]any{"n": 3}), 404, "collection_not_found")
	adm.expectError(adm.get("/admin/collections/cars/docs"), 404, "collection_not_found")
	adm.expectError(adm.del("/admin/collections/cars"), 404, "collection_not_found")
	adm.expectError(adm.del("/admin/collections/_users"), 404, "collection_not_found")
	// Made again under the same name, it starts empty.
	again := adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "cars"})).doc()
	if again["count"] != float64(0) || again["rule"] != "authenticated" {
		t.Fatalf("recreated = %v", again)
	}
	if docs := ann.mustStatus(http.StatusOK, ann.get("/cars")).docs(); len(docs) != 0 {
		t.Fatalf("documents survived the drop: %v", docs)
	}
	// The users themselves are not a collection and were not touched.
	ann.mustStatus(http.StatusOK, ann.get("/auth/me"))
}

func TestAdminDocuments(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "mine", "rule": "owner"}))
	ann, annID := api.signedIn()
	bob, bobID := api.signedIn()
	annDoc := ann.mustStatus(http.StatusCreated, ann.post("/mine", map[string]any{"who": "ann"})).doc()
	bobDoc := bob.mustStatus(http.StatusCreated, bob.post("/mine", map[string]any{"who": "bob"})).doc()
	if docs := ann.get("/mine").docs(); len(docs) != 1 {
		t.Fatalf("owner rule not applied publicly: %v", docs)
	}

	// The admin sees every user's documents.
	r := adm.mustStatus(http.StatusOK, adm.get("/admin/collections/mine/docs?count=true"))
	docs := r.docs()
	if len(docs) != 2 || r.header.Get("X-Total-Count") != "2" {
		t.Fatalf("admin list = %v (total %q)", docs, r.header.Get("X-Total-Count"))
	}
	owners := []string{docs[0]["_owner"].(string), docs[1]["_owner"].(string)}
	if !slices.Contains(owners, annID) || !slices.Contains(owners, bobID) {
		t.Fatalf("owners = %v", owners)
	}
	got := adm.mustStatus(http.StatusOK, adm.get("/admin/collections/mine/docs/"+bobDoc["_id"].(string))).doc()
	if got["who"] != "bob" || got["_owner"] != bobID {
		t.Fatalf("admin get = %v", got)
	}

	// The admin changes users' documents; the server fields stay the owner's.
	patched := adm.mustStatus(http.StatusOK, adm.patch("/admin/collections/mine/docs/"+bobDoc["_id"].(string), map[string]any{"checked": true})).doc()
	if patched["who"] != "bob" || patched["checked"] != true || patched["_owner"] != bobID || patched["_createdAt"] != bobDoc["_createdAt"] {
		t.Fatalf("admin patch = %v", patched)
	}
	replaced := adm.mustStatus(http.StatusOK, adm.put("/admin/collections/mine/docs/"+annDoc["_id"].(string), map[string]any{"who": "ann2"})).doc()
	if replaced["who"] != "ann2" || replaced["_owner"] != annID || replaced["_createdAt"] != annDoc["_createdAt"] {
		t.Fatalf("admin replace = %v", replaced)
	}
	if d := ann.mustStatus(http.StatusOK, ann.get("/mine/"+annDoc["_id"].(string))).doc(); d["who"] != "ann2" {
		t.Fatalf("ann sees %v", d)
	}
	adm.mustStatus(http.StatusOK, adm.del("/admin/collections/mine/docs/"+bobDoc["_id"].(string)))
	bob.expectError(bob.get("/mine/"+bobDoc["_id"].(string)), 404, "document_not_found")
	adm.expectError(adm.del("/admin/collections/mine/docs/"+bobDoc["_id"].(string)), 404, "document_not_found")

	// Admin-created documents have no owner; in an owner-rule collection no user sees them.
	made := adm.mustStatus(http.StatusCreated, adm.post("/admin/collections/mine/docs", map[string]any{"who": "admin"})).doc()
	if _, ok := made["_owner"]; ok || made["who"] != "admin" || len(made["_id"].(string)) != 24 || made["_createdAt"] == nil {
		t.Fatalf("admin create = %v", made)
	}
	if docs := ann.get("/mine").docs(); len(docs) != 1 || docs[0]["who"] != "ann2" {
		t.Fatalf("ann's view = %v", docs)
	}
	adm.expectError(adm.post("/admin/collections/mine/docs", map[string]any{"_owner": annID}), 400, "protected_field")
	adm.expectError(adm.post("/admin/collections/mine/docs", map[string]any{"$set": 1}), 400, "invalid_field_name")

	// Errors are the public API's.
	adm.expectError(adm.get("/admin/collections/boats/docs"), 404, "collection_not_found")
	adm.expectError(adm.post("/admin/collections/boats/docs", map[string]any{"a": 1}), 404, "collection_not_found")
	adm.expectError(adm.get("/admin/collections/mine/docs/nope"), 400, "invalid_id")
	adm.expectError(adm.get("/admin/collections/mine/docs/"+someDocID), 404, "document_not_found")
	adm.expectError(adm.patch("/admin/collections/mine/docs/"+someDocID, map[string]any{"a": 1}), 404, "document_not_found")
	adm.expectError(adm.put("/admin/collections/mine/docs/"+someDocID, map[string]any{"a": 1}), 404, "document_not_found")
	adm.expectError(adm.del("/admin/collections/mine/docs/"+someDocID), 404, "document_not_found")
}

func TestAdminDocumentListQuery(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "nums", "rule": "owner"}))
	ann, _ := api.signedIn()
	bob, _ := api.signedIn()
	for n := 1; n <= 6; n++ {
		c := ann
		if n%2 == 0 {
			c = bob
		}
		c.mustStatus(http.StatusCreated, c.post("/nums", map[string]any{"n": n, "tag": fmt.Sprintf("t%d", n%3)}))
	}
	list := func(q url.Values) ([]float64, string) {
		t.Helper()
		r := adm.mustStatus(http.StatusOK, adm.get("/admin/collections/nums/docs?"+q.Encode()))
		var ns []float64
		for _, d := range r.docs() {
			ns = append(ns, d["n"].(float64))
		}
		return ns, r.header.Get("X-Total-Count")
	}
	cases := []struct {
		query url.Values
		want  []float64
		total string
	}{
		{url.Values{"sort": {"n"}}, []float64{1, 2, 3, 4, 5, 6}, ""},
		{url.Values{"sort": {"-n"}, "limit": {"2"}}, []float64{6, 5}, ""},
		{url.Values{"filter": {`{"n":{"$gte":3}}`}, "sort": {"-n"}, "limit": {"2"}, "count": {"true"}}, []float64{6, 5}, "4"},
		{url.Values{"filter": {`{"tag":"t1"}`}, "sort": {"n"}, "count": {"true"}}, []float64{1, 4}, "2"},
		{url.Values{"sort": {"n"}, "skip": {"4"}, "count": {"true"}}, []float64{5, 6}, "6"},
		{url.Values{"sort": {"n"}, "skip": {"1"}, "limit": {"1"}, "count": {"false"}}, []float64{2}, ""},
	}
	for _, c := range cases {
		if got, total := list(c.query); !slices.Equal(got, c.want) || total != c.total {
			t.Errorf("%s: %v (total %q), want %v (total %q)", c.query.Encode(), got, total, c.want, c.total)
		}
	}
	r := adm.mustStatus(http.StatusOK, adm.get("/admin/collections/nums/docs?fields=n&sort=n&limit=1"))
	if d := r.docs(); len(d) != 1 || d[0]["n"] != float64(1) || d[0]["tag"] != nil {
		t.Fatalf("fields = %v", d)
	}
	for _, q := range []string{"?userId=x", "?limit=0", "?limit=5000", "?skip=-1", "?count=yes", "?filter=%7B%22%24where%22%3A%221%22%7D", "?filter=nope", "?sort=n&sort=-n"} {
		adm.expectError(adm.get("/admin/collections/nums/docs"+q), 400, "invalid_query")
	}
}

func TestAdminWritesBroadcast(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "notes"}))
	ann, _ := api.signedIn()
	bob, _ := api.signedIn()
	wa, wb, wanon := ann.dialWS(), bob.dialWS(), api.client().dialWS()

	made := adm.mustStatus(http.StatusCreated, adm.post("/admin/collections/notes/docs", map[string]any{"k": "from-admin"})).doc()
	id := made["_id"].(string)
	m := wa.expectBroadcast("create", "notes", "k", "from-admin")
	if resp := m["response"].(map[string]any); resp["_id"] != id || resp["_owner"] != nil {
		t.Fatalf("broadcast = %v", m)
	}
	if _, ok := m["kind"]; ok {
		t.Fatalf("public broadcast carries the admin stream's kind: %v", m)
	}
	wb.expectBroadcast("create", "notes", "k", "from-admin")
	wanon.expectNoBroadcast("create", "notes", "k", "from-admin")

	adm.mustStatus(http.StatusOK, adm.patch("/admin/collections/notes/docs/"+id, map[string]any{"k2": "patched"}))
	wa.expectBroadcast("patch", "notes", "k2", "patched")
	adm.mustStatus(http.StatusOK, adm.put("/admin/collections/notes/docs/"+id, map[string]any{"k": "replaced"}))
	wb.expectBroadcast("update", "notes", "k", "replaced")
	adm.mustStatus(http.StatusOK, adm.del("/admin/collections/notes/docs/"+id))
	wa.expectBroadcast("delete", "notes", "_id", id)

	// broadcast: false is honoured for the admin's writes too.
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections/notes/docs", map[string]any{"k": "quiet", "broadcast": false}))
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections/notes/docs", map[string]any{"k": "loud"}))
	wa.expectBroadcast("create", "notes", "k", "loud")
	wa.expectNoBroadcast("create", "notes", "k", "quiet")
}

func TestAdminFiles(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	if list := adm.mustStatus(http.StatusOK, adm.get("/admin/files")).docs(); len(list) != 0 {
		t.Fatalf("empty list = %v", list)
	}
	ann, annID := api.signedIn()
	bob, bobID := api.signedIn()
	ann.mustStatus(http.StatusCreated, ann.upload(http.MethodPost, "/files", filePart("a.txt", "ann a")))
	ann.mustStatus(http.StatusCreated, ann.upload(http.MethodPost, "/files", filePart("b.txt", "ann b"), field("bucket", "docs")))
	bob.mustStatus(http.StatusCreated, bob.upload(http.MethodPost, "/files", filePart("a.txt", "bob a")))
	bob.mustStatus(http.StatusCreated, bob.upload(http.MethodPost, "/files", filePart("100% sure.txt", "odd name")))

	all := adm.mustStatus(http.StatusOK, adm.get("/admin/files")).docs()
	if len(all) != 4 {
		t.Fatalf("all files = %v", all)
	}
	perOwner := map[string][]string{}
	for _, f := range all {
		perOwner[f["owner"].(string)] = append(perOwner[f["owner"].(string)], f["filename"].(string))
	}
	if !slices.Equal(perOwner[annID], []string{"a.txt", "b.txt"}) || !slices.Equal(perOwner[bobID], []string{"100% sure.txt", "a.txt"}) {
		t.Fatalf("files per owner = %v", perOwner)
	}
	annFiles := adm.mustStatus(http.StatusOK, adm.get("/admin/files?userId="+annID)).docs()
	if len(annFiles) != 2 || annFiles[0]["owner"] != annID || annFiles[1]["owner"] != annID || annFiles[1]["bucket"] != "docs" {
		t.Fatalf("ann's files = %v", annFiles)
	}
	if none := adm.mustStatus(http.StatusOK, adm.get("/admin/files?userId="+someUserID)).docs(); len(none) != 0 {
		t.Fatalf("unknown user's files = %v", none)
	}
	adm.expectError(adm.get("/admin/files?userId=nope"), 400, "invalid_id")
	adm.expectError(adm.get("/admin/files?owner="+annID), 400, "invalid_query")

	// Any user's file downloads, as an attachment that never runs.
	got := adm.mustStatus(http.StatusOK, adm.get("/admin/files/"+bobID+"/"+url.PathEscape("100% sure.txt")))
	if string(got.body) != "odd name" || !strings.HasPrefix(got.header.Get("Content-Disposition"), "attachment") ||
		got.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(got.header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("download = %q %v", got.body, got.header)
	}
	adm.expectError(adm.get("/admin/files/"+annID+"/missing.txt"), 404, "file_not_found")
	adm.expectError(adm.get("/admin/files/nope/a.txt"), 404, "file_not_found")
	if r := api.client().get("/admin/files/" + annID + "/a.txt"); r.status != http.StatusNotFound && r.status != http.StatusUnauthorized {
		t.Fatalf("download without the admin token = %d", r.status)
	}

	deleted := adm.mustStatus(http.StatusOK, adm.del("/admin/files/"+annID+"/a.txt")).doc()
	if deleted["owner"] != annID || deleted["filename"] != "a.txt" {
		t.Fatalf("deleted = %v", deleted)
	}
	ann.expectError(ann.get("/files/"+annID+"/a.txt"), 404, "file_not_found")
	bob.expectError(bob.get("/files/"+annID+"/a.txt"), 404, "file_not_found")
	adm.expectError(adm.del("/admin/files/"+annID+"/a.txt"), 404, "file_not_found")
	// Bob's file of the same name is another file.
	if r := bob.mustStatus(http.StatusOK, bob.get("/files/"+bobID+"/a.txt")); string(r.body) != "bob a" {
		t.Fatalf("bob's a.txt = %q", r.body)
	}
	adm.mustStatus(http.StatusOK, adm.del("/admin/files/"+bobID+"/"+url.PathEscape("100% sure.txt")))
	bob.expectError(bob.get("/files/"+bobID+"/"+url.PathEscape("100% sure.txt")), 404, "file_not_found")

	adm.expectError(adm.del("/admin/files/"+someUserID+"/a.txt"), 404, "file_not_found")
	adm.expectError(adm.del("/admin/files/nope/a.txt"), 404, "file_not_found")
	adm.expectError(adm.del("/admin/files/"+annID+"/missing.txt"), 404, "file_not_found")
	if left := adm.get("/admin/files").docs(); len(left) != 2 {
		t.Fatalf("files left = %v", left)
	}
	assertDiskMatchesMetadata(t, api)
}

// assertAdminKinds checks every event left on the admin stream says what kind of change it is.
func assertAdminKinds(t *testing.T, aw *wsClient) {
	t.Helper()
	drainWS(aw, 300*time.Millisecond)
	for _, m := range aw.backlog {
		if m["requestId"] == nil && !slices.Contains([]any{"document", "user", "collection", "relay", "channel", core.KindIndex}, m["kind"]) {
			t.Errorf("admin message without a kind: %v", m)
		}
	}
}

func TestAdminWSCollectionEvents(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	ann, _ := api.signedIn()
	wa := ann.dialWS()
	aw := api.dialAdminWS()

	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "notes"}))
	expectAdminEvent(aw, "collection", "create", func(m, r map[string]any) bool {
		return m["collection"] == "notes" && r["name"] == "notes" && r["rule"] == "authenticated" && r["_createdAt"] != nil
	})
	ann.mustStatus(http.StatusCreated, ann.post("/collections", map[string]string{"name": "posts"}))
	expectAdminEvent(aw, "collection", "create", func(m, r map[string]any) bool { return r["name"] == "posts" })
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "mine", "rule": "owner"}))
	expectAdminEvent(aw, "collection", "create", func(m, r map[string]any) bool { return r["name"] == "mine" })
	expectAdminEvent(aw, "collection", "update", func(m, r map[string]any) bool { return r["name"] == "mine" && r["rule"] == "owner" })
	adm.mustStatus(http.StatusOK, adm.patch("/admin/collections/posts", map[string]string{"rule": "public-read"}))
	expectAdminEvent(aw, "collection", "update", func(m, r map[string]any) bool { return r["name"] == "posts" && r["rule"] == "public-read" })
	adm.mustStatus(http.StatusOK, adm.del("/admin/collections/posts"))
	expectAdminEvent(aw, "collection", "delete", func(m, r map[string]any) bool { return m["collection"] == "posts" && r["name"] == "posts" })
	// Those are not for end users.
	wa.expectNothing("collection event", func(m map[string]any) bool { return m["kind"] != nil || m["collection"] == "posts" })
	assertAdminKinds(t, aw)
}

func TestAdminWSUserEvents(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	ann, _ := api.signedIn()
	wa := ann.dialWS()
	aw := api.dialAdminWS()

	carolID := register(t, api, "carol@example.com")
	expectAdminEvent(aw, "user", "create", func(m, r map[string]any) bool {
		return r["_id"] == carolID && r["email"] == "carol@example.com" && r["passwordHash"] == nil
	})
	adm.mustStatus(http.StatusOK, adm.del("/admin/users/"+carolID))
	expectAdminEvent(aw, "user", "delete", func(m, r map[string]any) bool { return r["_id"] == carolID })
	// Those are not for end users.
	wa.expectNothing("user event", func(m map[string]any) bool { return m["kind"] != nil || strings.Contains(fmt.Sprint(m), "carol@") })
	assertAdminKinds(t, aw)
	// The admin stream is not closed by the deleted user's session events.
	aw.fails("getAll", map[string]any{"collection": "nope"}, "collection_not_found")
}

func TestAdminWSDocumentEvents(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "notes"}))
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "mine", "rule": "owner"}))
	ann, annID := api.signedIn()
	bob, _ := api.signedIn()
	wa, wb := ann.dialWS(), bob.dialWS()
	aw := api.dialAdminWS()

	// Every document event, including those that are not broadcast publicly.
	ann.mustStatus(http.StatusCreated, ann.post("/notes", map[string]any{"k": "quiet", "broadcast": false}))
	ann.mustStatus(http.StatusCreated, ann.post("/notes", map[string]any{"k": "loud"}))
	quiet := expectAdminEvent(aw, "document", "create", func(m, r map[string]any) bool { return m["collection"] == "notes" && r["k"] == "quiet" })
	loud := expectAdminEvent(aw, "document", "create", func(m, r map[string]any) bool { return m["collection"] == "notes" && r["k"] == "loud" })
	if quiet["public"] != false || loud["public"] != true {
		t.Fatalf("public flags: quiet %v, loud %v", quiet, loud)
	}
	wa.expectBroadcast("create", "notes", "k", "loud")
	wa.expectNoBroadcast("create", "notes", "k", "quiet")
	wb.expectNoBroadcast("create", "notes", "k", "quiet")
	id := loud["response"].(map[string]any)["_id"].(string)
	ann.mustStatus(http.StatusOK, ann.patch("/notes/"+id, map[string]any{"k": "louder"}))
	expectAdminEvent(aw, "document", "patch", func(m, r map[string]any) bool { return r["_id"] == id && r["k"] == "louder" })
	ann.mustStatus(http.StatusOK, ann.put("/notes/"+id, map[string]any{"k": "replaced"}))
	expectAdminEvent(aw, "document", "update", func(m, r map[string]any) bool { return r["_id"] == id && r["k"] == "replaced" })
	ann.mustStatus(http.StatusOK, ann.del("/notes/"+id))
	expectAdminEvent(aw, "document", "delete", func(m, r map[string]any) bool { return r["_id"] == id })

	// Owner-rule documents: the admin sees them, other users do not.
	ann.mustStatus(http.StatusCreated, ann.post("/mine", map[string]any{"k": "private"}))
	expectAdminEvent(aw, "document", "create", func(m, r map[string]any) bool { return m["collection"] == "mine" && r["_owner"] == annID })
	wb.expectNoBroadcast("create", "mine", "k", "private")

	// The admin's own writes, over HTTP and over the websocket, show up too.
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections/notes/docs", map[string]any{"k": "by-admin-http"}))
	expectAdminEvent(aw, "document", "create", func(m, r map[string]any) bool { return r["k"] == "by-admin-http" })
	aw.ok("create", map[string]any{"collection": "notes", "data": map[string]any{"k": "by-admin-ws"}})
	expectAdminEvent(aw, "document", "create", func(m, r map[string]any) bool { return r["k"] == "by-admin-ws" })
	wa.expectBroadcast("create", "notes", "k", "by-admin-ws")

	// A user's relayed custom message reaches the admin stream as well.
	wa.ok("typing", map[string]any{"who": "ann"})
	aw.expect(func(m map[string]any) bool {
		return m["kind"] == "relay" && m["action"] == "typing" && m["who"] == "ann"
	})
	assertAdminKinds(t, aw)
}

// drainWS moves what arrives within d to the backlog.
func drainWS(w *wsClient, d time.Duration) {
	deadline := time.After(d)
	for {
		select {
		case m, ok := <-w.incoming:
			if !ok {
				return
			}
			w.backlog = append(w.backlog, m)
		case <-deadline:
			return
		}
	}
}

func TestAdminWSActions(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "mine", "rule": "owner"}))
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "userInfo"}))
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "rooms"}))
	ann, annID := api.signedIn()
	bob, bobID := api.signedIn()
	annDoc := ann.mustStatus(http.StatusCreated, ann.post("/mine", map[string]any{"who": "ann", "n": 1})).doc()
	bob.mustStatus(http.StatusCreated, bob.post("/mine", map[string]any{"who": "bob", "n": 2}))
	aw := api.dialAdminWS()

	all := aw.call("getAll", map[string]any{"collection": "mine", "sort": "n"})
	docs, _ := all["response"].([]any)
	if all["action"] != "getAll" || all["collection"] != "mine" || len(docs) != 2 ||
		docs[0].(map[string]any)["_owner"] != annID || docs[1].(map[string]any)["_owner"] != bobID {
		t.Fatalf("getAll = %v", all)
	}
	found := aw.ok("find", map[string]any{"collection": "mine", "query": map[string]any{"who": "bob"}}).([]any)
	if len(found) != 1 || found[0].(map[string]any)["_owner"] != bobID {
		t.Fatalf("find = %v", found)
	}
	annID0 := annDoc["_id"].(string)
	if got := aw.ok("getOne", map[string]any{"collection": "mine", "id": annID0}).(map[string]any); got["who"] != "ann" {
		t.Fatalf("getOne = %v", got)
	}
	patched := aw.ok("patch", map[string]any{"collection": "mine", "id": annID0, "data": map[string]any{"seen": true}}).(map[string]any)
	if patched["seen"] != true || patched["_owner"] != annID {
		t.Fatalf("patch = %v", patched)
	}
	replaced := aw.ok("update", map[string]any{"collection": "mine", "id": annID0, "data": map[string]any{"who": "ann2"}}).(map[string]any)
	if replaced["who"] != "ann2" || replaced["_owner"] != annID {
		t.Fatalf("update = %v", replaced)
	}
	made := aw.ok("create", map[string]any{"collection": "mine", "data": map[string]any{"who": "admin"}}).(map[string]any)
	if _, ok := made["_owner"]; ok {
		t.Fatalf("admin-created document has an owner: %v", made)
	}
	aw.ok("delete", map[string]any{"collection": "mine", "id": annID0})
	ann.expectError(ann.get("/mine/"+annID0), 404, "document_not_found")
	aw.fails("getAll", map[string]any{"collection": "boats"}, "collection_not_found")
	aw.fails("getOne", map[string]any{"collection": "mine", "id": "nope"}, "invalid_id")

	// Channels belong to end users; the admin connection has none.
	aw.fails("joinUsersChannels", map[string]any{"usersInformationCollection": "userInfo"}, "user_required")
	aw.fails("createChannel", map[string]any{"usersInformationCollection": "userInfo", "channelType": "rooms", "name": "x"}, "user_required")
	aw.fails("joinChannel", map[string]any{"usersInformationCollection": "userInfo", "channelType": "rooms", "channelId": someDocID}, "user_required")
	aw.fails("leaveChannel", map[string]any{"usersInformationCollection": "userInfo", "channelType": "rooms", "channelId": someDocID}, "user_required")
	aw.fails("changeChannel", map[string]any{"usersInformationCollection": "userInfo", "channelType": "rooms", "channelId": someDocID}, "user_required")
	aw.fails("deleteChannel", map[string]any{"usersInformationCollection": "userInfo", "channelMessagesCollection": "mine",
		"channelType": "rooms", "channelId": someDocID}, "user_required")
	// Still open.
	aw.ok("getAll", map[string]any{"collection": "mine"})
}
