package controlplane

import (
	"net/http"
	"testing"

	"github.com/backpackhq/backpack/internal/openapicheck"
)

// TestHeadWhereverGet walks every GET route of the control plane (the SDK, the panel, the
// streams and the admin proxy included): HEAD answers with GET's status and content type,
// and no body.
func TestHeadWhereverGet(t *testing.T) {
	p := newTestPlane(t)
	d := p.developer()
	d.createBackend("shop")
	inv := d.mustStatus(http.StatusCreated, d.post("/api/invites", map[string]any{}))
	var created inviteJSON
	inv.decode(&created)
	params := map[string]string{"name": "shop", "id": created.ID}
	openapicheck.HeadMatchesGet(t, d.http, p.url("admin", ""), p.cp.echo.Routes(), params, nil)
}
