package admin_test

import (
	"testing"
)

// TestAccounts: the first account becomes the operator; sign out; a wrong password is said in
// plain words next to the form; signing in again opens where the developer was going.
func TestAccounts(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	p.open(ctx, "/")
	p.waitText(ctx, "main h1", "Sign in")
	p.screenshot(ctx, "signin")
	p.signUp(ctx, "ann@example.com")
	p.waitText(ctx, ".account", "operator")
	p.waitText(ctx, "main", "No backends yet")
	p.screenshot(ctx, "backends-empty")

	p.run(ctx, "sign out", click(`.account button`))
	p.waitText(ctx, "main h1", "Sign in")
	p.open(ctx, "/new")
	p.waitText(ctx, "main h1", "Sign in")
	p.run(ctx, "wrong password", fill(`input[name=email]`, "ann@example.com"), fill(`input[name=password]`, "not the password"),
		click(`form button[type=submit]`))
	p.waitText(ctx, ".error", "do not match")
	p.run(ctx, "right password", fill(`input[name=password]`, "a long password"), click(`form button[type=submit]`))
	p.waitText(ctx, "main h1", "New backend")
}

// TestCreateBackend: the name is checked as it is typed, the deployment streams to the page until
// the backend runs, and the backends list follows states live.
func TestCreateBackend(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	p.signUp(ctx, "ann@example.com")
	p.open(ctx, "/new")
	for _, c := range []struct{ typed, says string }{
		{"Shop", "lowercase"}, {"1shop", "Start with a letter"}, {"sh", "at least 3"}, {"shop-be", "-be"},
		{"admin", "kept for the platform"}, {"xn--shop", "third and fourth"}, {"shop_1", "only lowercase letters"},
	} {
		p.run(ctx, "type "+c.typed, fill(`input[name=name]`, c.typed))
		p.waitText(ctx, ".field-error", c.says)
		var disabled bool
		p.eval(ctx, `document.querySelector('form button[type=submit]').disabled`, &disabled)
		if !disabled {
			t.Errorf("create is enabled for %q", c.typed)
		}
	}
	p.run(ctx, "type a good name", fill(`input[name=name]`, "shop"))
	p.waitText(ctx, ".preview", "shop-be.localhost")
	p.screenshot(ctx, "create")
	p.run(ctx, "create", click(`form button[type=submit]`))
	p.waitText(ctx, ".outcome", "Running")
	p.waitText(ctx, ".steps", "running")
	p.waitText(ctx, ".title-row .badge", "running")
	p.screenshot(ctx, "backend-overview")

	// A taken name is said next to the field.
	p.open(ctx, "/new")
	p.run(ctx, "create again", fill(`input[name=name]`, "shop"), click(`form button[type=submit]`))
	p.waitText(ctx, ".field-error", "already in use")

	// The list follows a backend created elsewhere, without a reload.
	p.open(ctx, "/")
	p.waitText(ctx, "table.backends", "shop")
	c := p.newClient()
	c.signIn("ann@example.com")
	c.do("POST", "", "/api/backends", nil, map[string]string{"name": "blog"}, 202, nil)
	p.waitText(ctx, `tr[data-backend="blog"]`, "running")
	p.screenshot(ctx, "backends")
	c.do("DELETE", "", "/api/backends/blog?purge=true", nil, nil, 202, nil)
	p.eventually(ctx, "blog to leave the list", `!document.querySelector('tr[data-backend="blog"]')`)
}
