package coreapi

import "testing"

func TestSiteHostMustBeLoopback(t *testing.T) {
	base := Config{APIKey: "k", AdminToken: "t", FilesDir: "f", SiteDir: "s", AllowLoopbackOrigins: true}
	for _, host := range []string{"shop.localhost", "SHOP.localhost", "localhost", ""} {
		cfg := base
		cfg.SiteHost = host
		if _, err := cfg.withDefaults(); err != nil {
			t.Errorf("site host %q: %v", host, err)
		}
	}
	for _, host := range []string{"shop.example.com", "localhost.evil.com", "http://shop.localhost", "shop.localhost:8080"} {
		cfg := base
		cfg.SiteHost = host
		if _, err := cfg.withDefaults(); err == nil {
			t.Errorf("site host %q accepted", host)
		}
	}
}
