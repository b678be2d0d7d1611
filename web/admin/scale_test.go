package admin_test

import (
	"testing"
)

// TestScaleAPI: the overview's Scale card shows the backend's API replicas, refuses what is not
// a count beside the field (and, from the server, more than the operator allows), saves a
// good one with PATCH, and the change shows in the deployment steps and the backends list.
func TestScaleAPI(t *testing.T) {
	p, c := startWithBackend(t, "shop")
	ctx := p.browser
	p.open(ctx, "/backends/shop")
	p.waitText(ctx, "#scale-title", "Scale")
	var shown string
	p.eval(ctx, `document.querySelector('input[name=api-replicas]').value`, &shown)
	if shown != "1" {
		t.Fatalf("the field shows %q API replicas, want 1", shown)
	}
	p.expectLabelled(ctx, "/backends/shop")
	submit := `form.scale button[type=submit]`
	errorOf := `.field:has(input[name=api-replicas]) .field-error`
	for _, bad := range []struct{ typed, says string }{
		{"", "how many API replicas"}, {"0", "at least 1"}, {"two", "whole number"}, {"1.5", "whole number"},
		// The default maximum (BACKPACK_MAX_API_REPLICAS) is 5: the server says so.
		{"6", "1 to 5"},
	} {
		p.run(ctx, "replicas "+bad.typed, fill(`input[name=api-replicas]`, bad.typed), click(submit))
		p.waitText(ctx, errorOf, bad.says)
	}
	if got := c.backend("shop")["replicas"].(map[string]any)["api"]; got != float64(1) {
		t.Fatalf("refused values changed the replicas to %v", got)
	}
	p.run(ctx, "3 replicas", fill(`input[name=api-replicas]`, "3"), click(submit))
	p.waitText(ctx, ".scale-status", "Saved: 3 API replicas.")
	if got := c.backend("shop")["replicas"].(map[string]any)["api"]; got != float64(3) {
		t.Fatalf("the backend's replicas after saving = %v", got)
	}
	p.waitText(ctx, ".steps", "API replicas set to 3 by ann@example.com")
	p.screenshot(ctx, "scale")

	p.open(ctx, "/")
	p.waitText(ctx, `tr[data-backend=shop]`, "API ×3")
}
