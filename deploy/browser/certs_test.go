package browser_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/browsertest"
	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"
)

// testCertificates: the panel opens over HTTPS with the certificate Pebble issued for
// admin.DOMAIN, which Chromium verifies against the root in its store (no interstitial, the
// page is "secure"), over HTTP/2; a browser without that root refuses the same page.
func testCertificates(t *testing.T, e *env) {
	ctx, _ := e.tab(t)
	host := "admin." + e.p.Domain
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(tctx, chromedp.Navigate(e.p.Admin+"/"))
	if err != nil {
		t.Fatalf("open %s: %v", e.p.Admin, err)
	}
	if resp.Status != http.StatusOK || resp.Protocol != "h2" || resp.SecurityState != security.StateSecure {
		t.Fatalf("%s: status %d over %q, security %q; want 200 over h2, secure", e.p.Admin, resp.Status, resp.Protocol, resp.SecurityState)
	}
	d := resp.SecurityDetails
	if d == nil || !slices.Contains(d.SanList, host) || !strings.Contains(d.Issuer, "Pebble") {
		t.Fatalf("%s: certificate %+v, want one Pebble issued for %s", e.p.Admin, d, host)
	}
	nav := navigation(t, ctx)
	t.Logf("https://%s: %s certificate from %q (%s); first load %s (%s)", host, d.Protocol, d.Issuer, d.KeyExchangeGroup,
		time.Since(start).Round(time.Millisecond), nav)

	// The same browser without Pebble's root: the certificate is not trusted, so the trust
	// above came from the store and from nothing else.
	untrusted, cancelAlloc := chromedp.NewContext(browsertest.NewAllocator(t, resolveToTraefik(e.p)))
	defer cancelAlloc()
	uctx, cancel2 := context.WithTimeout(untrusted, 60*time.Second)
	defer cancel2()
	if _, err := chromedp.RunResponse(uctx, chromedp.Navigate(e.p.Admin+"/")); err == nil || !strings.Contains(err.Error(), "ERR_CERT_AUTHORITY_INVALID") {
		t.Errorf("a browser without Pebble's root opened %s: %v, want net::ERR_CERT_AUTHORITY_INVALID", e.p.Admin, err)
	}
}
