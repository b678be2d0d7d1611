package coreapi

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// preflightAllowed sends a browser's CORS preflight to the public port and reports whether
// the origin was allowed.
func preflightAllowed(api *testAPI, origin string) bool {
	api.t.Helper()
	c := api.client()
	c.apiKey = ""
	c.header.Set("Origin", origin)
	c.header.Set("Access-Control-Request-Method", "POST")
	c.header.Set("Access-Control-Request-Headers", "content-type,x-api-key")
	r := c.raw(http.MethodOptions, "/auth/login", nil, "")
	return r.header.Get("Access-Control-Allow-Origin") == origin && r.header.Get("Access-Control-Allow-Credentials") == "true"
}

func originsOf(api *testAPI) []string {
	api.t.Helper()
	adm := api.adminClient()
	var s struct {
		CORSOrigins []string `json:"corsOrigins"`
	}
	adm.mustStatus(http.StatusOK, adm.get("/admin/settings")).decode(&s)
	return s.CORSOrigins
}

// within polls cond for up to d, reporting whether it came to hold.
func within(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// keyWorks reports whether the public port accepts an API key (a signed-out /auth/me gets
// past the key check and answers not_signed_in).
func keyWorks(api *testAPI, key string) bool {
	api.t.Helper()
	c := api.client()
	c.apiKey = key
	r := c.get("/auth/me")
	switch {
	case r.status == http.StatusUnauthorized && r.errorCode() == "not_signed_in":
		return true
	case r.status == http.StatusUnauthorized && r.errorCode() == "invalid_api_key":
		return false
	}
	api.t.Fatalf("unexpected answer with key %q: %d %s", key, r.status, r.body)
	return false
}

func TestAdminSettingsCORSOrigins(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	s := adm.mustStatus(http.StatusOK, adm.get("/admin/settings")).doc()
	if got := originsOf(api); !slices.Equal(got, []string{"https://shop.example.com"}) {
		t.Fatalf("configured origins = %v", got)
	}
	if _, ok := s["apiKey"]; ok {
		t.Fatalf("settings show an API key: %v", s)
	}
	if _, ok := s["apiKeyRotatedAt"]; ok {
		t.Fatalf("settings show a rotation that did not happen: %v", s)
	}
	if !preflightAllowed(api, "https://shop.example.com") || preflightAllowed(api, "https://new.example.org") {
		t.Fatal("preflight does not follow the configured origins")
	}

	patched := adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{
		"corsOrigins": []string{"https://new.example.org", "http://localhost:5173/", "https://new.example.org"},
	})).doc()
	want := []any{"https://new.example.org", "http://localhost:5173"}
	if got, _ := patched["corsOrigins"].([]any); !slices.Equal(got, want) {
		t.Fatalf("patched origins = %v, want %v", patched["corsOrigins"], want)
	}
	if _, ok := patched["apiKey"]; ok {
		t.Fatalf("an origins change answered with a key: %v", patched)
	}
	if got := originsOf(api); !slices.Equal(got, []string{"https://new.example.org", "http://localhost:5173"}) {
		t.Fatalf("stored origins = %v", got)
	}
	if !preflightAllowed(api, "https://new.example.org") || !preflightAllowed(api, "http://localhost:5173") {
		t.Fatal("preflight from a new origin refused")
	}
	if preflightAllowed(api, "https://shop.example.com") {
		t.Fatal("preflight from the replaced origin still allowed")
	}
	// The websocket handshake follows the same list.
	c, _ := api.signedIn()
	if _, _, err := c.tryDialWS(api.url, http.Header{"Origin": {"https://new.example.org"}}); err != nil {
		t.Fatalf("websocket from the new origin refused: %v", err)
	}
	if _, res, err := c.tryDialWS(api.url, http.Header{"Origin": {"https://shop.example.com"}}); err == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("websocket from the replaced origin: %v %v", err, res)
	}

	// Refused values change nothing.
	for _, bad := range []string{"*", "https://a.com/path", "ftp://x", "not a url", "https://*.a.com", "", "a.com",
		"https://a.com?x=1", "https://a.com#top", "https://user@a.com", "//a.com", "https://"} {
		adm.expectError(adm.patch("/admin/settings", map[string]any{"corsOrigins": []string{"https://ok.example.org", bad}}), 400, "invalid_origin")
		adm.expectError(adm.patch("/admin/settings", map[string]any{"corsOrigins": []string{bad}, "rotateApiKey": true}), 400, "invalid_origin")
	}
	if got := originsOf(api); !slices.Equal(got, []string{"https://new.example.org", "http://localhost:5173"}) {
		t.Fatalf("origins after refused changes = %v", got)
	}
	if !keyWorks(api, testAPIKey) {
		t.Fatal("a refused change rotated the key")
	}
	for _, body := range []any{map[string]any{}, map[string]any{"rotateApiKey": false}, map[string]any{"corsOrigins": nil}} {
		adm.expectError(adm.patch("/admin/settings", body), 400, "invalid_request")
	}
	adm.expectError(adm.patch("/admin/settings", map[string]any{"corsOrigins": "https://a.com"}), 400, "invalid_json")
	adm.expectError(adm.patch("/admin/settings", map[string]any{"apiKey": "mine"}), 400, "invalid_request")

	// An empty list allows no origin at all.
	adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"corsOrigins": []string{}}))
	if got := originsOf(api); got == nil || len(got) != 0 {
		t.Fatalf("origins after clearing = %#v", got)
	}
	if preflightAllowed(api, "https://new.example.org") {
		t.Fatal("preflight allowed with no origins")
	}
}

