package coreapi

import (
	"net/http"
	"slices"
	"testing"

	"github.com/backpackhq/backpack/core"
)

// TestCORSOriginPorts: an origin's port must be 1 to 65535 in digits; a colon without a port
// or a port out of range is refused like any other non-origin, and valid ports are kept in the
// form browsers send.
func TestCORSOriginPorts(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	for _, o := range []string{
		"https://a.example.com:", "https://a.example.com:0", "https://a.example.com:00", "https://a.example.com:65536",
		"https://a.example.com:99999", "https://a.example.com:4294967297", "http://[::1]:", "http://[::1]:70000",
		"https://a.example.com:+443", "https://a.example.com:-1",
	} {
		adm.expectError(adm.patch("/admin/settings", map[string]any{"corsOrigins": []string{o}}), http.StatusBadRequest, "invalid_origin")
	}
	var got core.SettingsView
	adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"corsOrigins": []string{
		"https://a.example.com:8443", "http://b.example.com:080", "https://c.example.com:65535", "http://[::1]:1",
	}})).decode(&got)
	want := []string{"https://a.example.com:8443", "http://b.example.com", "https://c.example.com:65535", "http://[::1]:1"}
	if !slices.Equal(got.CORSOrigins, want) {
		t.Fatalf("origins = %q, want %q", got.CORSOrigins, want)
	}
}
