package browser_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/browsertest"
	"github.com/chromedp/cdproto/network"
)

// testPanel: the developer signs in to the panel at https://admin.DOMAIN (the __Host- session
// cookie), sees the backends list and opens the backend; the panel's live streams (the
// backends listing /api/events, the deployment's /api/backends/NAME/events and the followed
// logs) come over HTTP/2 through Traefik, and changes made outside the browser appear in the
// open page without a reload: a key rotated through the control plane's API, and an end
// user's request in the followed logs.
func testPanel(t *testing.T, e *env) {
	ctx, r := e.tab(t)
	p := e.p
	took, nav := open(t, ctx, p.Admin+"/", `!!document.querySelector('main h1') && document.querySelector('main h1').textContent.includes('Sign in')`)
	t.Logf("%s: sign-in page drawn in %s (%s)", p.Admin, took.Round(time.Millisecond), nav)
	start := time.Now()
	do(t, ctx, "sign in", browsertest.Fill(`input[name=email]`, "dev@example.com"),
		browsertest.Fill(`input[name=password]`, "a long password"), browsertest.Click(`form button[type=submit]`))
	waitFor(t, ctx, 30*time.Second, fmt.Sprintf(`!!document.querySelector('tr[data-backend=%q]')
		&& document.querySelector('tr[data-backend=%q]').textContent.includes('running')`, e.name, e.name))
	listed := time.Since(start)
	waitFor(t, ctx, 10*time.Second, `document.querySelector('p.live').textContent.startsWith('Live')`)
	t.Logf("signed in and saw the live backends list in %s", listed.Round(time.Millisecond))
	host := "admin." + p.Domain
	requireHostCookie(t, ctx, p.Admin, host, "__Host-bkpk_admin", true, network.CookieSameSiteStrict)
	requireHostCookie(t, ctx, p.Admin, host, "__Host-bkpk_csrf", false, network.CookieSameSiteStrict)
	r.requireH2(t, p.Admin+"/api/auth/login")
	if ev := r.requireH2(t, p.Admin+"/api/events"); ev.Type != network.ResourceTypeEventSource {
		t.Errorf("/api/events was fetched as %s, want an EventSource", ev.Type)
	}

	// The backend's page, from the list, as a person opens it.
	start = time.Now()
	do(t, ctx, "open the backend", browsertest.Click(fmt.Sprintf(`tr[data-backend=%q] th a`, e.name)))
	waitFor(t, ctx, 30*time.Second, `!!document.querySelector('.outcome') && document.querySelector('.outcome').textContent.startsWith('Running')`)
	t.Logf("the backend's page with its deployment streamed in %s", time.Since(start).Round(time.Millisecond))
	r.requireH2(t, p.Admin+"/api/backends/"+e.name+"/events")
	do(t, ctx, "show the key", browsertest.Click(`button[aria-controls=api-key]`))
	waitFor(t, ctx, 10*time.Second, fmt.Sprintf(`document.querySelector('#api-key').textContent === %q`, e.key))

	// A rotation through the control plane's API (another session of the developer) reaches
	// the open page through the backends stream: the new key is shown without a reload.
	evalJSON(t, ctx, `(window.notReloaded = true)`, new(bool))
	var rotated struct {
		APIKey string `json:"apiKey"`
	}
	start = time.Now()
	p.MustStatus(http.StatusOK, p.Send(http.MethodPost, "/api/backends/"+e.name+"/api-key", nil)).Decode(&rotated)
	answered := time.Since(start)
	waitFor(t, ctx, 15*time.Second, fmt.Sprintf(`document.querySelector('#api-key').textContent === %q`, rotated.APIKey))
	t.Logf("a key rotated outside the browser showed in the page %s after it was asked for (%s after the answer)",
		time.Since(start).Round(time.Millisecond), (time.Since(start) - answered).Round(time.Millisecond))
	e.key = rotated.APIKey
	var kept bool
	evalJSON(t, ctx, `window.notReloaded === true`, &kept)
	if !kept {
		t.Errorf("the page reloaded to show the new key")
	}

	// The followed logs: an end user's request appears as it happens.
	do(t, ctx, "open the logs", browsertest.Click(`nav.tabs a[href$="/logs"]`))
	waitFor(t, ctx, 30*time.Second, `!!document.querySelector('.log-status') && document.querySelector('.log-status').textContent.startsWith('Following')`)
	if ev := r.requireH2(t, p.Admin+"/api/backends/"+e.name+"/logs?"); ev.Type != network.ResourceTypeFetch {
		t.Errorf("the logs were fetched as %s, want a streamed fetch", ev.Type)
	}
	marker := randomID()
	user := p.EndUser(e.name, e.key)
	start = time.Now()
	// Signed out, the answer is a refusal or a 404: either way the request is logged.
	user.Send(http.MethodGet, "/notes/"+marker, nil)
	seen := waitFor(t, ctx, 30*time.Second, fmt.Sprintf(`document.querySelector('pre.logs').textContent.includes(%q)`, "/notes/"+marker))
	t.Logf("an end user's request showed in the followed logs %s after it was sent (%s after its answer)",
		time.Since(start).Round(time.Millisecond), seen.Round(time.Millisecond))
	waitFor(t, ctx, 5*time.Second, `document.querySelector('.log-status').textContent.startsWith('Following')`)
}

// randomID is a document id no document has, to find one request among the log lines.
func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
