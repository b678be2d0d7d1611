package httpapi

import (
	"net/http/httptest"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"10.213.0.0/16", " 192.0.2.7 ", ""})
	if err != nil || len(trusted) != 2 {
		t.Fatalf("ParseTrustedProxies = %v, %v", trusted, err)
	}
	for _, bad := range []string{"traefik", "10.0.0.0/33", "10.0.0.0/8,10.1.0.0/16"} {
		if _, err := ParseTrustedProxies([]string{bad}); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
	for _, tc := range []struct {
		name, peer, xff string
		trusted         bool
		want            string
	}{
		{"nobody trusted: the header is ignored", "127.0.0.1:5000", "203.0.113.9", false, "127.0.0.1"},
		{"untrusted private peer", "10.9.0.4:5000", "203.0.113.9", true, "10.9.0.4"},
		{"trusted proxy", "10.213.0.5:5000", "203.0.113.9", true, "203.0.113.9"},
		{"a forged left part is skipped", "10.213.0.5:5000", "198.51.100.1, 203.0.113.9", true, "203.0.113.9"},
		{"trusted hops are walked back", "10.213.0.5:5000", "203.0.113.9, 192.0.2.7", true, "203.0.113.9"},
		{"no header", "10.213.0.5:5000", "", true, "10.213.0.5"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tc.peer
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		nets := trusted
		if !tc.trusted {
			nets = nil
		}
		if got := ClientIP(nets)(req); got != tc.want {
			t.Errorf("%s: ClientIP = %q, want %q", tc.name, got, tc.want)
		}
	}
}
