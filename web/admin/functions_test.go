package admin_test

import (
	"context"
	"fmt"
	"testing"

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
