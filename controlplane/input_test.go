package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/tools/httpapi"
)

// Bad input on every endpoint of the control plane: each refusal in the contract's error
// shape, and nothing created, changed or lost by a refused request.

// wantError is expectError, also checking the answer says it is JSON: no plain-text error
// page from Go or echo ever reaches a client.
func wantError(r *resp, status int, code string) *httpapi.ErrorDetail {
	r.t.Helper()
	e := r.expectError(status, code)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		r.t.Fatalf("error %s served as %q", code, ct)
	}
	return e
}

// chunked sends body without a Content-Length, as a streaming client does, so that only the
// server's reading limits stand between it and an oversized body.
func chunked(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) }

// opaque sends a request whose path goes on the wire exactly as written: Go's client neither
// cleans nor re-escapes it.
func (d *dev) opaque(method, rawPath string, header http.Header) *resp {
	d.p.t.Helper()
	req, err := http.NewRequest(method, d.p.url("admin", "/"), nil)
	if err != nil {
		d.p.t.Fatal(err)
	}
	req.URL.Opaque = rawPath
	for k, vs := range header {
		req.Header[k] = vs
	}
	if method != http.MethodGet {
		req.Header.Set(csrfHeader, d.csrf())
	}
	return do(d.p.t, d.http, req)
}

func (d *dev) backendNames() []string {
	d.p.t.Helper()
	var out struct{ Backends []backendJSON }
	d.mustStatus(http.StatusOK, d.get("/api/backends")).decode(&out)
	names := []string{}
	for _, b := range out.Backends {
		names = append(names, b.Name)
	}
	return names
}

func TestInputBackendNames(t *testing.T) {
	p := newTestPlane(t)
	op := p.developer()
	d := p.developer()

	sub(t, p, "refused names", func(t *testing.T) {
		for _, name := range []string{
			"", "Shop", "SHOP", "shoP", "a", "ab", strings.Repeat("a", 33), strings.Repeat("b", 64),
			"admin", "www", "traefik", "api", // reserved
			"shop-be", "x-be", "shop-be-be", // the API's suffix
			"1shop", "0", "42shop", "-shop", "shop-", "-", "---", "shop_", "_shop",
			"xn--abc", "xn--p1ai", "ab--cd", "zz--", // IDNA-style: "--" in the third and fourth places
			"café", "ѕhop", "shоp", "ｓｈｏｐ", "shop\u200b", "shöp", // Unicode and look-alikes (Cyrillic ѕ and о)
			"shop`)", "shop)", "shop`) || Host(`evil.com", "a b", " shop", "shop ", "shop\n", "shop\t", "shop\x00",
			"shop.evil", "shop/evil", "shop/../admin", "..", "$(x)", "${x}", "shop;rm", "shop&x", "shop'", `shop"`,
			"shop%2f", "shop:80", "shop@evil", "shop\\x", "*", "shop*",
		} {
			e := wantError(d.post("/api/backends", map[string]any{"name": name}), http.StatusBadRequest, "invalid_name")
			if e.Details["kind"] != "backend" || e.Details["reason"] == "" {
				t.Fatalf("name %q: details %v", name, e.Details)
			}
		}
	})

	sub(t, p, "a missing name or one of the wrong type", func(t *testing.T) {
		for body, code := range map[string]string{
			`{}`:                                "invalid_name",
			`{"name":null}`:                     "invalid_name",
			`{"name":""}`:                       "invalid_name",
			`{"name":5}`:                        "invalid_json",
			`{"name":true}`:                     "invalid_json",
			`{"name":["shop"]}`:                 "invalid_json",
			`{"name":{"x":"shop"}}`:             "invalid_json",
			`["shop"]`:                          "invalid_json",
			`"shop"`:                            "invalid_json",
			`{"name":"shop","owner":"someone"}`: "invalid_json",
		} {
			wantError(d.raw(http.MethodPost, "/api/backends", strings.NewReader(body), "application/json"), http.StatusBadRequest, code)
		}
	})

	sub(t, p, "nothing was created", func(t *testing.T) {
		if got := d.backendNames(); len(got) != 0 {
			t.Fatalf("the developer's backends = %q", got)
		}
		if got := op.backendNames(); len(got) != 0 {
			t.Fatalf("all backends = %q", got)
		}
		list, err := p.store.ListBackends(context.Background(), "")
		if err != nil || len(list) != 0 {
			t.Fatalf("store holds %+v (%v)", list, err)
		}
	})

	sub(t, p, "edge cases that are valid", func(t *testing.T) {
		// tools/names refuses "--" only in the third and fourth places; elsewhere it is fine.
		valid := []string{"a--b", "abc--d", "abc", "a-b-c", "x9y", strings.Repeat("a", 32), "shopbe", "shop-bee", "be-shop", "admin2", "www-shop"}
		for _, name := range valid {
			if b := d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": name})).backend(); b.Name != name || b.State != "creating" {
				t.Fatalf("created %+v", b)
			}
		}
		for _, name := range valid {
			d.waitState(name, "running")
		}
		if got := d.backendNames(); len(got) != len(valid) {
			t.Fatalf("backends = %q, want %q", got, valid)
		}
	})
}

