// The Functions tab's code editor: a plain textarea (so the browser's undo, selection, search
// and screen readers all work) with a line-number gutter and the few keys that make code
// comfortable to type: a new line keeps the line's indentation, Tab and Shift+Tab indent and
// dedent.
import {h, field, replace} from '../dom.js';

const indentUnit = '  ';

/** lineStart is the index where the line holding index i begins. */
function lineStart(text, i) {
  return text.lastIndexOf('\n', i - 1) + 1;
}

/** lineEnd is the index of the newline ending the line holding index i (or the text's end). */
function lineEnd(text, i) {
  const n = text.indexOf('\n', i);
  return n === -1 ? text.length : n;
}

/**
 * codeEditor makes a labelled code field. Returns {el, textarea, value(), setValue(text),
 * markError(line, column, message), clearError()}. Escape then Tab leaves the field, since Tab
 * itself indents.
 */
export function codeEditor(label, hint) {
  const textarea = h('textarea', {name: 'source', wrap: 'off', spellcheck: 'false', autocapitalize: 'none',
    autocomplete: 'off', autocorrect: 'off', class: 'code-input'});
  const f = field(label, textarea, hint);
  const lines = h('div', {class: 'code-lines'});
  const gutter = h('div', {class: 'code-gutter', 'aria-hidden': 'true'}, lines);
  const frame = h('div', {class: 'code-editor'}, gutter);
  textarea.replaceWith(frame);
  frame.append(textarea);

  let shown = 0; // how many line numbers the gutter holds
  let marked = null; // the gutter's element marking an error line
  const drawGutter = () => {
    const count = textarea.value.split('\n').length;
    if (count === shown) return;
    // The marked line may have moved: the error is for the code as it was deployed.
    clearError();
    if (count > shown) {
      const frag = document.createDocumentFragment();
      for (let n = shown + 1; n <= count; n += 1) frag.append(h('div', {dataset: {line: n}}, String(n)));
      lines.append(frag);
    } else {
      while (lines.childElementCount > count) lines.lastElementChild.remove();
    }
    shown = count;
    gutter.scrollTop = textarea.scrollTop;
  };
  const clearMark = () => {
    if (!marked) return;
    marked.classList.remove('error-line');
    marked.removeAttribute('title');
    marked = null;
  };
  const clearError = () => {
    clearMark();
    f.setError('');
  };

  // replaceRange puts text in place of [start, end) as typing would: through the editing
  // command, so the browser's undo history keeps it, and an input event follows.
  const replaceRange = (start, end, text, selStart, selEnd) => {
    textarea.setSelectionRange(start, end);
    if (!document.execCommand('insertText', false, text)) {
      textarea.setRangeText(text, start, end, 'end');
      textarea.dispatchEvent(new Event('input', {bubbles: true}));
    }
    if (selStart !== undefined) textarea.setSelectionRange(selStart, selEnd);
  };

  // The lines a selection covers: a selection ending at the start of a line leaves that line out.
  const selectedLines = () => {
    const text = textarea.value;
    const {selectionStart: a, selectionEnd: b} = textarea;
    const start = lineStart(text, a);
    const end = lineEnd(text, b > a && text[b - 1] === '\n' ? b - 1 : b);
    return {text, a, b, start, end, block: text.slice(start, end)};
  };

  const newline = () => {
    const text = textarea.value;
    const a = textarea.selectionStart;
    const indent = text.slice(lineStart(text, a), a).match(/^[ \t]*/)[0];
    replaceRange(a, textarea.selectionEnd, `\n${indent}`);
  };

  const indent = () => {
    const {a, b, start, end, block} = selectedLines();
    if (a === b) {
      replaceRange(a, b, indentUnit);
      return;
    }
    const lineCount = block.split('\n').length;
    const next = block.split('\n').map((l) => indentUnit + l).join('\n');
    replaceRange(start, end, next, a + indentUnit.length, b + indentUnit.length * lineCount);
  };

  const dedent = () => {
    const {a, b, start, end, block} = selectedLines();
    const parts = block.split('\n');
    const removed = parts.map((l) => (l.startsWith('\t') ? 1 : l.match(/^ {0,2}/)[0].length));
    if (removed.every((n) => n === 0)) return;
    const next = parts.map((l, i) => l.slice(removed[i])).join('\n');
    const total = removed.reduce((x, y) => x + y, 0);
    replaceRange(start, end, next, Math.max(start, a - removed[0]), Math.max(start, b - total));
  };

  let leaving = false; // Escape was pressed: the next Tab moves the focus on
  textarea.addEventListener('keydown', (ev) => {
    if (ev.isComposing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === 'Escape') {
      leaving = true;
      return;
    }
    const wasLeaving = leaving;
    leaving = false;
    if (ev.key === 'Tab' && !wasLeaving) {
      ev.preventDefault();
      if (ev.shiftKey) dedent();
      else indent();
    }
  });
  // A new line comes as an input of its own, whatever typed it (the Enter key's character may
  // come after its keydown was handled), so that is where the indentation is added.
  textarea.addEventListener('beforeinput', (ev) => {
    if (ev.inputType !== 'insertLineBreak' && ev.inputType !== 'insertParagraph') return;
    ev.preventDefault();
    newline();
  });
  textarea.addEventListener('input', drawGutter);
  textarea.addEventListener('scroll', () => {
    gutter.scrollTop = textarea.scrollTop;
  });

  return {
    el: f.el,
    textarea,
    value: () => textarea.value,
    setValue(text) {
      textarea.value = text;
      clearError();
      replace(lines);
      shown = 0;
      drawGutter();
    },
    /** markError marks a line in the gutter, says why under the field and puts the caret there. */
    markError(line, column, message) {
      clearMark();
      f.setError(message);
      const text = textarea.value;
      const all = text.split('\n');
      const n = Math.min(Math.max(1, line), all.length);
      marked = lines.children[n - 1] || null;
      if (marked) {
        marked.classList.add('error-line');
        marked.title = message;
      }
      let at = 0;
      for (let i = 0; i < n - 1; i += 1) at += all[i].length + 1;
      at += Math.min(Math.max(0, (column || 1) - 1), all[n - 1].length);
      textarea.focus({preventScroll: true});
      textarea.setSelectionRange(at, at);
      const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
      textarea.scrollTop = Math.max(0, (n - 1) * lineHeight - textarea.clientHeight / 3);
      gutter.scrollTop = textarea.scrollTop;
      textarea.scrollIntoView({block: 'nearest'});
    },
    clearError,
  };
}
