package admin_test

import (
	"net/http"
	"testing"
)

// backendQuotas reads a backend's quotas and usage through the control plane's admin proxy.
func (c *client) backendQuotas(name string) (quotas, usage map[string]float64) {
	c.t.Helper()
	var s struct {
		Quotas map[string]float64 `json:"quotas"`
		Usage  map[string]float64 `json:"usage"`
	}
	c.do(http.MethodGet, "", "/api/backends/"+name+"/admin/settings", nil, nil, http.StatusOK, &s)
	return s.Quotas, s.Usage
}

// TestQuotas: the Quotas tab shows a backend's quotas with their usage, explains what it will
// not save, and saves what it may; end users are held to the saved quotas at once.
func TestQuotas(t *testing.T) {
	p, c := startWithBackend(t, "shop")
	ctx := p.browser
	bea := c.endUser("shop", "bea@example.com")
	c.do(http.MethodPost, "shop-be.localhost", "/collections", bea, map[string]string{"name": "notes"}, http.StatusCreated, nil)

	p.open(ctx, "/backends/shop/quotas")
	p.eventually(ctx, "the quotas to load", `document.querySelector('input[name=collections]').value === '100' &&
		document.querySelector('input[name=fileBytes]').value === '1024' && document.querySelector('input[name=userFileBytes]').value === '100'`)
	p.waitText(ctx, `.quota-usage[data-quota=collections]`, "In use: 1 collection of 100 (1%).")
	p.waitText(ctx, `.quota-usage[data-quota=fileBytes]`, "In use: 0 B of 1.0 GB (0%).")
	p.expectLabelled(ctx, "/backends/shop/quotas")
	p.screenshot(ctx, "quotas")

	// What cannot be a quota is explained beside its field, and nothing is sent.
	p.run(ctx, "enter bad quotas", fill(`input[name=collections]`, "1.5"), fill(`input[name=fileBytes]`, "-2"),
		fill(`input[name=userFileBytes]`, " "), click(`form.quotas-form button[type=submit]`))
	p.waitText(ctx, `.field:has(input[name=collections]) .field-error`, "Enter a whole number of collections.")
	p.waitText(ctx, `.field:has(input[name=fileBytes]) .field-error`, "Enter 0 or a positive number, in digits.")
	p.waitText(ctx, `.field:has(input[name=userFileBytes]) .field-error`, "Enter a number; 0 means unlimited.")
	p.eventually(ctx, "the first bad field to have the focus", `document.activeElement === document.querySelector('input[name=collections]') &&
		document.querySelector('input[name=collections]').getAttribute('aria-invalid') === 'true'`)
	p.screenshot(ctx, "quotas-invalid")
	if q, _ := c.backendQuotas("shop"); q["collections"] != 100 {
		t.Fatalf("quotas after refused input = %v", q)
	}

	// Saving applies at once: one collection is the limit, and bea is at it.
	p.run(ctx, "save quotas", fill(`input[name=collections]`, "1"), fill(`input[name=fileBytes]`, "0.5"),
		fill(`input[name=userFileBytes]`, "0"), click(`form.quotas-form button[type=submit]`))
	p.waitText(ctx, ".quotas-status", "Saved.")
	p.waitText(ctx, `.quota-usage[data-quota=collections]`, "In use: 1 collection of 1 (100%).")
	p.eventually(ctx, "the errors to be gone", `[...document.querySelectorAll('.quotas-form .field-error')].every((e) => e.hidden)`)
	q, usage := c.backendQuotas("shop")
	if q["collections"] != 1 || q["fileBytes"] != 512*1024 || q["userFileBytes"] != 0 || usage["collections"] != 1 {
		t.Fatalf("saved quotas = %v, usage %v", q, usage)
	}
	var refusal struct {
		Error struct {
			Code    string         `json:"code"`
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	c.do(http.MethodPost, "shop-be.localhost", "/collections", bea, map[string]string{"name": "more"}, http.StatusForbidden, &refusal)
	if refusal.Error.Code != "quota_exceeded" || refusal.Error.Details["quota"] != "collections" {
		t.Fatalf("over the quota: %+v", refusal.Error)
	}

	// 0 is unlimited, and the page shows it so.
	p.run(ctx, "lift the collections quota", fill(`input[name=collections]`, "0"), click(`form.quotas-form button[type=submit]`))
	p.waitText(ctx, `.quota-usage[data-quota=collections]`, "In use: 1 collection; no limit.")
	c.do(http.MethodPost, "shop-be.localhost", "/collections", bea, map[string]string{"name": "more"}, http.StatusCreated, nil)
}
