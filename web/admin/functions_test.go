package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// editorState is what a test reads of the code editor: its text, the caret, the focus and the
// gutter.
type editorState struct {
	Value     string
	Start     int
	End       int
	Focused   bool
	Lines     int
	ErrorLine string
	Error     string
	Invalid   bool
}

// readEditor reads the state of the code editor inside the element matching scope.
func (p *panel) readEditor(ctx context.Context, scope string) editorState {
	p.t.Helper()
	var s editorState
	p.eval(ctx, fmt.Sprintf(`(() => {
		const root = document.querySelector(%q);
		const ta = root.querySelector('.code-editor textarea');
		const mark = root.querySelector('.code-lines > .error-line');
		const err = root.querySelector('.code-editor').parentElement.querySelector('.field-error');
		return {value: ta.value, start: ta.selectionStart, end: ta.selectionEnd, focused: document.activeElement === ta,
			lines: root.querySelectorAll('.code-lines > div').length, errorLine: mark ? mark.textContent : '',
			error: err.hidden ? '' : err.textContent, invalid: ta.getAttribute('aria-invalid') === 'true'};
	})()`, scope), &s)
	return s
}

// TestFunctionCodeEditor: the code editor types like one: Enter keeps the indentation, Tab
// indents (every selected line when several are selected), Shift+Tab dedents, the gutter
// numbers the lines, an error marks its line and takes the caret there, and Escape then Tab
// leaves the editor.
func TestFunctionCodeEditor(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	p.open(ctx, "/signin")
	var ok bool
	p.eval(ctx, `import('/assets/views/functions-code.js').then((m) => {
		const ed = m.codeEditor('Code', 'Tab indents.');
		const box = document.createElement('div');
		box.id = 'editor-test';
		box.append(ed.el);
		document.querySelector('main').append(box);
		window.editor = ed;
		return true;
	})`, &ok)
	ta := `#editor-test textarea`
	p.run(ctx, "type a function", chromedp.Focus(chromedp.CSS(ta)),
		chromedp.KeyEvent("function f() {\r\treturn 1;\r"), chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)),
		chromedp.KeyEvent("}"))
	want := "function f() {\n  return 1;\n}"
	if s := p.readEditor(ctx, "#editor-test"); s.Value != want || s.Lines != 3 || s.Start != len(want) {
		t.Fatalf("after typing: %+v, want %q in 3 lines with the caret at the end", s, want)
	}

	// Several lines selected: Tab indents each and Shift+Tab takes it back.
	p.eval(ctx, `(() => { const ta = document.querySelector('#editor-test textarea'); ta.setSelectionRange(3, 20); return true; })()`, &ok)
	p.run(ctx, "indent the selection", chromedp.KeyEvent("\t"))
	indented := "  function f() {\n    return 1;\n}"
	if s := p.readEditor(ctx, "#editor-test"); s.Value != indented || s.Start != 5 || s.End != 24 {
		t.Fatalf("after Tab on two lines: %+v, want %q with lines 1-2 selected", s, indented)
	}
	p.run(ctx, "dedent the selection", chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
	if s := p.readEditor(ctx, "#editor-test"); s.Value != want || s.Start != 3 || s.End != 20 {
		t.Fatalf("after Shift+Tab on two lines: %+v, want %q with the same selection", s, want)
	}

	// An error marks its line in the gutter, says why under the field and puts the caret there.
	p.eval(ctx, `(() => { document.activeElement.blur(); editor.markError(2, 3, 'Unexpected token at line 2'); return true; })()`, &ok)
	s := p.readEditor(ctx, "#editor-test")
	if s.ErrorLine != "2" || !s.Focused || s.Start != len("function f() {\n")+2 || s.Start != s.End || !s.Invalid || s.Error != "Unexpected token at line 2" {
		t.Fatalf("after markError(2, 3): %+v", s)
	}
	// Typing on the line keeps the mark; a new line (the lines move) clears it.
	p.run(ctx, "type on the marked line", chromedp.KeyEvent("x"))
	if s := p.readEditor(ctx, "#editor-test"); s.ErrorLine != "2" {
		t.Fatalf("the mark went on typing: %+v", s)
	}
	p.run(ctx, "add a line", chromedp.KeyEvent("\r"))
	if s := p.readEditor(ctx, "#editor-test"); s.ErrorLine != "" || s.Invalid || s.Error != "" || s.Lines != 4 {
		t.Fatalf("a new line kept the mark: %+v", s)
	}

	// Escape, then Tab, leaves the editor and types nothing.
	before := p.readEditor(ctx, "#editor-test").Value
	p.run(ctx, "leave the editor", chromedp.KeyEvent("\u001b"), chromedp.KeyEvent("\t"))
	if s := p.readEditor(ctx, "#editor-test"); s.Focused || s.Value != before {
		t.Fatalf("Escape then Tab: %+v", s)
	}
}

