// The Backups tab's schedule: how often the control plane backs the backend up by itself and
// how many of those backups it keeps, saved with PATCH /api/backends/NAME {"backups": {…}}.
import {h, field, errorBox} from '../dom.js';
import * as api from '../api.js';

const schedules = [
  {value: 'off', label: 'Off'},
  {value: 'hourly', label: 'Every hour'},
  {value: 'daily', label: 'Every day'},
];

// The most scheduled backups the control plane keeps of one backend.
const maxKeep = 1000;

/** parseKeep reads the Keep field: {value}, a whole number from 1 to maxKeep, or {problem}. */
function parseKeep(text) {
  const t = text.trim();
  if (t === '') return {problem: 'Enter how many scheduled backups to keep.'};
  if (!/^\d+$/.test(t)) return {problem: 'Enter a whole number, in digits.'};
  const n = Number(t);
  if (n < 1) return {problem: 'Keep at least 1.'};
  if (n > maxKeep) return {problem: `Keep at most ${maxKeep}.`};
  return {value: n};
}

/** scheduleSection is the schedule form, filled from the backend as last seen. */
export function scheduleSection(tab) {
  const select = h('select', {name: 'schedule'}, schedules.map((s) => h('option', {value: s.value}, s.label)));
  const schedule = field('Back up', select, 'The control plane takes them by itself.');
  const keepInput = h('input', {type: 'text', name: 'keep', inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false'});
  const keep = field('Keep', keepInput, 'How many scheduled backups to keep; older ones are deleted. Those taken with "Back up now" stay until you delete them.');
  const box = errorBox();
  const save = h('button', {type: 'submit', class: 'btn primary'}, 'Save schedule');
  const status = h('p', {class: 'hint schedule-status', role: 'status'});
  const form = h('form', {class: 'backup-schedule', novalidate: true}, box.el,
    h('div', {class: 'inline'}, schedule.el, keep.el), h('div', {class: 'actions left'}, save), status);

  const fill = (b) => {
    const s = b.backups || {};
    select.value = schedules.some((x) => x.value === s.schedule) ? s.schedule : 'off';
    keepInput.value = typeof s.keep === 'number' ? String(s.keep) : '';
  };
  fill(tab.backend());
  for (const el of [select, keepInput]) {
    el.addEventListener('input', () => {
      status.textContent = '';
      keep.setError('');
      schedule.setError('');
    });
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    box.clear();
    status.textContent = '';
    const k = parseKeep(keepInput.value);
    keep.setError(k.problem || '');
    if (k.problem) {
      keepInput.focus();
      return;
    }
    save.disabled = true;
    try {
      const b = await api.patch(api.backendPath(tab.name), {backups: {schedule: select.value, keep: k.value}}, {signal: tab.signal});
      if (b && b.backups) fill(b);
      const chosen = schedules.find((s) => s.value === select.value);
      status.textContent = select.value === 'off'
        ? 'Saved: no scheduled backups.'
        : `Saved: ${chosen.label.toLowerCase()}, keeping the newest ${keepInput.value}.`;
    } catch (e) {
      if (api.isAbort(e)) return;
      const on = e instanceof api.ApiError && e.details && e.details.field;
      if (on === 'keep' || on === 'backups.keep') keep.setError(api.describe(e));
      else if (on === 'schedule' || on === 'backups.schedule') schedule.setError(api.describe(e));
      else box.show(api.describe(e));
    } finally {
      save.disabled = false;
    }
  });

  const title = h('h2', {id: 'backup-schedule-title'}, 'Schedule');
  return h('section', {class: 'card narrow', 'aria-labelledby': title.id}, title, form);
}
