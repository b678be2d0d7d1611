package core

import "testing"

func TestNormalizeOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://shop.example.com":   "https://shop.example.com",
		"https://shop.example.com/":  "https://shop.example.com",
		"HTTPS://Shop.Example.COM":   "https://shop.example.com",
		"https://a.com:443":          "https://a.com",
		"http://a.com:80":            "http://a.com",
		"http://localhost:5173":      "http://localhost:5173",
		"http://shop.localhost:8080": "http://shop.localhost:8080",
		"https://a.com:8443":         "https://a.com:8443",
		"http://[::1]:3000":          "http://[::1]:3000",
		"http://[::1]":               "http://[::1]",
	} {
		if got, err := NormalizeOrigin(in); err != nil || got != want {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"*", "https://*.a.com", "https://a.com/path", "https://a.com?", "https://a.com#", "https://a.com?x=1",
		"ftp://a.com", "not a url", "a.com", "https://", "https://user@a.com", "mailto:a@b.com", `https://a.com\x`} {
		if got, err := NormalizeOrigin(bad); err == nil {
			t.Errorf("NormalizeOrigin(%q) = %q, want an error", bad, got)
		}
	}
}

func TestLoopbackOrigins(t *testing.T) {
	ls := &Settings{loopback: true, siteHost: "shop.localhost"}
	ls.origins.Store(newOriginSet(nil))
	for _, o := range []string{"http://localhost:5173", "http://shop.localhost:8080", "http://shop.localhost", "http://127.0.0.1:3000", "http://[::1]:8000", "http://localhost"} {
		if !ls.OriginAllowed(o) {
			t.Errorf("%s refused", o)
		}
	}
	// Other *.localhost names are other backends' sites (or the panel) under backpack dev.
	for _, o := range []string{"http://other.localhost:8080", "http://admin.localhost:8080", "http://shop-be.localhost:8080", "http://x.shop.localhost",
		"https://localhost:5173", "http://localhost.evil.com", "http://evil.com", "http://127.0.0.2", "http://localhost:1/x", "null"} {
		if ls.OriginAllowed(o) {
			t.Errorf("%s allowed", o)
		}
	}
	ls.siteHost = ""
	if ls.OriginAllowed("http://shop.localhost:8080") {
		t.Error("a *.localhost origin allowed without it being the backend's site")
	}
	ls.loopback = false
	if ls.OriginAllowed("http://localhost:5173") {
		t.Error("loopback origin allowed without the embedded default")
	}
}
