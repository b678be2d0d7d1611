package controlplane

import (
	"net"
	"strings"
	"testing"
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
