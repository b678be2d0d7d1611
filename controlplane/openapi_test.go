package controlplane

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/internal/openapicheck"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/web/admin"
	"github.com/labstack/echo/v4"
)

// oasPublic are the operations that need no session.
var oasPublic = []string{
	"GET /healthz", "GET /readyz", "GET /metrics", "GET /api/openapi.json",
	"GET /sdk.js", "GET /sdk.mjs", "GET /sdk.d.ts",
	"POST /api/auth/register", "POST /api/auth/login",
}

// TestOpenAPIMatchesRoutes keeps openapi.json in step with the router: every route is
// documented and every documented operation is a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, _ := openapicheck.Parse(t, openAPIDocument)
	// The admin panel's pages are HTML for browsers, not API.
	routes := slices.DeleteFunc(newTestPlane(t).cp.echo.Routes(), func(r *echo.Route) bool { return slices.Contains(admin.Pages, r.Path) })
	openapicheck.MatchRoutes(t, doc, routes, "router()")
}

// TestOpenAPIDocumentIsWellFormed checks the version, that every operation has a unique id
// and a response, that path parameters are declared, that security says what the server
// does (session cookie by default, none on the public operations, the CSRF header with the
// cookie on every state-changing one), and that every $ref resolves.
func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	doc, raw := openapicheck.Parse(t, openAPIDocument)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if doc.Info.Title == "" || doc.Info.Version == "" {
		t.Error("info.title and info.version are required")
	}
	for _, name := range []string{"sessionCookie", "csrfHeader", "metricsToken"} {
		if _, ok := doc.Components.SecuritySchemes[name]; !ok {
			t.Errorf("security scheme %q is missing", name)
		}
	}
	if len(doc.Security) != 1 || len(doc.Security[0]) != 1 || doc.Security[0]["sessionCookie"] == nil {
		t.Errorf("global security = %v, want the session cookie alone", doc.Security)
	}

	for key, op := range openapicheck.CheckOperations(t, doc, raw) {
		method, _, _ := strings.Cut(key, " ")

		public := slices.Contains(oasPublic, key)
		switch {
		case key == "GET /metrics":
			if op.Security == nil || !slices.ContainsFunc(*op.Security, func(m map[string][]string) bool { return len(m) == 0 }) {
				t.Errorf("%s: the metrics token is optional, so security must include {}", key)
			}
		case public:
			if op.Security == nil || len(*op.Security) != 0 {
				t.Errorf("%s needs no session, so it must set security: []", key)
			}
		case safeMethod(method):
			if op.Security != nil {
				t.Errorf("%s needs the session only, so it must not override the global security", key)
			}
		default:
			if op.Security == nil || len(*op.Security) == 0 {
				t.Errorf("%s changes state, so its security must require the session cookie and the CSRF header", key)
				break
			}
			for _, alt := range *op.Security {
				if alt["sessionCookie"] == nil || alt["csrfHeader"] == nil {
					t.Errorf("%s: security alternative %v lacks the session cookie or the CSRF header", key, alt)
				}
			}
		}
	}

	refs := openapicheck.Refs(raw)
	if len(refs) == 0 {
		t.Error("the document uses no $ref at all; expected shared components")
	}
	for _, ref := range refs {
		if _, err := openapicheck.Resolve(raw, ref); err != nil {
			t.Errorf("$ref %q: %v", ref, err)
		}
	}
}

// oasRequestPath fills a documented path's parameters with plausible values.
func oasRequestPath(path string) string {
	return strings.NewReplacer("{name}", "shop", "{id}", "0123456789abcdef01234567", "{path}", "info").Replace(path)
}

// TestOpenAPISecurityMatchesServer asks the server itself what each documented operation
// needs: without a session, the public ones are not refused and the others answer 401
// not_signed_in; signed in but without X-CSRF-Token, every state-changing one (register and
// login included) answers 403 csrf_failed.
func TestOpenAPISecurityMatchesServer(t *testing.T) {
	doc, _ := openapicheck.Parse(t, openAPIDocument)
	p := newTestPlane(t)
	d := p.developer()
	var session string
	u, _ := url.Parse(p.url("admin", "/"))
	for _, c := range d.http.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			session = c.Value
		}
	}
	if session == "" {
		t.Fatal("registering set no session cookie")
	}
	serve := func(method, path, cookie string) (int, string) {
		req := httptest.NewRequest(method, "http://admin.localhost"+oasRequestPath(path), nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
		}
		rec := httptest.NewRecorder()
		p.cp.Handler().ServeHTTP(rec, req)
		var body httpapi.ErrorBody
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body.Error.Code
	}
	for key := range openapicheck.Operations(t, doc) {
		method, path, _ := strings.Cut(key, " ")
		status, code := serve(method, path, "")
		if slices.Contains(oasPublic, key) {
			if status == http.StatusUnauthorized || status == http.StatusForbidden {
				t.Errorf("%s without a session = %d %s; it is documented as public", key, status, code)
			}
		} else if status != http.StatusUnauthorized || (method != http.MethodHead && code != "not_signed_in") {
			t.Errorf("%s without a session = %d %s, want 401 not_signed_in", key, status, code)
		}
		if !safeMethod(method) && !signInPaths[path] {
			if status, code := serve(method, path, session); status != http.StatusForbidden || code != "csrf_failed" {
				t.Errorf("%s signed in without X-CSRF-Token = %d %s, want 403 csrf_failed", key, status, code)
			}
		}
	}
}

// TestOpenAPIServedWithoutSession checks that tooling can fetch the document anonymously and
// gets exactly the embedded file.
func TestOpenAPIServedWithoutSession(t *testing.T) {
	p := newTestPlane(t)
	rec := httptest.NewRecorder()
	p.cp.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://admin.localhost/api/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/openapi.json = %d, want 200; body %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if !bytes.Equal(rec.Body.Bytes(), openAPIDocument) {
		t.Error("the served document differs from openapi.json")
	}
}

// TestOpenAPIErrorCodesDocumented checks that every error code the control plane defines is
// named in the document, so a new code cannot go undocumented.
func TestOpenAPIErrorCodesDocumented(t *testing.T) {
	codes := []string{
		errNotSignedIn.Code, errCSRF.Code, errOperatorOnly.Code, errBackendNotFound.Code, errInvalidLogin.Code,
		errEmailTaken.Code, errNameTaken.Code, errRegistrationShut.Code, errInviteInvalid.Code, errUnreachable.Code,
		toAPIError(errNotReady(store.Backend{State: store.StateCreating})).Code,
		"invalid_json", "invalid_email", "invalid_password", "invalid_name", "invalid_setting", "invalid_query",
		"invite_not_found", "quota_exceeded", "unknown_service", "invalid_form",
		"unsupported_media_type", "payload_too_large", "too_many_attempts", "invalid_path", "origin_not_allowed",
		"invalid_metrics_token", "not_ready", "draining", "internal_error", "not_found", "method_not_allowed", "timeout",
		"ambiguous_session", "rotate_key_through_control_plane",
		errBackupNotFound.Code, errBackupNotReady.Code, errBackupInProgress.Code, errRestoreInProgress.Code,
		"invalid_backup", "invalid_input",
	}
	for _, code := range codes {
		if !bytes.Contains(openAPIDocument, []byte("`"+code+"`")) {
			t.Errorf("error code %q is not documented in openapi.json", code)
		}
	}
}