func TestInputNameTaken(t *testing.T) {
	p := newTestPlane(t)
	op := p.developer()
	owner := p.developer()
	other := p.developer()
	owner.createBackend("shop")

	sub(t, p, "taken by a running backend", func(t *testing.T) {
		wantError(other.post("/api/backends", map[string]any{"name": "shop"}), http.StatusConflict, "name_taken")
		wantError(op.post("/api/backends", map[string]any{"name": "shop"}), http.StatusConflict, "name_taken")
		wantError(owner.post("/api/backends", map[string]any{"name": "shop"}), http.StatusConflict, "name_taken")
		if got := other.backendNames(); len(got) != 0 {
			t.Fatalf("the other developer's backends = %q", got)
		}
		if b := owner.get("/api/backends/shop").backend(); b.Owner != owner.email || b.State != "running" {
			t.Fatalf("shop = %+v", b)
		}
	})

	sub(t, p, "taken by a backend deleted with its data kept", func(t *testing.T) {
		owner.mustStatus(http.StatusAccepted, owner.delete("/api/backends/shop"))
		owner.waitState("shop", "deleted")
		wantError(other.post("/api/backends", map[string]any{"name": "shop"}), http.StatusConflict, "name_taken")
		wantError(op.post("/api/backends", map[string]any{"name": "shop"}), http.StatusConflict, "name_taken")
		if got := other.backendNames(); len(got) != 0 {
			t.Fatalf("the other developer's backends = %q", got)
		}
		wantError(other.get("/api/backends/shop"), http.StatusNotFound, "backend_not_found")
		if b := owner.get("/api/backends/shop").backend(); b.Owner != owner.email || b.State != "deleted" {
			t.Fatalf("shop = %+v", b)
		}
		// Its owner re-attaches it.
		owner.mustStatus(http.StatusAccepted, owner.post("/api/backends", map[string]any{"name": "shop"}))
		owner.waitState("shop", "running")
	})

	sub(t, p, "free again once purged", func(t *testing.T) {
		owner.mustStatus(http.StatusAccepted, owner.delete("/api/backends/shop?purge=true"))
		waitFor(t, "the purge", func() bool { return owner.get("/api/backends/shop").status == http.StatusNotFound })
		if b := other.createBackend("shop"); b.Owner != other.email {
			t.Fatalf("shop = %+v", b)
		}
		wantError(owner.post("/api/backends", map[string]any{"name": "shop"}), http.StatusConflict, "name_taken")
	})
}

// badBodyCase is one malformed request to a JSON endpoint.
type badBodyCase struct {
	what        string
	body        io.Reader
	contentType string
	status      int
	code        string
}

