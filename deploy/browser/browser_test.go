// Package browser_test drives the SDK and the admin panel in headless Chromium against the
// platform as production runs it: `docker stack deploy` of deploy/platform.yml with Traefik
// in front and real ACME certificates from Pebble (deploy/platform.pebble.yml), every name
// over HTTPS and HTTP/2. Chromium trusts Pebble's root the way a user adds a CA (its NSS
// store), never by ignoring certificate errors, and reaches *.backpack.test at 127.0.0.1 where
// Traefik listens.
//
// Chromium aborts requests in flight (net::ERR_NETWORK_CHANGED) whenever Docker adds or
// removes a network interface, which creating or deleting a backend does. So the test makes
// every backend it needs before starting the browser and changes nothing of the swarm's
// containers while the browser drives pages: what changes "outside the browser" is done
// through the control plane's and the backend's HTTP APIs. It runs apart from the Swarm tests
// for the same reason (make test runs it in a step of its own).
package browser_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/browsertest"
	"github.com/backpackhq/backpack/internal/platformtest"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// sitePage is the backend's site: it loads the SDK from the backend's API with a classic
// <script> tag, as the panel's snippet tells developers to, and connects to that API.
const sitePage = `<!doctype html><html><head><meta charset="utf-8"><title>Backpack over HTTPS</title>
<script src="%[1]s/sdk.js"></script></head><body><h1>site of %[3]s</h1>
<script>window.sdk = createSdk(%[1]q, %[2]q); window.received = [];</script></body></html>`

// env is the deployed platform, its backend and the browser driving them.
type env struct {
	p    *platformtest.Platform
	name string
	// key is the backend's API key, as its site page has it.
	key     string
	browser context.Context
	console *browsertest.Console
	tabs    int
}

// TestBrowserOverHTTPS deploys the HTTPS platform once, makes a backend with a site that uses
// the SDK, then drives Chromium: certificates trusted as a user would, the SDK in cookie mode
// from the backend's site, and the admin panel with its live streams over HTTP/2.
func TestBrowserOverHTTPS(t *testing.T) {
	p := platformtest.Deploy(t, platformtest.Options{Traefik: true, TLS: true})
	e := &env{p: p, name: platformtest.UniqueName("web"), console: &browsertest.Console{}}
	// Everything that starts containers happens before Chromium does.
	b := p.Create(e.name)
	e.key = b.APIKey
	t.Logf("first HTTPS answer after running: api %s, site %s",
		p.FirstAnswer(p.APIURL(e.name)+"/healthz", 2*time.Minute), p.FirstAnswer(p.SiteURL(e.name)+"/", 2*time.Minute))
	page := fmt.Sprintf(sitePage, p.APIURL(e.name), e.key, e.name)
	p.MustStatus(http.StatusCreated, p.Raw(http.MethodPost, "/api/backends/"+e.name+"/site",
		bytes.NewReader(platformtest.SiteZip(t, map[string]string{"index.html": page})), "application/zip"))

	alloc := browsertest.NewAllocator(t, browsertest.TrustRoot(t, p.RootPEM()), resolveToTraefik(p),
		chromedp.WindowSize(1280, 900))
	browser, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	// The first tab is the browser's own; starting it here makes later tabs share its cookies.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	e.browser = browser
	e.listen(browser, "tab1")
	t.Cleanup(func() {
		if errs := e.console.Uncaught(); len(errs) > 0 {
			t.Errorf("the pages threw: %v", errs)
		}
		if t.Failed() {
			t.Logf("browser console:\n%s", e.console)
		}
	})

	t.Run("certificates", func(t *testing.T) {
		p.T = t
		testCertificates(t, e)
	})
	t.Run("sdk in cookie mode", func(t *testing.T) {
		p.T = t
		testSDK(t, e)
	})
	t.Run("panel live over HTTP/2", func(t *testing.T) {
		p.T = t
		testPanel(t, e)
	})
	p.T = t
}

// resolveToTraefik sends every name of the platform's domain to 127.0.0.1, where Traefik
// publishes ports 80 and 443, as a DNS record pointing at this machine would.
func resolveToTraefik(p *platformtest.Platform) chromedp.ExecAllocatorOption {
	return chromedp.Flag("host-resolver-rules", "MAP *."+p.Domain+" 127.0.0.1")
}

func (e *env) listen(ctx context.Context, name string) {
	if err := e.console.Listen(ctx, name); err != nil {
		e.p.T.Fatalf("listen to %s: %v", name, err)
	}
}

