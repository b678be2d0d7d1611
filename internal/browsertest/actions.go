package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// Click clicks the first element matching a CSS selector. A live list may redraw between
// finding the element and clicking it (the browser then no longer knows the node); a person
// would click the redrawn one, so the click is tried again, a few times.
func Click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var err error
		for range 5 {
			if _, err = chromedp.Click(chromedp.CSS(sel))(ctx, t); err == nil || !strings.Contains(err.Error(), "Could not find node") {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
		return err
	})
}

// Fill clears an input and types into it, as a person would (so input events fire).
func Fill(sel, value string) chromedp.Action[chromedp.Void] {
	clear := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.value = ''; return true; })()`, sel))(ctx, t)
		return err
	})
	return chromedp.Steps(chromedp.WaitVisible(chromedp.CSS(sel)), clear, chromedp.SendKeys(chromedp.CSS(sel), value))
}

// Async runs the body of an async function in the page (it may await and must return a JSON
// value) and decodes what it returns into out. An exception it throws comes back as
// {error: {name, status, code, message}} (the fields of the SDK's BackpackError), so a test
// can check a refusal like any other answer. It gives up after 20 seconds.
func Async(ctx context.Context, body string, out any) error {
	js := `(async () => { try { return await (async () => {` + body + `})(); } catch (err) {
		return { error: { name: err.name, status: err.status, code: err.code, message: String(err.message) } }; } })()`
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	raw, err := chromedp.Run(tctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s: %w", raw, err)
	}
	return nil
}

// WaitFor polls a JavaScript expression in the page every 50 ms until it is true, for at most
// within. When it never is, the error says what the page's main content (or body) shows.
func WaitFor(ctx context.Context, within time.Duration, expr string) error {
	deadline := time.Now().Add(within)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText : document.body.innerText`))
			return fmt.Errorf("not true within %s: %s (last error %v); the page shows:\n%s", within, expr, err, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