func badBodies(valid string) []badBodyCase {
	big := `{"x":"` + strings.Repeat("a", maxJSONBody) + `"}`
	padded := valid + strings.Repeat(" ", maxJSONBody)
	withExtra := valid[:len(valid)-1] + `,"bogus":1}`
	return []badBodyCase{
		{"text/plain", strings.NewReader(valid), "text/plain", http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"no content type", strings.NewReader(valid), "", http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"a form", strings.NewReader("email=x"), "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"multipart", strings.NewReader(valid), "multipart/form-data; boundary=x", http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"a JSON-ish type", strings.NewReader(valid), "application/merge-patch+json", http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"a bad content type", strings.NewReader(valid), "application/json; ;;", http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"cut short", strings.NewReader(valid[:len(valid)-3]), "application/json", http.StatusBadRequest, "invalid_json"},
		{"not JSON", strings.NewReader("not json"), "application/json", http.StatusBadRequest, "invalid_json"},
		{"an array", strings.NewReader("[" + valid + "]"), "application/json", http.StatusBadRequest, "invalid_json"},
		{"a string", strings.NewReader(`"hello"`), "application/json", http.StatusBadRequest, "invalid_json"},
		{"an unknown field", strings.NewReader(withExtra), "application/json", http.StatusBadRequest, "invalid_json"},
		{"two objects", strings.NewReader(valid + valid), "application/json", http.StatusBadRequest, "invalid_json"},
		{"trailing garbage", strings.NewReader(valid + " x"), "application/json", http.StatusBadRequest, "invalid_json"},
		{"over 64 KiB", strings.NewReader(big), "application/json", http.StatusRequestEntityTooLarge, "payload_too_large"},
		{"over 64 KiB, chunked", chunked([]byte(big)), "application/json", http.StatusRequestEntityTooLarge, "payload_too_large"},
		{"a valid object padded over 64 KiB", strings.NewReader(padded), "application/json", http.StatusRequestEntityTooLarge, "payload_too_large"},
	}
}

// TestBadBodyTrailingContent sends a valid object followed by what must not follow it: a
// stray closing brace or bracket, or (streamed, without a Content-Length) enough whitespace
// to pass the 64 KiB limit. Each must be refused like any other bad body, and nothing done.
func TestBadBodyTrailingContent(t *testing.T) {
	p := newTestPlane(t)
	op := p.developer()
	d := p.developer()
	anon := p.anonymous()
	pad := strings.Repeat(" ", maxJSONBody)
	for _, c := range []struct {
		c            *dev
		method, path string
		body         string
	}{
		{anon, http.MethodPost, "/api/auth/register", `{"email":"new@example.com","password":"a long password"}`},
		{anon, http.MethodPost, "/api/auth/login", `{"email":"` + d.email + `","password":"a long password"}`},
		{d, http.MethodPost, "/api/backends", `{"name":"shop"}`},
		{op, http.MethodPatch, "/api/settings", `{"registration":"closed"}`},
		{op, http.MethodPost, "/api/invites", `{"email":"invited@example.com"}`},
	} {
		for _, bad := range []struct {
			what   string
			body   io.Reader
			status int
			code   string
		}{
			{"a stray }", strings.NewReader(c.body + "}"), http.StatusBadRequest, "invalid_json"},
			{"a stray ]", strings.NewReader(c.body + " ]"), http.StatusBadRequest, "invalid_json"},
			{"padding past 64 KiB, streamed", chunked([]byte(c.body + pad)), http.StatusRequestEntityTooLarge, "payload_too_large"},
		} {
			r := c.c.raw(c.method, c.path, bad.body, "application/json")
			if r.status != bad.status {
				t.Errorf("%s %s, %s: %d %s, want %d %s", c.method, c.path, bad.what, r.status, r.body, bad.status, bad.code)
				continue
			}
			wantError(r, bad.status, bad.code)
		}
	}
	anon.get("/api/auth/me").expectError(http.StatusUnauthorized, "not_signed_in")
	var s struct{ Registration string }
	op.mustStatus(http.StatusOK, op.get("/api/settings")).decode(&s)
	var inv struct{ Invites []inviteJSON }
	op.mustStatus(http.StatusOK, op.get("/api/invites")).decode(&inv)
	if devs, names := op.developers(), op.backendNames(); len(devs) != 2 || len(names) != 0 || s.Registration != "open" || len(inv.Invites) != 0 {
		t.Fatalf("after refused bodies: developers %+v, backends %q, registration %q, invites %+v", devs, names, s.Registration, inv.Invites)
	}
}

func TestBadBodies(t *testing.T) {
	p := newTestPlane(t)
	op := p.developer()
	d := p.developer()
	anon := p.anonymous()
	endpoints := []struct {
		name, method, path string
		c                  *dev
		valid              string
		ok                 int
	}{
		{"register", http.MethodPost, "/api/auth/register", anon, `{"email":"new@example.com","password":"a long password"}`, http.StatusCreated},
		{"login", http.MethodPost, "/api/auth/login", anon, `{"email":"` + d.email + `","password":"a long password"}`, http.StatusOK},
		{"create backend", http.MethodPost, "/api/backends", d, `{"name":"shop"}`, http.StatusAccepted},
		{"settings", http.MethodPatch, "/api/settings", op, `{"registration":"closed"}`, http.StatusOK},
		{"invites", http.MethodPost, "/api/invites", op, `{"email":"invited@example.com"}`, http.StatusCreated},
	}
	for _, ep := range endpoints {
		sub(t, p, ep.name, func(t *testing.T) {
			cases := badBodies(ep.valid)
			if ep.name != "invites" { // an invite may be asked for without a body
				cases = append(cases, badBodyCase{"empty", strings.NewReader(""), "application/json", http.StatusBadRequest, "invalid_json"})
			}
			for _, c := range cases {
				r := ep.c.raw(ep.method, ep.path, c.body, c.contentType)
				if r.status != c.status {
					t.Errorf("%s: %d %s, want %d %s", c.what, r.status, r.body, c.status, c.code)
					continue
				}
				wantError(r, c.status, c.code)
				if len(r.setCookies()) != 0 {
					t.Errorf("%s: a refused request set cookies %q", c.what, r.header.Values("Set-Cookie"))
				}
			}
		})
	}

	sub(t, p, "nothing was created or changed", func(t *testing.T) {
		if devs := op.developers(); len(devs) != 2 {
			t.Fatalf("developers = %+v", devs)
		}
		if got := op.backendNames(); len(got) != 0 {
			t.Fatalf("backends = %q", got)
		}
		var s struct{ Registration string }
		op.mustStatus(http.StatusOK, op.get("/api/settings")).decode(&s)
		var inv struct{ Invites []inviteJSON }
		op.mustStatus(http.StatusOK, op.get("/api/invites")).decode(&inv)
		if s.Registration != "open" || len(inv.Invites) != 0 {
			t.Fatalf("registration %q, invites %+v", s.Registration, inv.Invites)
		}
		anon.get("/api/auth/me").expectError(http.StatusUnauthorized, "not_signed_in")
	})

	sub(t, p, "the valid bodies work", func(t *testing.T) {
		// A body just under the limit, with a charset, is fine.
		login := `{"email":"` + d.email + `","password":"a long password"}` + strings.Repeat(" ", maxJSONBody-200)
		c := p.anonymous()
		c.mustStatus(http.StatusOK, c.raw(http.MethodPost, "/api/auth/login", strings.NewReader(login), "application/json; charset=utf-8"))
		for _, ep := range endpoints {
			ep.c.mustStatus(ep.ok, ep.c.raw(ep.method, ep.path, strings.NewReader(ep.valid), "application/json"))
		}
	})
}

func TestBadRegistration(t *testing.T) {
	p := newTestPlane(t)
	op := p.developer()
	anon := p.anonymous()

	sub(t, p, "bad emails", func(t *testing.T) {
		for _, email := range []any{
			"", "   ", "notanemail", "a@b", "@example.com", "ann@", "ann@@example.com", "Ann <ann@example.com>", "<ann@example.com>",
			"ann@example.com, bob@example.com", "ann example@example.com", "ann@exa mple.com", "ann@example.com\x00",
			strings.Repeat("a", 250) + "@example.com", nil,
		} {
			e := wantError(anon.post("/api/auth/register", map[string]any{"email": email, "password": "a long password"}), http.StatusBadRequest, "invalid_email")
			if e.Details["field"] != "email" {
				t.Fatalf("email %q: details %v", email, e.Details)
			}
		}
		wantError(anon.post("/api/auth/register", map[string]any{"password": "a long password"}), http.StatusBadRequest, "invalid_email")
	})

	sub(t, p, "bad passwords", func(t *testing.T) {
		for _, password := range []any{"", "short", "7 chars", "ééééééé", strings.Repeat("p", 513), strings.Repeat("é", 257), strings.Repeat("p", 4096), nil} {
			e := wantError(anon.post("/api/auth/register", map[string]any{"email": "pw@example.com", "password": password}), http.StatusBadRequest, "invalid_password")
			if e.Details["field"] != "password" {
				t.Fatalf("password %q: details %v", password, e.Details)
			}
		}
		wantError(anon.post("/api/auth/register", map[string]any{"email": "pw@example.com"}), http.StatusBadRequest, "invalid_password")
		wantError(anon.post("/api/auth/register", map[string]any{"email": "pw@example.com", "password": 12345678}), http.StatusBadRequest, "invalid_json")
	})

	sub(t, p, "nothing was created", func(t *testing.T) {
		if devs := op.developers(); len(devs) != 1 {
			t.Fatalf("developers = %+v", devs)
		}
		anon.get("/api/auth/me").expectError(http.StatusUnauthorized, "not_signed_in")
	})

	sub(t, p, "the limits themselves are fine", func(t *testing.T) {
		for i, password := range []string{"8 chars!", "éééééééé", strings.Repeat("p", 512)} {
			c := p.anonymous()
			email := "edge" + string(rune('a'+i)) + "@example.com"
			c.mustStatus(http.StatusCreated, c.post("/api/auth/register", map[string]any{"email": email, "password": password}))
			c = p.anonymous()
			c.mustStatus(http.StatusOK, c.post("/api/auth/login", map[string]any{"email": email, "password": password}))
		}
		// A password over the limit cannot be used to sign in (nor to burn CPU hashing it).
		wantError(anon.post("/api/auth/login", map[string]any{"email": "edgec@example.com", "password": strings.Repeat("p", 513)}),
			http.StatusUnauthorized, "invalid_credentials")
	})
}

// stuckRuntime is the local runtime, except that the backend named "stuck" never finishes
// being created.
type stuckRuntime struct {
	runtime.Runtime
	runtime.Router
}

func (s stuckRuntime) Apply(ctx context.Context, spec runtime.Spec, progress runtime.Progress) (string, error) {
	if spec.Name == "stuck" {
		progress("held by the test")
		<-ctx.Done()
		return "", ctx.Err()
	}
	return s.Runtime.Apply(ctx, spec, progress)
}

// TestBadSiteUploadStreamedOverLimit streams (no Content-Length, as a browser or curl may) a
// site archive larger than MaxSiteBytes: the control plane's own limit cuts the body while it
// is forwarded to the backend, and the client must hear 413, not that the backend is down.
func TestBadSiteUploadStreamedOverLimit(t *testing.T) {
	const maxSite = 32 << 10
	p := newTestPlane(t, withConfig(func(c *Config) { c.MaxSiteBytes = maxSite }))
	d := p.developer()
	d.createBackend("shop")
	tooBig := siteZip(t, map[string]string{"index.html": "x", "big.bin": string(randomBytes(maxSite + 1))})
	form, ct := multipartBody(t, map[string][]byte{"file": tooBig})
	for what, r := range map[string]*resp{
		"zip":  d.raw(http.MethodPost, "/api/backends/shop/site", chunked(tooBig), "application/zip"),
		"form": d.raw(http.MethodPost, "/api/backends/shop/site", chunked(form), ct),
	} {
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s of %d bytes: %d %s, want 413 payload_too_large", what, len(tooBig), r.status, r.body)
			continue
		}
		wantError(r, http.StatusRequestEntityTooLarge, "payload_too_large")
	}
	var site struct{ Releases []map[string]any }
	d.mustStatus(http.StatusOK, d.get("/api/backends/shop/admin/site")).decode(&site)
	if len(site.Releases) != 0 {
		t.Fatalf("site releases after refused uploads: %v", site.Releases)
	}
}

