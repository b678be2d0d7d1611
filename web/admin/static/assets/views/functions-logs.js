// A function's logs (console.log, ctx.log and its errors), followed while the tab is open: the
// admin port keeps them in order with ids, so the page asks every second for those after the
// last one it has.
import {h, replace} from '../dom.js';
import * as api from '../api.js';

const pollMs = 1000;
const first = 200; // lines fetched when the section opens
const keep = 2000; // lines the page holds; older ones scroll away

/** sleep waits ms, or less when signal aborts. */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, {once: true});
  });
}

/** clock shows a log time as HH:MM:SS.mmm in the browser's zone, the full time as a tooltip. */
function clock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', {class: 'muted'}, '—');
  const two = (n) => String(n).padStart(2, '0');
  const text = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
  return h('time', {datetime: iso, title: iso}, text);
}

/**
 * functionLogs draws the Logs section of one function and follows it until signal aborts.
 * Returns {el}.
 */
export function functionLogs({backend, name, signal}) {
  const path = (q) => api.adminPath(backend, `/functions/${encodeURIComponent(name)}/logs?${q}`);
  const out = h('div', {class: 'logs fn-logs', tabindex: 0, role: 'log', 'aria-label': `Logs of ${name}`});
  const status = h('p', {class: 'hint fn-log-status', role: 'status'}, 'Loading…');
  const clear = h('button', {type: 'button', class: 'btn small'}, 'Clear');
  const title = h('h2', {id: 'fn-logs-title'}, 'Logs');

  let last = null; // the id of the newest entry shown
  const add = (entries) => {
    if (entries.length === 0) return;
    const atBottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 8;
    const frag = document.createDocumentFragment();
    for (const e of entries.slice(-keep)) {
      frag.append(h('div', {class: e.level === 'error' ? 'log-line log-error' : 'log-line', dataset: {id: e.id, level: e.level}},
        clock(e.time), ' ', h('span', {class: 'log-level'}, e.level === 'error' ? 'ERROR' : 'info '), ' ',
        h('span', {class: 'log-message'}, e.message),
        e.version !== undefined ? h('span', {class: 'log-version'}, ` v${e.version}`) : null));
    }
    out.append(frag);
    while (out.childElementCount > keep) out.firstElementChild.remove();
    last = entries[entries.length - 1].id;
    if (atBottom) out.scrollTop = out.scrollHeight;
  };
  clear.addEventListener('click', () => replace(out));

  (async () => {
    while (!signal.aborted) {
      // A hidden page does not need the lines now; it catches up when shown again.
      if (!document.hidden) {
        try {
          const q = last === null ? new URLSearchParams({tail: String(first)}) : new URLSearchParams({after: String(last)});
          const {items} = await api.get(path(q), {signal});
          add(items || []);
          status.classList.remove('field-error');
          status.textContent = 'Following: new lines appear within a second.';
        } catch (e) {
          if (api.isAbort(e) || signal.aborted) return;
          status.classList.add('field-error');
          status.textContent = e instanceof api.ApiError && e.code === 'function_not_found'
            ? 'This function is not deployed, so it has no logs.'
            : `The logs could not be read: ${api.describe(e)} Trying again…`;
        }
      }
      await sleep(pollMs, signal);
    }
  })();

  return {
    el: h('section', {class: 'card fn-logs-card', 'aria-labelledby': title.id},
      h('div', {class: 'title-row'}, title, clear), out, status,
      h('p', {class: 'hint'}, `console.log and ctx.log lines, and the errors the function threw (with their stack). The page keeps the last ${keep.toLocaleString()} lines.`)),
  };
}
