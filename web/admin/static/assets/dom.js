// Small DOM helpers. Everything the panel shows is built with them, and text always goes in
// as text (never as HTML), so values from backends and users cannot become markup.

/**
 * h builds an element: h('a', {href: '/x', class: 'btn'}, 'text', child).
 * Props starting with "on" are listeners; `dataset`, `aria` and boolean props are handled;
 * children may be strings, numbers, nodes, arrays, or null/false (skipped).
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'class') el.className = v;
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected' || k === 'required') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** add appends children to el as h() does: text as text, null and false skipped. */
export function add(el, ...children) {
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** replace empties el and puts children in it. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
/** uid gives a unique id for label/description links. */
export function uid(prefix = 'f') {
  ids += 1;
  return `${prefix}-${ids}`;
}

/**
 * field wraps a control with its label, an optional hint and an error slot, linked by
 * aria-describedby so screen readers announce both. Returns {el, input, setError}.
 */
export function field(label, input, hint) {
  const id = input.id || uid('in');
  input.id = id;
  const hintEl = hint ? h('p', {class: 'hint', id: `${id}-hint`}, hint) : null;
  const errEl = h('p', {class: 'field-error', id: `${id}-error`, role: 'alert', hidden: true});
  input.setAttribute('aria-describedby', [hintEl && hintEl.id, errEl.id].filter(Boolean).join(' '));
  const el = h('div', {class: 'field'}, h('label', {for: id}, label), input, hintEl, errEl);
  function setError(msg) {
    errEl.textContent = msg || '';
    errEl.hidden = !msg;
    if (msg) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  return {el, input, hint: hintEl, setError};
}

/** plainClick is a click meant for this page: the main button, no key asking for a new tab or window. */
export function plainClick(ev) {
  return ev.button === 0 && !ev.metaKey && !ev.ctrlKey && !ev.shiftKey && !ev.altKey;
}

/** choice is one radio button of a group, with its label and a sentence under it. */
export function choice(name, value, label, hint, checked = false) {
  const input = h('input', {type: 'radio', name, value, checked});
  const hintEl = h('span', {class: 'choice-hint', id: uid('hint')}, hint);
  input.setAttribute('aria-describedby', hintEl.id);
  return {input, el: h('label', {class: 'choice'}, input, h('span', null, h('span', {class: 'choice-title'}, label), hintEl))};
}

/** errorBox is a slot for a form's or a section's error, announced when filled. */
export function errorBox() {
  const el = h('div', {class: 'error', role: 'alert', hidden: true});
  return {
    el,
    show(msg) { el.textContent = msg; el.hidden = !msg; },
    clear() { el.textContent = ''; el.hidden = true; },
  };
}

/** when shows a time as the browser's locale does, with the exact value as a tooltip. */
export function when(iso) {
  if (!iso) return h('span', {class: 'muted'}, '—');
  const d = new Date(iso);
  return h('time', {datetime: iso, title: iso}, d.toLocaleString());
}

/** bytes shows a size in B, KB, MB or GB. */
export function bytes(n) {
  if (typeof n !== 'number') return '—';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** badge shows a backend's state. */
export function badge(state) {
  return h('span', {class: `badge state-${state}`, dataset: {state}}, state);
}

/** copyButton copies the text `get()` returns and says so. */
export function copyButton(label, get) {
  const btn = h('button', {type: 'button', class: 'btn small'}, label);
  btn.addEventListener('click', async () => {
    const text = get();
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Without clipboard access (http pages other than localhost), select the text instead.
      const ta = h('textarea', {class: 'offscreen', 'aria-hidden': 'true'});
      ta.value = text;
      document.body.append(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    btn.textContent = 'Copied';
    setTimeout(() => { btn.textContent = label; }, 1500);
  });
  return btn;
}

/**
 * confirmDialog asks a question in a modal <dialog> (Escape cancels) and resolves true when
 * confirmed.
 */
export function confirmDialog(title, message, confirmLabel = 'Confirm', danger = true) {
  return new Promise((resolve) => {
    const ok = h('button', {type: 'submit', class: danger ? 'btn danger' : 'btn primary', value: 'ok'}, confirmLabel);
    const cancel = h('button', {type: 'submit', class: 'btn', value: 'cancel', formnovalidate: true}, 'Cancel');
    const titleId = uid('dlg');
    const dlg = h('dialog', {class: 'dialog', 'aria-labelledby': titleId},
      h('form', {method: 'dialog'},
        h('h2', {id: titleId}, title),
        h('p', null, message),
        h('div', {class: 'actions'}, cancel, ok)));
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok');
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

/** table builds a scrollable table from headers and rows of cells. */
export function table(caption, headers, rows, attrs = {}) {
  return h('div', {class: 'table-wrap'},
    h('table', attrs,
      caption ? h('caption', {class: 'sr-only'}, caption) : null,
      h('thead', null, h('tr', null, headers.map((x) => h('th', {scope: 'col'}, x)))),
      h('tbody', null, rows)));
}
