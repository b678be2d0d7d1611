package coreapi

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
		if got, err := normalizeOrigin(in); err != nil || got != want {
			t.Errorf("normalizeOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"*", "https://*.a.com", "https://a.com/path", "https://a.com?", "https://a.com#", "https://a.com?x=1",
		"ftp://a.com", "not a url", "a.com", "https://", "https://user@a.com", "mailto:a@b.com", `https://a.com\x`} {
		if got, err := normalizeOrigin(bad); err == nil {
			t.Errorf("normalizeOrigin(%q) = %q, want an error", bad, got)
		}
	}
}
