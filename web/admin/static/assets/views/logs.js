// A backend's logs: one service's lines, streamed into the page as they come.
import {h, replace, field, errorBox} from '../dom.js';
import * as api from '../api.js';

// keep is how many lines the page holds; older ones scroll away so a busy log cannot
// slow the page down.
const keep = 5000;

/**
 * logsTab streams the chosen service's log lines, following new ones while asked. Every change
 * of a control starts a new stream; leaving the tab stops it.
 */
export function logsTab(tab) {
  const names = (tab.backend().services || []).map((s) => s.name);
  const service = h('select', {name: 'service'}, (names.length ? names : ['api', 'web']).map((n) => h('option', {value: n}, n)));
  const tail = h('select', {name: 'tail'},
    [['100', 'Last 100'], ['200', 'Last 200'], ['1000', 'Last 1000'], ['all', 'All kept']].map(([v, t]) => h('option', {value: v}, t)));
  tail.value = '200';
  const follow = h('input', {type: 'checkbox', name: 'follow', checked: true});
  // Long lines scroll sideways on a wide screen; on a phone, wrapping them reads better.
  const wrap = h('input', {type: 'checkbox', name: 'wrap', checked: matchMedia('(max-width: 480px)').matches});
  const reload = h('button', {type: 'button', class: 'btn small'}, 'Reload');
  const clear = h('button', {type: 'button', class: 'btn small'}, 'Clear');
  const out = h('pre', {class: wrap.checked ? 'logs wrap' : 'logs', tabindex: 0, 'aria-label': 'Log lines'});
  const status = h('p', {class: 'log-status hint', role: 'status'});
  const box = errorBox();

  let count = 0;
  const add = (lines) => {
    if (lines.length === 0) return;
    // Stay at the bottom only if the reader is there, so scrolling back to read is not undone.
    const atBottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 8;
    const frag = document.createDocumentFragment();
    for (const line of lines.slice(-keep)) frag.append(`${line}\n`);
    out.append(frag);
    count += Math.min(lines.length, keep);
    for (; count > keep; count -= 1) out.firstChild.remove();
    if (atBottom) out.scrollTop = out.scrollHeight;
  };

  let stream = null;
  let notReady = false;
  const start = async () => {
    if (stream) stream.abort();
    const mine = new AbortController();
    stream = mine;
    replace(out);
    count = 0;
    box.clear();
    notReady = false;
    const following = follow.checked;
    status.textContent = 'Loading…';
    const q = new URLSearchParams({service: service.value, tail: tail.value, follow: String(following)});
    const path = api.backendPath(tab.name, `/logs?${q}`);
    try {
      const res = await fetch(path, {headers: {Accept: 'text/plain'}, credentials: 'same-origin', signal: mine.signal});
      if (!res.ok) await api.parse(res);
      if (following) status.textContent = 'Following: new lines appear as they come.';
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let rest = '';
      for (;;) {
        const {done, value} = await reader.read();
        if (mine.signal.aborted) return;
        if (done) break;
        rest += decoder.decode(value, {stream: true});
        const lines = rest.split('\n');
        rest = lines.pop();
        add(lines);
      }
      rest += decoder.decode();
      if (rest) add([rest]);
      if (following) status.textContent = 'The server ended the stream. Press Reload to follow again.';
      else status.textContent = count === 0 ? 'End of log. There are no lines yet.' : 'End of log.';
    } catch (e) {
      if (api.isAbort(e) || mine.signal.aborted) return;
      status.textContent = '';
      notReady = e instanceof api.ApiError && e.code === 'backend_not_ready';
      if (notReady && !e.details.state) {
        // The logs' refusal does not say the state; the page knows it.
        e.details = {...e.details, state: tab.backend().state};
      }
      box.show(e instanceof api.ApiError ? api.describe(e)
        : 'The log stream was cut off: the Backpack server could not be reached. Press Reload to try again.');
    }
  };

  for (const control of [service, tail, follow]) control.addEventListener('change', start);
  wrap.addEventListener('change', () => out.classList.toggle('wrap', wrap.checked));
  reload.addEventListener('click', start);
  clear.addEventListener('click', () => {
    replace(out);
    count = 0;
  });
  tab.onLeave(() => stream && stream.abort());
  // Logs refused while the backend was not running become readable once it runs.
  tab.onChange((b) => {
    if (notReady && api.reachable(b)) start();
  });

  tab.el.append(h('section', {class: 'card'},
    h('div', {class: 'log-controls'},
      field('Service', service).el,
      field('Lines', tail).el,
      h('label', {class: 'choice'}, follow, 'Follow new lines'),
      h('label', {class: 'choice'}, wrap, 'Wrap long lines'),
      h('div', {class: 'log-buttons'}, reload, clear)),
    box.el,
    out,
    status,
    h('p', {class: 'hint'}, `The page keeps the last ${keep.toLocaleString()} lines.`)));
  start();
}