// tab opens another tab of the browser (same cookies) and records its responses.
func (e *env) tab(t *testing.T) (context.Context, *responses) {
	t.Helper()
	e.tabs++
	ctx, cancel := chromedp.NewContext(e.browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	e.listen(ctx, fmt.Sprintf("tab%d", e.tabs+1))
	r := &responses{}
	if err := chromedp.Listen(ctx, r.add); err != nil {
		t.Fatalf("listen to the tab's responses: %v", err)
	}
	return ctx, r
}

// responses keeps the responses a tab received, for the protocol each came over, and what
// happened on its websockets, to show when a test fails.
type responses struct {
	mu        sync.Mutex
	list      []*network.EventResponseReceived
	websocket []string
}

func (r *responses) add(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventResponseReceived:
		r.list = append(r.list, ev)
	case *network.EventWebSocketCreated:
		r.websocket = append(r.websocket, "created "+ev.URL)
	case *network.EventWebSocketHandshakeResponseReceived:
		r.websocket = append(r.websocket, fmt.Sprintf("handshake %d", ev.Response.Status))
	case *network.EventWebSocketFrameReceived:
		r.websocket = append(r.websocket, "received "+string(ev.Response.PayloadData))
	case *network.EventWebSocketFrameSent:
		r.websocket = append(r.websocket, "sent "+string(ev.Response.PayloadData))
	case *network.EventWebSocketFrameError:
		r.websocket = append(r.websocket, "error "+ev.ErrorMessage)
	case *network.EventWebSocketClosed:
		r.websocket = append(r.websocket, "closed")
	}
}

// websocketLog is what happened on the tab's websockets, one line each.
func (r *responses) websocketLog() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.websocket, "\n")
}

// find returns the last response whose URL contains part, or nil.
func (r *responses) find(part string) *network.EventResponseReceived {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.list) - 1; i >= 0; i-- {
		if strings.Contains(r.list[i].Response.URL, part) {
			return r.list[i]
		}
	}
	return nil
}

// requireH2 fails unless a response whose URL contains part arrived (within ten seconds) over
// HTTP/2, and returns it.
func (r *responses) requireH2(t *testing.T, part string) *network.EventResponseReceived {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	ev := r.find(part)
	for ev == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		ev = r.find(part)
	}
	if ev == nil {
		t.Fatalf("no response for %s", part)
	}
	if ev.Response.Protocol != "h2" {
		t.Errorf("%s (%s) came over %q, want h2", ev.Response.URL, ev.Type, ev.Response.Protocol)
	}
	return ev
}

// open navigates a tab and waits until the expression is true in the page, and returns how
// long that took and the navigation's timings as the page measured them.
func open(t *testing.T, ctx context.Context, url, ready string) (time.Duration, navTiming) {
	t.Helper()
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(tctx, chromedp.Navigate(url))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("open %s: status %d", url, resp.Status)
	}
	if err := browsertest.WaitFor(ctx, 30*time.Second, ready); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return time.Since(start), navigation(t, ctx)
}

// navigation is the page's navigation timing, as the page measured it.
func navigation(t *testing.T, ctx context.Context) navTiming {
	t.Helper()
	var nav navTiming
	evalJSON(t, ctx, `(() => { const n = performance.getEntriesByType('navigation')[0];
		return { protocol: n.nextHopProtocol, ttfb: n.responseStart - n.startTime,
			domReady: n.domContentLoadedEventEnd - n.startTime, load: n.loadEventEnd - n.startTime }; })()`, &nav)
	return nav
}

// navTiming is a page's navigation timing entry, in milliseconds from the navigation's start.
type navTiming struct {
	Protocol string  `json:"protocol"`
	TTFB     float64 `json:"ttfb"`
	DOMReady float64 `json:"domReady"`
	Load     float64 `json:"load"`
}

func (n navTiming) String() string {
	return fmt.Sprintf("%s, first byte %.0f ms, DOM ready %.0f ms, loaded %.0f ms", n.Protocol, n.TTFB, n.DOMReady, n.Load)
}

// evalJSON evaluates an expression (awaiting a promise) and decodes its JSON value into out.
func evalJSON(t *testing.T, ctx context.Context, expr string, out any) {
	t.Helper()
	if err := browsertest.Async(ctx, "return "+expr, out); err != nil {
		t.Fatalf("%v\n%s", err, expr)
	}
}

// do runs browser actions with a time limit, failing the test with what it was doing.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitFor waits until the expression is true in the page, and returns how long that took.
func waitFor(t *testing.T, ctx context.Context, within time.Duration, expr string) time.Duration {
	t.Helper()
	start := time.Now()
	if err := browsertest.WaitFor(ctx, within, expr); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// cookie returns the browser's cookie of that name for url, or nil.
func cookie(t *testing.T, ctx context.Context, url, name string) *network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		t.Fatalf("cookies of %s: %v", url, err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// requireHostCookie fails unless the cookie is there as the __Host- prefix demands (Secure,
// Path=/, host-only: its domain is the host itself, no leading dot), HttpOnly if asked, with
// the SameSite given.
func requireHostCookie(t *testing.T, ctx context.Context, url, host, name string, httpOnly bool, sameSite network.CookieSameSite) {
	t.Helper()
	c := cookie(t, ctx, url, name)
	if c == nil {
		t.Fatalf("no cookie %s for %s", name, url)
	}
	if !c.Secure || c.Path != "/" || c.Domain != host || c.HTTPOnly != httpOnly || c.SameSite != sameSite {
		t.Errorf("cookie %s: secure %v, path %q, domain %q, httpOnly %v, sameSite %q; want secure, /, %s, httpOnly %v, %s",
			name, c.Secure, c.Path, c.Domain, c.HTTPOnly, c.SameSite, host, httpOnly, sameSite)
	}
}