// TestAdminSettingsOriginQueryOrFragment: an origin has no query and no fragment, not even an
// empty one. "https://a.com?" is stored verbatim and matches no browser's Origin header.
func TestAdminSettingsOriginQueryOrFragment(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	for _, bad := range []string{"https://a.com?", "https://a.com#"} {
		r := adm.patch("/admin/settings", map[string]any{"corsOrigins": []string{bad}})
		if r.status == http.StatusOK && !preflightAllowed(api, "https://a.com") {
			t.Errorf("%q accepted (stored as %v) but the origin https://a.com is not allowed", bad, originsOf(api))
			continue
		}
		if r.status != http.StatusOK && (r.status != http.StatusBadRequest || r.errorCode() != "invalid_origin") {
			t.Errorf("%q: %d %s", bad, r.status, r.body)
		}
	}
}

// TestAdminSettingsRotateAPIKey rotates with revokePrevious, so the old key stops at once (the
// overlap is tested in TestAPIKeyRotationAcrossReplicas).
func TestAdminSettingsRotateAPIKey(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	c, _ := api.signedIn()
	r := adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"rotateApiKey": true, "revokePrevious": true})).doc()
	key, _ := r["apiKey"].(string)
	if len(key) < 32 || key == testAPIKey || r["apiKeyRotatedAt"] == nil {
		t.Fatalf("rotation answer = %v", r)
	}
	if got, _ := r["corsOrigins"].([]any); !slices.Equal(got, []any{"https://shop.example.com"}) {
		t.Fatalf("rotation changed the origins: %v", r)
	}
	// The new key is shown once and never again.
	s := adm.mustStatus(http.StatusOK, adm.get("/admin/settings")).doc()
	if _, ok := s["apiKey"]; ok || s["apiKeyRotatedAt"] != r["apiKeyRotatedAt"] {
		t.Fatalf("settings after rotation = %v", s)
	}

	c.expectError(c.get("/auth/me"), 401, "invalid_api_key")
	if _, res, err := c.tryDialWS(api.url, http.Header{}); err == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("websocket with the old key: %v %v", err, res)
	}
	c.apiKey = key
	c.mustStatus(http.StatusOK, c.get("/auth/me"))
	c.dialWS()
	// Health checks need no key either way.
	c.apiKey = ""
	c.mustStatus(http.StatusOK, c.get("/healthz"))

	// Rotating again retires the second key too.
	again := adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"rotateApiKey": true, "revokePrevious": true})).doc()
	third := again["apiKey"].(string)
	if third == key || keyWorks(api, key) || keyWorks(api, testAPIKey) || !keyWorks(api, third) {
		t.Fatalf("second rotation: old keys still work or the new one does not (%q)", third)
	}

	// Both at once: origins change and the key rotates.
	both := adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"rotateApiKey": true, "revokePrevious": true, "corsOrigins": []string{"https://b.example.org"}})).doc()
	if got, _ := both["corsOrigins"].([]any); !slices.Equal(got, []any{"https://b.example.org"}) || both["apiKey"] == nil || both["apiKey"] == third {
		t.Fatalf("combined change = %v", both)
	}
	if keyWorks(api, third) || !keyWorks(api, both["apiKey"].(string)) {
		t.Fatal("combined change did not rotate the key")
	}
}

