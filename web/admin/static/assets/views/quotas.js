// The Quotas tab: how much the backend's end users may create (collections, bytes of files in
// all and per user), next to what they use now. 0 means unlimited; the admin is not held to them.
import {h, field, errorBox, bytes} from '../dom.js';
import * as api from '../api.js';

const MiB = 1024 * 1024;

// Each quota: its key in the settings, how it is typed (a count, or MiB for bytes) and told.
const quotas = [
  {key: 'collections', label: 'Collections', unit: 1,
    hint: 'How many collections end users may create (POST /collections). 0: unlimited.'},
  {key: 'fileBytes', label: 'Files in all (MiB)', unit: MiB,
    hint: 'The total size of all users\' files together. 0: unlimited.'},
  {key: 'userFileBytes', label: 'Files per user (MiB)', unit: MiB,
    hint: 'The total size of one user\'s files. 0: unlimited.'},
];

/** shown writes a quota for its input: a count as is, bytes in MiB with at most 3 decimals. */
function shown(q, value) {
  return q.unit === 1 ? String(value) : String(Math.round((value / q.unit) * 1000) / 1000);
}

/** parse reads an input: {value} in the quota's own unit (a count, or bytes), or {problem}. */
function parse(q, text) {
  const t = text.trim();
  if (t === '') return {problem: 'Enter a number; 0 means unlimited.'};
  if (!/^\d+(\.\d+)?$/.test(t)) return {problem: 'Enter 0 or a positive number, in digits.'};
  if (q.unit === 1 && t.includes('.')) return {problem: 'Enter a whole number of collections.'};
  const value = Math.round(Number(t) * q.unit);
  if (!Number.isSafeInteger(value)) return {problem: 'That is too large.'};
  if (q.unit !== 1 && Number(t) > 0 && value === 0) return {problem: 'That is less than a byte; enter 0 for unlimited.'};
  return {value};
}

/** inUse says how much of a quota is used. */
function inUse(q, limit, used) {
  const amount = q.unit === 1 ? `${used} ${used === 1 ? 'collection' : 'collections'}` : bytes(used);
  if (limit === 0) return `In use: ${amount}; no limit.`;
  return `In use: ${amount} of ${q.unit === 1 ? limit : bytes(limit)} (${Math.min(100, Math.round((used / limit) * 100))}%).`;
}

/** quotasTab shows and changes the backend's quotas. */
export function quotasTab(tab) {
  const title = h('h2', {id: 'quotas-title', tabindex: '-1'}, 'Quotas');
  const box = errorBox();
  const status = h('p', {class: 'hint quotas-status', role: 'status'});
  const fields = quotas.map((q) => {
    const input = h('input', {type: 'text', name: q.key, inputmode: q.unit === 1 ? 'numeric' : 'decimal',
      autocomplete: 'off', spellcheck: 'false', disabled: true});
    const f = field(q.label, input, q.hint);
    const usage = h('p', {class: 'hint quota-usage', id: `${input.id}-usage`, dataset: {quota: q.key}, hidden: true});
    f.hint.after(usage);
    input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby')} ${usage.id}`);
    input.addEventListener('input', () => {
      f.setError('');
      status.textContent = '';
    });
    return {q, f, input, usage};
  });
  const save = h('button', {type: 'submit', class: 'btn primary', disabled: true}, 'Save quotas');
  const form = h('form', {class: 'quotas-form', novalidate: true}, box.el, fields.map((x) => x.f.el),
    h('div', {class: 'actions left'}, save), status);
  tab.el.append(h('section', {class: 'card narrow', 'aria-labelledby': title.id}, title,
    h('p', {class: 'muted'}, 'What the end users of this backend may create. A request over a quota gets 403 quota_exceeded and creates nothing; lowering a quota deletes nothing. You are not held to them here.'),
    form));

  const show = (settings) => {
    for (const {q, input, usage} of fields) {
      input.value = shown(q, settings.quotas[q.key]);
      input.disabled = false;
      // Usage is one figure per backend; a per-user quota has one per user, so none is shown.
      const measured = settings.usage && q.key in settings.usage;
      usage.textContent = measured ? inUse(q, settings.quotas[q.key], settings.usage[q.key]) : '';
      usage.hidden = !measured;
    }
    save.disabled = false;
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    box.clear();
    status.textContent = '';
    const body = {};
    let first = null;
    for (const {q, f, input} of fields) {
      const r = parse(q, input.value);
      f.setError(r.problem || '');
      if (r.problem) first = first || input;
      else body[q.key] = r.value;
    }
    if (first) {
      first.focus();
      return;
    }
    save.disabled = true;
    try {
      const settings = await api.patch(api.adminPath(tab.name, '/settings'), {quotas: body}, {signal: tab.signal});
      show(settings);
      status.textContent = 'Saved. Every replica applies the new quotas within seconds.';
    } catch (e) {
      if (api.isAbort(e)) return;
      const bad = e instanceof api.ApiError && e.code === 'invalid_quota' && fields.find((x) => x.q.key === e.details.quota);
      if (bad) {
        bad.f.setError(e.message);
        bad.input.focus();
      } else {
        box.show(api.describe(e));
      }
    } finally {
      save.disabled = false;
    }
  });

  (async () => {
    try {
      show(await api.get(api.adminPath(tab.name, '/settings'), {signal: tab.signal}));
    } catch (e) {
      if (!api.isAbort(e)) box.show(api.describe(e));
    }
  })();
}