// multipartBody is a form with the given fields, each holding content.
func multipartBody(t *testing.T, fields map[string][]byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, content := range fields {
		w, err := mw.CreateFormFile(name, "site.zip")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(content)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

func TestInputBackendEndpoints(t *testing.T) {
	const maxSite = 32 << 10
	p := newTestPlane(t,
		withConfig(func(c *Config) { c.MaxSiteBytes = maxSite }),
		withRuntime(func(rt runtime.Runtime) runtime.Runtime { return stuckRuntime{rt, rt.(runtime.Router)} }))
	op := p.developer()
	d := p.developer()
	other := p.developer()
	shop := d.createBackend("shop")
	theirs := other.createBackend("theirs")
	d.createBackend("gone")
	d.mustStatus(http.StatusAccepted, d.delete("/api/backends/gone"))
	d.waitState("gone", "deleted")
	d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": "stuck"}))
	zipBody := siteZip(t, map[string]string{"index.html": "<h1>hello from the form</h1>"})
	siteReleases := func() int {
		var site struct{ Releases []map[string]any }
		d.mustStatus(http.StatusOK, d.get("/api/backends/shop/admin/site")).decode(&site)
		return len(site.Releases)
	}
	intact := func(t *testing.T) {
		t.Helper()
		if b := d.get("/api/backends/shop").backend(); b.State != "running" || b.APIKey != shop.APIKey {
			t.Fatalf("shop = %+v", b)
		}
		if b := other.get("/api/backends/theirs").backend(); b.State != "running" || b.APIKey != theirs.APIKey {
			t.Fatalf("theirs = %+v", b)
		}
		if b := d.get("/api/backends/gone").backend(); b.State != "deleted" {
			t.Fatalf("gone = %+v", b)
		}
		if b := d.get("/api/backends/stuck").backend(); b.State != "creating" {
			t.Fatalf("stuck = %+v", b)
		}
	}

	sub(t, p, "delete with a bad purge", func(t *testing.T) {
		for _, v := range []string{"maybe", "yes", "2", "on", "TRUE%20", "%00"} {
			e := wantError(d.delete("/api/backends/shop?purge="+v), http.StatusBadRequest, "invalid_query")
			if e.Details["field"] != "purge" {
				t.Fatalf("purge=%s: details %v", v, e.Details)
			}
		}
		intact(t)
	})

	sub(t, p, "logs with bad queries", func(t *testing.T) {
		for _, q := range []string{"tail=-1", "tail=abc", "tail=100000", "tail=10001", "tail=1.5", "tail=0x10", "tail=99999999999999999999", "follow=perhaps", "follow=2", "tail=5&follow=perhaps"} {
			wantError(d.get("/api/backends/shop/logs?"+q), http.StatusBadRequest, "invalid_query")
		}
		for _, q := range []string{"service=nope", "service=API", "service=db", "service=api%00", "service=../api"} {
			wantError(d.get("/api/backends/shop/logs?"+q), http.StatusBadRequest, "unknown_service")
		}
		for _, q := range []string{"", "tail=0", "tail=10000", "service=web&tail=5", "follow=false"} {
			r := d.mustStatus(http.StatusOK, d.get("/api/backends/shop/logs?"+q))
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Fatalf("logs?%s served as %q", q, ct)
			}
		}
	})

	sub(t, p, "site uploads", func(t *testing.T) {
		for _, ct := range []string{"text/plain", "", "application/json", "application/x-tar", "multipart/mixed; boundary=x"} {
			wantError(d.raw(http.MethodPost, "/api/backends/shop/site", bytes.NewReader(zipBody), ct), http.StatusUnsupportedMediaType, "unsupported_media_type")
		}
		// The backend judges the archive; its refusal comes back through the proxy.
		wantError(d.raw(http.MethodPost, "/api/backends/shop/site", strings.NewReader("this is not a zip"), "application/zip"), http.StatusBadRequest, "invalid_archive")
		wantError(d.raw(http.MethodPost, "/api/backends/shop/site", strings.NewReader(""), "application/zip"), http.StatusBadRequest, "invalid_archive")
		wantError(d.raw(http.MethodPost, "/api/backends/shop/site", bytes.NewReader(zipBody[:len(zipBody)/2]), "application/octet-stream"), http.StatusBadRequest, "invalid_archive")

		tooBig := siteZip(t, map[string]string{"index.html": "x", "big.bin": string(randomBytes(maxSite + 1))})
		wantError(d.raw(http.MethodPost, "/api/backends/shop/site", bytes.NewReader(tooBig), "application/zip"), http.StatusRequestEntityTooLarge, "payload_too_large")

		noFile, ct := multipartBody(t, map[string][]byte{"upload": zipBody})
		wantError(d.raw(http.MethodPost, "/api/backends/shop/site", bytes.NewReader(noFile), ct), http.StatusBadRequest, "invalid_form")
		empty, ct := multipartBody(t, nil)
		wantError(d.raw(http.MethodPost, "/api/backends/shop/site", bytes.NewReader(empty), ct), http.StatusBadRequest, "invalid_form")
		wantError(d.raw(http.MethodPost, "/api/backends/shop/site", bytes.NewReader(zipBody), "multipart/form-data"), http.StatusBadRequest, "invalid_form")
		wantError(d.raw(http.MethodPost, "/api/backends/shop/site", strings.NewReader("garbage"), "multipart/form-data; boundary=xyz"), http.StatusBadRequest, "invalid_form")
		bigForm, ct := multipartBody(t, map[string][]byte{"file": tooBig})
		wantError(d.raw(http.MethodPost, "/api/backends/shop/site", bytes.NewReader(bigForm), ct), http.StatusRequestEntityTooLarge, "payload_too_large")
		badZipForm, ct := multipartBody(t, map[string][]byte{"file": []byte("not a zip")})
		wantError(d.raw(http.MethodPost, "/api/backends/shop/site", bytes.NewReader(badZipForm), ct), http.StatusBadRequest, "invalid_archive")

		if n := siteReleases(); n != 0 {
			t.Fatalf("%d site releases after refused uploads", n)
		}

		// A browser's form with the zip in "file" is published.
		form, ct := multipartBody(t, map[string][]byte{"file": zipBody})
		d.mustStatus(http.StatusCreated, d.raw(http.MethodPost, "/api/backends/shop/site", bytes.NewReader(form), ct))
		if r := do(t, p.anonymous().http, mustRequest(t, http.MethodGet, p.url("shop", "/"))); !strings.Contains(string(r.body), "hello from the form") {
			t.Fatalf("site = %d %q", r.status, r.body)
		}
		d.mustStatus(http.StatusCreated, d.raw(http.MethodPost, "/api/backends/shop/site", chunked(zipBody), "application/zip"))
		if n := siteReleases(); n != 2 {
			t.Fatalf("%d site releases, want 2", n)
		}
	})

	sub(t, p, "backends that are not running", func(t *testing.T) {
		for name, state := range map[string]string{"stuck": "creating", "gone": "deleted"} {
			for _, r := range []*resp{
				d.raw(http.MethodPost, "/api/backends/"+name+"/site", bytes.NewReader(zipBody), "application/zip"),
				d.post("/api/backends/"+name+"/api-key", nil),
				d.get("/api/backends/" + name + "/admin/users"),
				d.get("/api/backends/" + name + "/admin"),
				d.post("/api/backends/"+name+"/admin/collections", map[string]any{"name": "notes"}),
			} {
				if e := wantError(r, http.StatusConflict, "backend_not_ready"); e.Details["state"] != state {
					t.Fatalf("%s: details %v", name, e.Details)
				}
			}
			_, res, err := p.dialWS(strings.Replace(p.url("admin", "/api/backends/"+name+"/admin/ws"), "http", "ws", 1),
				http.Header{"Origin": {p.url("admin", "")}}, d.http.Jar)
			if err == nil || res == nil || res.StatusCode != http.StatusConflict {
				t.Fatalf("websocket to %s: %v %v", name, err, res)
			}
		}
		if e := wantError(d.get("/api/backends/gone/logs"), http.StatusConflict, "backend_not_ready"); e.Details["state"] != "deleted" {
			t.Fatalf("logs of a deleted backend: details %v", e.Details)
		}
		intact(t)
	})

	sub(t, p, "admin proxy paths with dot segments", func(t *testing.T) {
		for _, path := range []string{
			"/api/backends/shop/admin/..",
			"/api/backends/shop/admin/../metrics",
			"/api/backends/shop/admin/users/../../metrics",
			"/api/backends/shop/admin/users/..",
			"/api/backends/shop/admin/./users",
			"/api/backends/shop/admin/.",
			"/api/backends/shop/admin/%2e%2e/metrics",
			"/api/backends/shop/admin/%2E%2E/metrics",
			"/api/backends/shop/admin/.%2e/metrics",
			"/api/backends/shop/admin/%2e./metrics",
			"/api/backends/shop/admin/%2e/users",
			"/api/backends/shop/admin/users/%2e%2e/%2e%2e/metrics",
			"/api/backends/shop/admin/users/%2e%2e?x=1",
		} {
			wantError(d.opaque(http.MethodGet, path, nil), http.StatusBadRequest, "invalid_path")
			wantError(d.opaque(http.MethodDelete, path, nil), http.StatusBadRequest, "invalid_path")
		}
		// However a path is escaped, nothing outside /admin on the backend's admin port (its
		// metrics) is reachable through the proxy.
		for _, path := range []string{
			"/api/backends/shop/admin/..%2fmetrics",
			"/api/backends/shop/admin/..%2Fmetrics",
			"/api/backends/shop/admin/users%2f..%2f..%2fmetrics",
			"/api/backends/shop/admin/%2e%2e%2fmetrics",
			"/api/backends/shop/admin/..%5cmetrics",
			"/api/backends/shop/admin/%252e%252e/metrics",
			"/api/backends/shop/admin/users/..;/../metrics",
		} {
			r := d.opaque(http.MethodGet, path, nil)
			if r.status < 400 || strings.Contains(string(r.body), "# HELP") {
				t.Errorf("GET %s = %d %.200s", path, r.status, r.body)
				continue
			}
			if e := (httpapi.ErrorBody{}); json.Unmarshal(r.body, &e) != nil || e.Error.Code == "" {
				t.Errorf("GET %s = %d %q, not the contract's error shape", path, r.status, r.body)
			}
		}
		d.mustStatus(http.StatusOK, d.opaque(http.MethodGet, "/api/backends/shop/admin/users", nil))
	})

	sub(t, p, "websockets from another origin", func(t *testing.T) {
		wsURL := strings.Replace(p.url("admin", "/api/backends/shop/admin/ws"), "http", "ws", 1)
		for _, origin := range []string{
			"http://evil.example", p.url("shop", ""), p.url("shop-be", ""), "http://admin.localhost", "http://admin.localhost:1",
			"https://" + strings.TrimPrefix(p.url("admin", ""), "http://") + ".evil.example", "null", "file://",
		} {
			conn, res, err := p.dialWS(wsURL, http.Header{"Origin": {origin}}, d.http.Jar)
			if err == nil {
				conn.Close()
				t.Fatalf("origin %s: the websocket opened", origin)
			}
			if res == nil {
				t.Fatalf("origin %s: %v", origin, err)
			}
			body, _ := io.ReadAll(res.Body)
			wantError(&resp{t: t, status: res.StatusCode, header: res.Header, body: body}, http.StatusForbidden, "origin_not_allowed")
		}
		conn, res, err := p.dialWS(wsURL, http.Header{"Origin": {p.url("admin", "")}}, d.http.Jar)
		if err != nil {
			t.Fatalf("same-origin websocket: %v %v", err, res)
		}
		conn.Close()
	})

	sub(t, p, "unknown, invalid or foreign backends are not found", func(t *testing.T) {
		for _, name := range []string{"nope", "UPPER", "Shop", "admin", "a", "shop-be", "theirs", "%2e%2e", "sh%20op"} {
			base := "/api/backends/" + name
			for what, r := range map[string]*resp{
				"get":        d.get(base),
				"delete":     d.delete(base),
				"purge":      d.delete(base + "?purge=true"),
				"events":     d.get(base + "/events"),
				"logs":       d.get(base + "/logs"),
				"site":       d.raw(http.MethodPost, base+"/site", bytes.NewReader(zipBody), "application/zip"),
				"api-key":    d.post(base+"/api-key", nil),
				"admin root": d.get(base + "/admin"),
				"admin GET":  d.get(base + "/admin/users"),
				"admin POST": d.post(base+"/admin/collections", map[string]any{"name": "notes"}),
				"admin PUT":  d.raw(http.MethodPut, base+"/admin/site", bytes.NewReader(zipBody), "application/zip"),
			} {
				if r.status != http.StatusNotFound {
					t.Errorf("%s %s: %d %.200s", what, name, r.status, r.body)
					continue
				}
				wantError(r, http.StatusNotFound, "backend_not_found")
			}
			_, res, err := p.dialWS(strings.Replace(p.url("admin", base+"/admin/ws"), "http", "ws", 1),
				http.Header{"Origin": {p.url("admin", "")}}, d.http.Jar)
			if err == nil || res == nil || res.StatusCode != http.StatusNotFound {
				t.Errorf("websocket to %s: %v %v", name, err, res)
			}
		}
		intact(t)
		// The operator sees everyone's backends, and still nothing that does not exist.
		op.mustStatus(http.StatusOK, op.get("/api/backends/theirs"))
		wantError(op.get("/api/backends/nope"), http.StatusNotFound, "backend_not_found")
	})
}

// randomBytes is incompressible filler (xorshift), so a zip holding it is as large as it.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

const wrongMethod = -405

func TestInputErrorsAreJSON(t *testing.T) {
	p := newTestPlane(t)
	d := p.developer()
	d.createBackend("shop")
	anon := p.anonymous()
	for _, c := range []struct {
		c            *dev
		method, path string
		status       int
	}{
		{d, http.MethodGet, "/nope", http.StatusNotFound},
		{d, http.MethodGet, "/api", http.StatusNotFound},
		{d, http.MethodGet, "/api/nope", http.StatusNotFound},
		{d, http.MethodGet, "/api/backends/shop/nope", http.StatusNotFound},
		{d, http.MethodGet, "/api/backends/shop/events/x", http.StatusNotFound},
		// A method a path does not take: echo answers 404 or 405 depending on its routing
		// groups; either is fine, in the contract's shape.
		{d, http.MethodPut, "/api/auth/me", wrongMethod},
		{d, http.MethodDelete, "/api/auth/register", wrongMethod},
		{d, http.MethodPatch, "/api/backends", wrongMethod},
		{d, http.MethodPut, "/api/backends/shop", wrongMethod},
		{d, http.MethodPost, "/healthz", wrongMethod},
		{d, "FOO", "/api/backends", wrongMethod},
		{anon, http.MethodGet, "/api/backends", http.StatusUnauthorized},
		{anon, http.MethodGet, "/api/backends/shop/admin/users", http.StatusUnauthorized},
		{anon, http.MethodPost, "/api/auth/logout", http.StatusUnauthorized},
		// The backend's own 404, relayed through the proxy, is JSON too.
		{d, http.MethodGet, "/api/backends/shop/admin/nope", http.StatusNotFound},
	} {
		r := c.c.raw(c.method, c.path, nil, "")
		var e httpapi.ErrorBody
		statusOK := r.status == c.status || c.status == wrongMethod && (r.status == http.StatusNotFound || r.status == http.StatusMethodNotAllowed)
		if !statusOK || json.Unmarshal(r.body, &e) != nil || e.Error.Code == "" || e.Error.Message == "" ||
			!strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s = %d %s %q, want %d in the contract's shape", c.method, c.path, r.status, r.header.Get("Content-Type"), r.body, c.status)
		}
	}
	// A trailing slash or a doubled one is not a different page.
	for _, path := range []string{"/api/backends/", "/api//backends", "/api/backends/shop/", "/api/backends//admin/users"} {
		r := d.opaque(http.MethodGet, path, nil)
		if r.status >= 400 {
			var e httpapi.ErrorBody
			if json.Unmarshal(r.body, &e) != nil || e.Error.Code == "" {
				t.Errorf("GET %s = %d %q", path, r.status, r.body)
			}
		}
	}
}
