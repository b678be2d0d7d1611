// The overview's Scale card: how many API replicas the backend runs, saved with PATCH
// /api/backends/NAME {"replicas": {"api": N}}. Every replica runs on the backend's node and
// shares its sessions, websockets' channels and broadcasts through the backend's Redis; the
// control plane says how many it allows.
import {h, field, errorBox} from '../dom.js';
import * as api from '../api.js';

/** parseReplicas reads the field: {value}, a whole number of at least 1, or {problem}. */
function parseReplicas(text) {
  const t = text.trim();
  if (t === '') return {problem: 'Enter how many API replicas to run.'};
  if (!/^\d+$/.test(t)) return {problem: 'Enter a whole number, in digits.'};
  const n = Number(t);
  if (n < 1) return {problem: 'Run at least 1.'};
  return {value: n};
}

/** scaleSection is the replicas form, filled from the backend as last seen. */
export function scaleSection(tab) {
  const input = h('input', {type: 'text', name: 'api-replicas', inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false'});
  const replicas = field('API replicas', input, 'More replicas serve more requests at once; each new one gets traffic once it is ready.');
  const box = errorBox();
  const save = h('button', {type: 'submit', class: 'btn primary'}, 'Save');
  const status = h('p', {class: 'hint scale-status', role: 'status'});
  const form = h('form', {class: 'scale', novalidate: true}, box.el,
    h('div', {class: 'inline'}, replicas.el, h('div', {class: 'actions left'}, save)), status);
  let editing = false;
  const fill = (b) => {
    if (!editing) input.value = String((b.replicas && b.replicas.api) || 1);
  };
  fill(tab.backend());
  input.addEventListener('input', () => {
    editing = true;
    status.textContent = '';
    replicas.setError('');
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    box.clear();
    status.textContent = '';
    const n = parseReplicas(input.value);
    replicas.setError(n.problem || '');
    if (n.problem) {
      input.focus();
      return;
    }
    save.disabled = true;
    try {
      const b = await api.patch(api.backendPath(tab.name), {replicas: {api: n.value}}, {signal: tab.signal});
      editing = false;
      if (b) {
        Object.assign(tab.backend(), {replicas: b.replicas});
        fill(b);
      }
      status.textContent = `Saved: ${n.value} API ${n.value === 1 ? 'replica' : 'replicas'}. The services below follow as they start or stop.`;
    } catch (e) {
      if (api.isAbort(e)) return;
      const on = e instanceof api.ApiError && e.details && e.details.field;
      if (on === 'replicas.api') replicas.setError(api.describe(e));
      else box.show(api.describe(e));
    } finally {
      save.disabled = false;
    }
  });
  const title = h('h2', {id: 'scale-title'}, 'Scale');
  return {el: h('section', {class: 'card', 'aria-labelledby': title.id}, title, form), fill};
}
