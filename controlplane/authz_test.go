package controlplane

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/backpackhq/backpack/controlplane/runtime"
)

// TestAuthorizationMatrix checks every backend endpoint for the owner, another developer, the
// operator, an anonymous caller and the owner without the CSRF header.
func TestAuthorizationMatrix(t *testing.T) {
	p := newTestPlane(t)
	operator := p.developer()
	owner := p.developer()
	other := p.developer()
	owner.createBackend("alpha")

	collections := 0
	zipBody := siteZip(t, map[string]string{"index.html": "hi"})
	endpoints := []struct {
		name    string
		call    func(*dev) *resp
		ok      int
		changes bool
	}{
		{"get", func(d *dev) *resp { return d.get("/api/backends/alpha") }, http.StatusOK, false},
		{"events", func(d *dev) *resp { return d.get("/api/backends/alpha/events") }, http.StatusOK, false},
		{"logs", func(d *dev) *resp { return d.get("/api/backends/alpha/logs?tail=5") }, http.StatusOK, false},
		{"admin proxy GET", func(d *dev) *resp { return d.get("/api/backends/alpha/admin/info") }, http.StatusOK, false},
		{"admin proxy POST", func(d *dev) *resp {
			collections++
			return d.post("/api/backends/alpha/admin/collections", map[string]any{"name": "c" + strconv.Itoa(collections)})
		}, http.StatusCreated, true},
		{"site", func(d *dev) *resp {
			return d.raw(http.MethodPost, "/api/backends/alpha/site", bytes.NewReader(zipBody), "application/zip")
		}, http.StatusCreated, true},
		{"api-key", func(d *dev) *resp { return d.post("/api/backends/alpha/api-key", nil) }, http.StatusOK, true},
	}
	anonymous := p.anonymous()
	noCSRF := *owner
	noCSRF.noCSRF = true
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			owner.mustStatus(ep.ok, ep.call(owner))
			operator.mustStatus(ep.ok, ep.call(operator))
			ep.call(other).expectError(http.StatusNotFound, "backend_not_found")
			ep.call(anonymous).expectError(http.StatusUnauthorized, "not_signed_in")
			if ep.changes {
				ep.call(&noCSRF).expectError(http.StatusForbidden, "csrf_failed")
			}
		})
	}

	// Lists: each developer sees their own; the operator sees everyone's, with owners.
	var list struct{ Backends []backendJSON }
	other.mustStatus(http.StatusOK, other.get("/api/backends")).decode(&list)
	if len(list.Backends) != 0 {
		t.Fatalf("another developer lists %+v", list.Backends)
	}
	other.createBackend("beta")
	operator.mustStatus(http.StatusOK, operator.get("/api/backends")).decode(&list)
	if len(list.Backends) != 2 || list.Backends[0].Owner != owner.email || list.Backends[1].Owner != other.email {
		t.Fatalf("operator lists %+v", list.Backends)
	}
	for _, b := range list.Backends {
		if b.APIKey != "" || b.Services != nil {
			t.Fatalf("the list leaks keys or services: %+v", b)
		}
	}
	anonymous.get("/api/backends").expectError(http.StatusUnauthorized, "not_signed_in")
	other.get("/api/nothing-here").expectError(http.StatusNotFound, "not_found")
	other.send(http.MethodPut, "/api/backends/alpha", map[string]any{}).expectError(http.StatusMethodNotAllowed, "method_not_allowed")

	// Delete: refused to others, without CSRF and anonymously; the operator may.
	other.delete("/api/backends/alpha").expectError(http.StatusNotFound, "backend_not_found")
	noCSRF.delete("/api/backends/alpha").expectError(http.StatusForbidden, "csrf_failed")
	anonymous.delete("/api/backends/alpha").expectError(http.StatusUnauthorized, "not_signed_in")
	if st := owner.get("/api/backends/alpha").backend().State; st != "running" {
		t.Fatalf("a refused delete changed the state to %s", st)
	}
	operator.mustStatus(http.StatusAccepted, operator.delete("/api/backends/beta"))
	owner.mustStatus(http.StatusAccepted, owner.delete("/api/backends/alpha"))
}

// spyRuntime points one backend's admin port at a recording server, to see exactly what the
// proxy sends the backend.
type spyRuntime struct {
	runtime.Runtime
	spyURL string
}

func (s *spyRuntime) AdminURL(ctx context.Context, name string) (string, error) {
	if name == "spy" {
		return s.spyURL, nil
	}
	return s.Runtime.AdminURL(ctx, name)
}

func TestProxyPassesNoControlPlaneCredentials(t *testing.T) {
	var mu sync.Mutex
	var seen *http.Request
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Clone(context.Background())
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "bkpk_admin", Value: "planted-by-backend"})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer spy.Close()
	p := newTestPlane(t, withRuntime(func(rt runtime.Runtime) runtime.Runtime { return &spyRuntime{Runtime: rt, spyURL: spy.URL} }))
	d := p.developer()
	d.createBackend("spy")
	r := d.raw(http.MethodPost, "/api/backends/spy/admin/collections/x%2Fy/docs?limit=5", bytes.NewReader([]byte(`{}`)), "application/json")
	d.mustStatus(http.StatusOK, r)
	if r.header.Get("Set-Cookie") != "" {
		t.Fatalf("the backend's Set-Cookie reached the browser: %q", r.header.Get("Set-Cookie"))
	}
	// The answer is shown on the panel's origin: it must never be sniffed or run there.
	if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Content-Security-Policy") != "default-src 'none'; sandbox" {
		t.Errorf("proxied answer headers = %v", r.header)
	}
	mu.Lock()
	defer mu.Unlock()
	b, err := p.store.Backend(context.Background(), "spy")
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := p.cp.backendSecrets(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := seen.Header.Get("Authorization"); got != "Bearer "+token {
		t.Fatalf("Authorization at the backend = %q", got)
	}
	for _, h := range []string{"Cookie", csrfHeader, "Origin"} {
		if v := seen.Header.Get(h); v != "" {
			t.Errorf("%s reached the backend: %q", h, v)
		}
	}
	if seen.URL.EscapedPath() != "/admin/collections/x%2Fy/docs" || seen.URL.RawQuery != "limit=5" || seen.Method != http.MethodPost {
		t.Errorf("the backend got %s %s?%s", seen.Method, seen.URL.EscapedPath(), seen.URL.RawQuery)
	}
}
