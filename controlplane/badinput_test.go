package controlplane

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/backpackhq/backpack/internal/badinput"
)

// TestControlPlaneBadInput sends every route of the control plane, as the signed-in operator
// owning a running backend and an invite, the bad inputs of internal/badinput (the proxy to
// the backend's admin port included): no answer is a 5xx or a 4xx outside the contract's error
// shape.
func TestControlPlaneBadInput(t *testing.T) {
	p := newTestPlane(t, withConfig(func(c *Config) { c.MaxSiteBytes = 256 << 10 }))
	d := p.developer()
	d.createBackend("shop")
	var inv inviteJSON
	d.mustStatus(http.StatusCreated, d.post("/api/invites", map[string]any{})).decode(&inv)
	header := http.Header{csrfHeader: {d.csrf()}}
	u, _ := url.Parse(p.url("admin", "/"))
	for _, ck := range d.http.Jar.Cookies(u) {
		header.Add("Cookie", ck.String())
	}
	badinput.Sweep(t, badinput.Target{Base: p.url("admin", ""), Client: &http.Client{Transport: p.transport()},
		Header: header, Router: p.cp.echo, Limit: maxJSONBody,
		Valid: map[string]string{"name": "shop", "id": inv.ID, "*": "collections"}})
}

// TestSiteFormCutShort sends a site form whose body ends inside the file part: the body is at
// fault, so the answer is 400 invalid_form, not 502 backend_unreachable.
func TestSiteFormCutShort(t *testing.T) {
	p := newTestPlane(t)
	d := p.developer()
	d.createBackend("shop")
	form, ct := multipartBody(t, map[string][]byte{"file": siteZip(t, map[string]string{"index.html": "x"})})
	cut := form[:len(form)-20]
	for _, body := range []io.Reader{bytes.NewReader(cut), chunked(cut)} {
		wantError(d.raw(http.MethodPost, "/api/backends/shop/site", body, ct), http.StatusBadRequest, "invalid_form")
	}
}
