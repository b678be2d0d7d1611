package controlplane

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/controlplane/runtime"
)

func TestBackendLabel(t *testing.T) {
	s := &Server{cfg: Config{Domain: "example.com"}}
	for host, want := range map[string]string{
		"shop.example.com": "shop", "shop-be.example.com:8080": "shop-be", "SHOP.Example.COM.": "shop",
		"admin.example.com": "", "example.com": "", "a.b.example.com": "", "shop.example.org": "",
		"shopexample.com": "", "[::1]:8080": "", "127.0.0.1": "", "": "", ".example.com": "",
	} {
		got, ok := s.backendLabel(host)
		if got != want || ok != (want != "") {
			t.Errorf("backendLabel(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
}

// FuzzBackendLabel checks that whatever Host header arrives, a backend label is one DNS label
// directly under the domain, never the control plane's own, and nothing else is taken for one.
func FuzzBackendLabel(f *testing.F) {
	for _, seed := range []string{"shop.localhost:8080", "shop-be.localhost", "admin.localhost", "a.b.localhost",
		"localhost", "[::1]:80", "SHOP.LOCALHOST.", "shop.localhost:bad:port", "%2e.localhost", "shop\x00.localhost"} {
		f.Add(seed)
	}
	s := &Server{cfg: Config{Domain: "localhost"}}
	f.Fuzz(func(t *testing.T, host string) {
		label, ok := s.backendLabel(host)
		if !ok {
			if label != "" {
				t.Fatalf("refused %q but returned label %q", host, label)
			}
			return
		}
		if label == "" || label == "admin" || strings.Contains(label, ".") || label != strings.ToLower(label) {
			t.Fatalf("backendLabel(%q) = %q", host, label)
		}
		bare := host
		if h, _, err := net.SplitHostPort(host); err == nil {
			bare = h
		}
		if strings.TrimSuffix(strings.ToLower(bare), ".") != label+".localhost" {
			t.Fatalf("backendLabel(%q) = %q, which is not the host's first label", host, label)
		}
	})
}

// outOfProcess hides the local runtime's Router, as the Swarm runtime has none: the control
// plane then never serves a backend's hosts itself and only gets them when Traefik has no task
// to send them to.
type outOfProcess struct{ runtime.Runtime }

func TestBackendHostsWithNothingServingThemSayWhy(t *testing.T) {
	p := newTestPlane(t, withRuntime(func(rt runtime.Runtime) runtime.Runtime { return outOfProcess{rt} }))
	d := p.developer()
	d.createBackend("shop")
	get := func(host string) *resp {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, p.url(host, "/api/things"), nil)
		return do(t, d.http, req)
	}
	api := get("shop-be")
	if e := api.expectError(http.StatusServiceUnavailable, "backend_unavailable"); !strings.Contains(e.Message, "API") {
		t.Fatalf("message = %q", e.Message)
	}
	if api.header.Get("Retry-After") == "" {
		t.Fatalf("no Retry-After: %v", api.header)
	}
	site := get("shop")
	if site.status != http.StatusServiceUnavailable || !strings.HasPrefix(site.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(site.body), "Backend unavailable") || site.header.Get("Retry-After") == "" {
		t.Fatalf("site: %d %v %s", site.status, site.header, site.body)
	}
	get("nope-be").expectError(http.StatusNotFound, "backend_not_found")
	if r := get("nope"); r.status != http.StatusNotFound || !strings.Contains(string(r.body), "No such backend") {
		t.Fatalf("unknown site: %d %s", r.status, r.body)
	}
	// The control plane's own host is unaffected.
	d.mustStatus(http.StatusOK, d.get("/api/backends/shop"))
}
