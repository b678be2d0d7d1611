package controlplane

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/store"
)

// TestInterruptedKeyRotation: a rotation whose caller stopped before storing the backend's
// answer (a control plane killed at that moment) is completed by the reconciler with the same
// key, whether the backend got it or not; one the backend refuses leaves the key as it was;
// while one is under way, another is refused.
func TestInterruptedKeyRotation(t *testing.T) {
	p := newTestPlane(t)
	p.developer() // the operator
	d := p.developer()
	original := d.createBackend("shop").APIKey
	ctx := context.Background()
	shown := func() string { return d.mustStatus(http.StatusOK, d.get("/api/backends/shop")).backend().APIKey }
	keyWorks := func(key string) bool {
		r := p.endUser("shop", key).send(http.MethodGet, "/auth/me", nil)
		return !(r.status == http.StatusUnauthorized && strings.Contains(string(r.body), "invalid_api_key"))
	}
	interrupted := time.Now().Add(-time.Minute) // began long enough ago to count as interrupted

	// One under way: another rotation waits for it.
	fresh := randomToken()
	if err := p.store.BeginKeyRotation(ctx, "shop", p.cp.sealAPIKey("shop", fresh), false, time.Now()); err != nil {
		t.Fatal(err)
	}
	r := d.post("/api/backends/shop/api-key", nil)
	r.expectError(http.StatusConflict, "rotation_in_progress")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("409 rotation_in_progress without Retry-After")
	}
	if err := p.store.AbandonKeyRotation(ctx, "shop", mustBackendRow(t, p).PendingAPIKey); err != nil {
		t.Fatal(err)
	}

	// The backend switched to the key, the control plane stopped before storing it.
	got := randomToken()
	if _, refusal, err := p.cp.sendKeyRotation(ctx, mustBackendRow(t, p), got, false); err != nil || refusal != nil {
		t.Fatalf("send the key: %v %v", refusal, err)
	}
	if err := p.store.BeginKeyRotation(ctx, "shop", p.cp.sealAPIKey("shop", got), false, interrupted); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the interrupted rotation the backend got to be completed", func() bool { return shown() == got })
	if !keyWorks(got) {
		t.Fatal("the backend refuses the key the panel shows")
	}
	if !keyWorks(original) {
		t.Fatal("sending the key again ended the old key's overlap")
	}

	// The control plane stopped before the backend got it.
	lost := randomToken()
	if err := p.store.BeginKeyRotation(ctx, "shop", p.cp.sealAPIKey("shop", lost), true, interrupted); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the interrupted rotation the backend never got to be completed", func() bool { return shown() == lost })
	if !keyWorks(lost) || keyWorks(got) {
		t.Fatal("after the completed revoking rotation: the new key is refused or the old one works")
	}

	// A rotation the backend refuses (a key it does not take) is abandoned: the key stays.
	if err := p.store.BeginKeyRotation(ctx, "shop", p.cp.sealAPIKey("shop", "too-short"), false, interrupted); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the refused rotation to be abandoned", func() bool { return mustBackendRow(t, p).PendingAPIKey == nil })
	if shown() != lost || !keyWorks(lost) {
		t.Fatal("a refused rotation changed the key")
	}
	said := false
	for _, e := range d.events("shop") {
		said = said || strings.Contains(e.Message, "refused the interrupted API key rotation")
	}
	if !said {
		t.Fatal("no event says the backend refused the interrupted rotation")
	}

	// And a plain rotation works again.
	var out keyRotationAnswer
	d.mustStatus(http.StatusOK, d.post("/api/backends/shop/api-key", nil)).decode(&out)
	if out.APIKey == "" || shown() != out.APIKey || !keyWorks(out.APIKey) {
		t.Fatalf("rotation after the interrupted ones = %+v, panel shows %q", out, shown())
	}
}

func mustBackendRow(t *testing.T, p *testPlane) store.Backend {
	t.Helper()
	b, err := p.store.Backend(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
