// Small pieces the Data, Users and Files tabs share: paging, debouncing and deleting a row.
import {h, confirmDialog} from '../dom.js';
import * as api from '../api.js';

/** debounce runs fn once calls have paused for ms milliseconds, so bursts cost one request. */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/**
 * coalesce runs fn ms after the first of a burst of calls, once for the whole burst: a busy
 * change stream costs one reload per interval and, unlike a debounce, never starves it.
 */
export function coalesce(fn, ms) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
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
    /** lastStart is where the last page of total items starts (after deletes emptied this one). */
    lastStart(total) {
      return Math.max(0, Math.floor((total - 1) / size) * size);
    },
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

/**
 * deleteButton is a row's Delete button for the Users and Files tabs: it asks first (title,
 * message), deletes path, says deleted in status and calls after(), or shows the refusal in box.
 * Focus goes to focusAfter, since the row and its button are gone.
 */
export function deleteButton(tab, {className, label, title, message, confirmLabel, path, deleted, status, box, after, focusAfter}) {
  const button = h('button', {type: 'button', class: `btn small danger ${className}`, 'aria-label': label}, 'Delete');
  button.addEventListener('click', async () => {
    if (!await confirmDialog(title, message, confirmLabel)) return;
    button.disabled = true;
    box.clear();
    try {
      await api.del(path, {signal: tab.signal});
      status.textContent = deleted;
      await after();
      focusAfter.focus();
    } catch (e) {
      if (api.isAbort(e)) return;
      box.show(api.describe(e));
      button.disabled = false;
    }
  });
  return button;
}