// setSource replaces the code in the Functions tab's editor as a paste would.
func (p *panel) setSource(ctx context.Context, source string) {
	p.t.Helper()
	var ok bool
	p.eval(ctx, fmt.Sprintf(`(() => { const ta = document.querySelector('.fn-editor textarea[name=source]');
		ta.value = %q; ta.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`, source), &ok)
}

// fnSyntaxError has a syntax error on its third line.
const fnSyntaxError = `function onRequest(req, ctx) {
  console.log('greeting', req.body.name);
  const answer = ;
  return answer;
}
`

// fnGreeter logs, answers, throws, and throws an HttpError whose code would sign the
// developer out if the panel took it for the control plane's.
const fnGreeter = `function onRequest(req, ctx) {
  if (req.path === '/boom') throw new Error('kaboom');
  if (req.path === '/guarded') throw new ctx.HttpError(401, 'not_signed_in', 'sign in first');
  console.log('greeting', req.body.name);
  return { status: 201, body: { hello: req.body.name, greeting: ctx.env.GREETING, user: ctx.user } };
}
`

// TestFunctions: in the Functions tab a developer creates a function, deploys a syntax error
// (marked at its line, the running version untouched), fixes and deploys it, invokes it and
// sees its answer and its logs follow live (errors in red), moves to another function without
// losing changes unasked, and deletes it.
func TestFunctions(t *testing.T) {
	p, c := startWithBackend(t, "shop")
	ctx := p.browser
	fnPath := "/api/backends/shop/admin/functions/hello"

	p.open(ctx, "/backends/shop/functions")
	var ok bool
	// The test counts the page's requests to the logs: keep every one of them.
	p.eval(ctx, `(performance.setResourceTimingBufferSize(100000), true)`, &ok)
	p.waitText(ctx, ".fn-list", "No functions yet")
	p.expectLabelled(ctx, "/backends/shop/functions")

	// A name the server would refuse is explained as it is typed.
	p.run(ctx, "type a bad name", fill(`input[name=function]`, "1hello"))
	p.waitText(ctx, `.field:has(input[name=function]) .field-error`, "Start with a letter.")
	p.run(ctx, "create hello", fill(`input[name=function]`, "hello"), click(`form.create-function button[type=submit]`))
	p.waitText(ctx, ".fn-name", "hello")
	p.waitText(ctx, `tr[data-function=hello]`, "onRequest")
	p.waitText(ctx, ".fn-version", "1")
	p.eventually(ctx, "the address to name the function", `location.pathname === '/backends/shop/functions/hello'`)
	p.eventually(ctx, "the starter in the editor", `document.querySelector('.fn-editor textarea[name=source]').value.includes('function onRequest(req, ctx)')`)
	p.expectLabelled(ctx, "/backends/shop/functions/hello")
	var fn struct {
		Version int    `json:"version"`
		Source  string `json:"source"`
	}
	c.do(http.MethodGet, "", fnPath, nil, nil, http.StatusOK, &fn)
	starter := fn.Source
	if fn.Version != 1 || !strings.Contains(starter, "function onRequest") {
		t.Fatalf("created function = %+v", fn)
	}

	// Settings are checked before anything is sent.
	p.run(ctx, "enter bad settings", fill(`input[name=timeoutMs]`, "0"), fill(`textarea[name=env]`, "GREETING"),
		click(`.fn-editor button.deploy`))
	p.waitText(ctx, `.field:has(input[name=timeoutMs]) .field-error`, "from 10 to 60000")
	p.waitText(ctx, `.field:has(textarea[name=env]) .field-error`, "Line 1: write NAME=value.")
	p.run(ctx, "enter settings", fill(`input[name=timeoutMs]`, "3000"), fill(`textarea[name=env]`, "GREETING=Hej"),
		fill(`input[name=collections]`, "orders"))

	// A syntax error: marked at its line, the caret there, and version 1 still runs.
	p.setSource(ctx, fnSyntaxError)
	p.waitText(ctx, ".fn-status-line", "not deployed")
	p.run(ctx, "deploy a syntax error", click(`.fn-editor button.deploy`))
	p.waitText(ctx, ".fn-editor .code-lines > .error-line", "3")
	p.waitText(ctx, ".fn-status-line", "Nothing was deployed: version 1 still runs.")
	s := p.readEditor(ctx, ".fn-editor")
	if caretLine := strings.Count(s.Value[:s.Start], "\n") + 1; caretLine != 3 || !s.Focused || !strings.HasPrefix(s.Error, "Syntax error at line 3, column ") ||
		strings.Count(s.Error, "line 3") != 1 || !s.Invalid {
		t.Fatalf("after the syntax error: caret on line %d, %+v", caretLine, s)
	}
	p.screenshot(ctx, "functions-syntax-error")
	c.do(http.MethodGet, "", fnPath, nil, nil, http.StatusOK, &fn)
	if fn.Version != 1 || fn.Source != starter {
		t.Fatalf("a refused deploy changed the function: %+v", fn)
	}

	// Fixed and deployed: version 2, the mark gone.
	p.setSource(ctx, fnGreeter)
	p.run(ctx, "deploy the fix", click(`.fn-editor button.deploy`))
	p.waitText(ctx, ".fn-status-line", "Deployed version 2.")
	p.waitText(ctx, ".fn-version", "2")
	p.waitText(ctx, `tr[data-function=hello]`, "2")
	if s := p.readEditor(ctx, ".fn-editor"); s.ErrorLine != "" || s.Invalid {
		t.Fatalf("the mark stayed after a good deploy: %+v", s)
	}
	var deployed struct {
		Version     int               `json:"version"`
		Source      string            `json:"source"`
		Collections []string          `json:"collections"`
		Env         map[string]string `json:"env"`
		TimeoutMS   int               `json:"timeoutMs"`
	}
	c.do(http.MethodGet, "", fnPath, nil, nil, http.StatusOK, &deployed)
	if deployed.Version != 2 || deployed.Source != fnGreeter || deployed.TimeoutMS != 3000 || deployed.Env["GREETING"] != "Hej" ||
		len(deployed.Collections) != 1 || deployed.Collections[0] != "orders" {
		t.Fatalf("deployed function = %+v", deployed)
	}

	// Invoke: the body is checked as JSON before anything is sent.
	p.run(ctx, "type a bad body", fill(`textarea[name=body]`, `{"name":`), click(`form.fn-invoke button[type=submit]`))
	p.waitText(ctx, `.field:has(textarea[name=body]) .field-error`, "not valid JSON")
	p.run(ctx, "invoke", fill(`textarea[name=body]`, `{"name":"Ann"}`), click(`form.fn-invoke button[type=submit]`))
	p.waitText(ctx, ".fn-status", "201")
	p.waitText(ctx, ".fn-answer", `"hello": "Ann"`)
	p.waitText(ctx, ".fn-answer", `"greeting": "Hej"`)
	p.waitText(ctx, ".fn-answer", `"user": null`)
	p.waitText(ctx, ".fn-duration", "ms")
	p.waitText(ctx, ".fn-logs", "greeting Ann")
	p.screenshot(ctx, "functions")

	// A thrown error is the function's answer, and its log line is red.
	p.run(ctx, "invoke boom", fill(`input[name=path]`, "boom"), click(`form.fn-invoke button[type=submit]`))
	p.waitText(ctx, ".fn-status", "500 · function_error")
	p.waitText(ctx, ".fn-logs .log-error", "kaboom")
	var red bool
	p.eval(ctx, `getComputedStyle(document.querySelector('.fn-logs .log-error')).color !== getComputedStyle(document.querySelector('.fn-logs .log-line:not(.log-error)')).color`, &red)
	if !red {
		t.Error("error lines look like the others")
	}
	// A function's own not_signed_in is its answer: the developer stays signed in.
	p.run(ctx, "invoke guarded", fill(`input[name=path]`, "guarded"), click(`form.fn-invoke button[type=submit]`))
	p.waitText(ctx, ".fn-status", "401 · not_signed_in")
	p.waitText(ctx, ".fn-answer", "sign in first")
	var stayed bool
	p.eval(ctx, `location.pathname === '/backends/shop/functions/hello' && !!document.querySelector('.account')`, &stayed)
	if !stayed {
		t.Fatal("a function's not_signed_in signed the developer out")
	}

	// An end user's call shows in the open page's logs.
	bea := c.endUser("shop", "bea@example.com")
	c.do(http.MethodPost, "shop-be.localhost", "/fn/hello", bea, map[string]string{"name": "Bea"}, http.StatusCreated, nil)
	p.waitText(ctx, ".fn-logs", "greeting Bea")

	// Another function is a click away; changes not deployed are dropped only when confirmed.
	p.run(ctx, "create other", fill(`input[name=function]`, "other"), click(`form.create-function button[type=submit]`))
	p.waitText(ctx, ".fn-name", "other")
	p.waitText(ctx, ".fn-list", "other")
	p.run(ctx, "back to hello", click(`tr[data-function=hello] a`))
	p.waitText(ctx, ".fn-name", "hello")
	p.eventually(ctx, "hello's code", `document.querySelector('.fn-editor textarea[name=source]').value.includes('kaboom')`)
	p.setSource(ctx, fnGreeter+"// not deployed\n")
	p.run(ctx, "pick other with changes", click(`tr[data-function=other] a`))
	p.run(ctx, "keep the changes", click(`dialog button[value=cancel]`))
	p.eventually(ctx, "hello to stay with its changes", `location.pathname === '/backends/shop/functions/hello' &&
		document.querySelector('.fn-editor textarea[name=source]').value.includes('not deployed')`)
	p.run(ctx, "pick other again", click(`tr[data-function=other] a`))
	p.run(ctx, "discard the changes", click(`dialog button[value=ok]`))
	p.waitText(ctx, ".fn-name", "other")
	p.eventually(ctx, "the address to name other", `location.pathname === '/backends/shop/functions/other'`)
	c.do(http.MethodGet, "", fnPath, nil, nil, http.StatusOK, &deployed)
	if deployed.Version != 2 || deployed.Source != fnGreeter {
		t.Fatalf("discarded changes reached the server: %+v", deployed)
	}

	// Leaving the tab stops following the logs.
	p.run(ctx, "go to the overview", click(`nav.tabs a[href="/backends/shop"]`))
	p.waitText(ctx, ".outcome", "Running")
	logPolls := func() int {
		var n int
		p.eval(ctx, `performance.getEntriesByType('resource').filter((e) => e.name.includes('/logs?')).length`, &n)
		return n
	}
	pause := func() {
		if _, err := chromedp.Run(ctx, chromedp.Sleep(2500*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	left := logPolls()
	pause()
	// A poll in flight when the tab closed may still be counted, once.
	settled := logPolls()
	pause()
	if now := logPolls(); settled > left+1 || now != settled {
		t.Fatalf("the logs were polled after leaving the tab: %d, then %d, then %d requests", left, settled, now)
	}

	// On a phone the page fits the width (the code scrolls inside its field); then delete,
	// after a confirmation.
	p.run(ctx, "narrow viewport", chromedp.EmulateViewport(375, 812))
	p.open(ctx, "/backends/shop/functions/hello")
	p.waitText(ctx, ".fn-version", "2")
	var width int
	p.eval(ctx, `document.documentElement.scrollWidth`, &width)
	if width > 375 {
		t.Errorf("the Functions tab is %d px wide at 375 px", width)
	}
	p.screenshot(ctx, "functions-375")
	p.run(ctx, "delete", click(`.fn-editor button.delete`))
	p.run(ctx, "confirm", click(`dialog button[value=ok]`))
	p.eventually(ctx, "hello to leave the list", `!document.querySelector('tr[data-function=hello]') && !!document.querySelector('tr[data-function=other]')`)
	p.eventually(ctx, "the address to leave the function", `location.pathname === '/backends/shop/functions'`)
	c.do(http.MethodGet, "", fnPath, nil, nil, http.StatusNotFound, nil)
	c.do(http.MethodPost, "shop-be.localhost", "/fn/hello", bea, map[string]string{"name": "Bea"}, http.StatusNotFound, nil)
}
