package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkPanel measures what a developer waits for in the admin panel, against `backpack dev`
// in headless Chromium (make bench; figures only, nothing asserted):
//   - page-ms: opening a backend's page until its deployment log says it runs (a cold load of
//     the page, its modules, the backend and both event streams);
//   - live-doc-ms: a document written through the backend's public API until it shows in the
//     open data browser (the admin change stream, then a reload of the page of documents);
//   - live-list-ms: a backend created through the API until it is listed on the open backends
//     page (the listing stream).
//
// Each is the median of 20 samples (p95 alongside).
func BenchmarkPanel(b *testing.B) {
	const samples = 20
	p, c := startWithBackend(b, "shop")
	ctx := p.browser
	c.do(http.MethodPost, "", "/api/backends/shop/admin/collections", nil, map[string]string{"name": "cars"}, http.StatusCreated, nil)
	user := c.endUser("shop", "bench@example.com")

	for b.Loop() {
		var page, doc, list []time.Duration
		for range samples {
			start := time.Now()
			p.open(ctx, "/backends/shop")
			p.waitText(ctx, ".outcome", "Running")
			page = append(page, time.Since(start))
		}

		p.open(ctx, "/backends/shop/data/cars")
		p.waitText(ctx, ".live", "Live")
		for i := range samples {
			marker := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)
			start := time.Now()
			c.do(http.MethodPost, "shop-be.localhost", "/cars", user, map[string]string{"marker": marker}, http.StatusCreated, nil)
			p.waitFor(ctx, "main table", marker)
			doc = append(doc, time.Since(start))
		}

		p.open(ctx, "/")
		p.waitText(ctx, "table.backends", "shop")
		for i := range samples {
			name := fmt.Sprintf("bench-%d", i)
			start := time.Now()
			c.do(http.MethodPost, "", "/api/backends", nil, map[string]string{"name": name}, http.StatusAccepted, nil)
			p.waitFor(ctx, fmt.Sprintf(`tr[data-backend=%q]`, name), name)
			list = append(list, time.Since(start))
		}
		for i := range samples {
			c.do(http.MethodDelete, "", fmt.Sprintf("/api/backends/bench-%d?purge=true", i), nil, nil, http.StatusAccepted, nil)
		}

		report(b, "page", page)
		report(b, "live-doc", doc)
		report(b, "live-list", list)
	}
}

// waitFor waits until the element matching sel contains text, watching the page itself (a
// MutationObserver) rather than polling, so the figure is not a polling interval.
func (p *panel) waitFor(ctx context.Context, sel, text string) {
	p.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err := chromedp.Run(tctx, chromedp.Evaluate[bool](fmt.Sprintf(`new Promise((resolve) => {
		const seen = () => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); };
		if (seen()) return resolve(true);
		const o = new MutationObserver(() => { if (seen()) { o.disconnect(); resolve(true); } });
		o.observe(document.body, {subtree: true, childList: true, characterData: true});
	})`, sel, text), chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("waiting for %q in %s: %v", text, sel, err)
	}
}

// report adds the median and the 95th percentile of the samples as benchmark metrics.
func report(b *testing.B, name string, samples []time.Duration) {
	slices.Sort(samples)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(samples[len(samples)/2]), name+"-p50-ms")
	b.ReportMetric(ms(samples[len(samples)*95/100]), name+"-p95-ms")
}