func TestAdminSettingsAcrossReplicas(t *testing.T) {
	a := newTestAPI(t)
	b := a.replica()
	if !keyWorks(b, testAPIKey) {
		t.Fatal("replica B refuses the configured key")
	}
	adm := a.adminClient()
	key := adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"rotateApiKey": true, "revokePrevious": true})).doc()["apiKey"].(string)

	// B follows within seconds, without a restart.
	if !within(3*time.Second, func() bool { return !keyWorks(b, testAPIKey) }) {
		t.Fatal("replica B still accepts the old key 3s after rotation")
	}
	if !keyWorks(b, key) || keyWorks(a, testAPIKey) || !keyWorks(a, key) {
		t.Fatal("the replicas disagree on the key")
	}
	if _, ok := b.adminClient().get("/admin/settings").doc()["apiKeyRotatedAt"]; !ok {
		t.Fatal("replica B does not report the rotation")
	}

	// Origins follow the same way.
	adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"corsOrigins": []string{"https://new.example.org"}}))
	if !within(3*time.Second, func() bool { return preflightAllowed(b, "https://new.example.org") }) {
		t.Fatal("replica B does not allow the new origin 3s after the change")
	}
	if preflightAllowed(b, "https://shop.example.com") {
		t.Fatal("replica B still allows the replaced origin")
	}

	// A replica restarted with the same configured key keeps the rotated key and origins.
	restarted := a.replica()
	if keyWorks(restarted, testAPIKey) || !keyWorks(restarted, key) {
		t.Fatal("a restarted replica went back to the configured key")
	}
	if got := originsOf(restarted); !slices.Equal(got, []string{"https://new.example.org"}) {
		t.Fatalf("restarted replica's origins = %v", got)
	}

	// A replica configured with a different key (the operator replaced the secret) uses it.
	cfg := a.cfg
	cfg.APIKey = "operator-replaced-key-0123456789"
	replaced := a.replicaWith(cfg)
	if !keyWorks(replaced, cfg.APIKey) || keyWorks(replaced, key) || keyWorks(replaced, testAPIKey) {
		t.Fatal("a replica with a new configured key does not use exactly that key")
	}
	if s := replaced.adminClient().get("/admin/settings").doc(); s["apiKeyRotatedAt"] != nil {
		t.Fatalf("replica with a new configured key reports an old rotation: %v", s)
	}
	// Rotating there makes a key that replaces the new configured one.
	radm := replaced.adminClient()
	key2 := radm.mustStatus(http.StatusOK, radm.patch("/admin/settings", map[string]any{"rotateApiKey": true, "revokePrevious": true})).doc()["apiKey"].(string)
	if keyWorks(replaced, cfg.APIKey) || !keyWorks(replaced, key2) {
		t.Fatal("rotation on the replica with a new configured key")
	}
}
