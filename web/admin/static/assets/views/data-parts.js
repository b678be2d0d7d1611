// Small pieces the Data, Users and Files tabs share: paging, debouncing, and telling an
// abandoned request from a failed one.
import {h} from '../dom.js';

/** isAbort says whether an error only means the request was abandoned (the tab was left). */
export function isAbort(e) {
  return !!e && e.name === 'AbortError';
}

/** debounce runs fn once calls have paused for ms milliseconds, so bursts cost one request. */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** plural says "1 document" or "3 documents". */
export function plural(n, word) {
  return `${n} ${n === 1 ? word : `${word}s`}`;
}

/**
 * pager is the "1–20 of 45" line with Previous and Next under a paged table, so every paged
 * list reads and behaves the same. go(skip) loads another page; show(skip, shown, total)
 * updates the line after each load.
 */
export function pager(label, size, go) {
  let at = 0;
  const range = h('p', {class: 'range', 'aria-live': 'polite'});
  const prev = h('button', {type: 'button', class: 'btn small prev'}, 'Previous');
  const next = h('button', {type: 'button', class: 'btn small next'}, 'Next');
  prev.addEventListener('click', () => go(Math.max(0, at - size)));
  next.addEventListener('click', () => go(at + size));
  const el = h('nav', {class: 'pager', 'aria-label': label, hidden: true}, range, h('div', {class: 'pager-buttons'}, prev, next));
  return {
    el,
    show(skip, shown, total) {
      at = skip;
      el.hidden = total === 0;
      range.textContent = `${skip + 1}–${skip + shown} of ${total}`;
      const focused = document.activeElement;
      prev.disabled = skip === 0;
      next.disabled = skip + shown >= total;
      // A button that just became disabled drops the keyboard focus; hand it to the other one.
      if (focused === prev && prev.disabled && !next.disabled) next.focus();
      if (focused === next && next.disabled && !prev.disabled) prev.focus();
    },
  };
}
