// Deleting a backend, keeping its data or purging it. Typing the backend's name is the
// confirmation, so a delete is never one stray click away.
import {h, replace, field, errorBox, choice} from '../dom.js';
import * as api from '../api.js';

/**
 * deleteForm is the form for one backend: with purge only set, the backend is already deleted
 * (or being deleted) with its data kept, and purging that data is all that is left to do.
 * sent() is called once the server has accepted the delete.
 */
function deleteForm(tab, purgeOnly, sent) {
  const b = tab.backend();
  const name = tab.name;
  const keep = purgeOnly ? null : choice('data', 'keep', 'Keep its data (create the same name again to bring it back)',
    `The database, users, files and site stay on the server, and the name stays yours. Only you can bring ${name} back.`, true);
  const purge = purgeOnly ? null : choice('data', 'purge', 'Delete its data too (purge) — cannot be undone',
    'The database, users, files and site are erased, and the name becomes free for anyone.', false);
  const input = h('input', {type: 'text', name: 'confirm', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false'});
  const typed = field(`Type ${name} to confirm`, input, 'The button below works once the name matches exactly.');
  const submit = h('button', {type: 'submit', class: 'btn danger solid', disabled: true},
    purgeOnly ? 'Purge its data' : 'Delete backend');
  const box = errorBox();
  const done = h('p', {class: 'notice card', role: 'status', hidden: true});
  const purging = () => purgeOnly || purge.input.checked;

  const check = () => { submit.disabled = input.value !== name; };
  input.addEventListener('input', check);
  if (!purgeOnly) {
    for (const c of [keep, purge]) {
      c.input.addEventListener('change', () => { submit.textContent = purging() ? 'Delete backend and its data' : 'Delete backend'; });
    }
  }

  const form = h('form', {class: 'card narrow delete-form', novalidate: true},
    h('h2', null, purgeOnly ? `Purge ${name}'s data` : `Delete ${name}`),
    purgeOnly
      ? h('p', null, b.state === 'deleted'
        ? `${name} is deleted. Its data (database, users, files and site) is kept, so creating a backend named ${name} again brings it back.`
        : `${name} is being deleted, keeping its data (database, users, files and site).`)
      : h('p', null, `Deleting stops ${name}'s API and site: apps and pages using them stop working within seconds.`),
    purgeOnly
      ? h('p', null, 'Purging erases that data for good and frees the name for anyone. This cannot be undone.')
      : h('fieldset', null, h('legend', null, 'Its data'), keep.el, purge.el),
    typed.el, box.el,
    h('div', {class: 'actions left'}, submit));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    box.clear();
    if (input.value !== name) {
      typed.setError(`Type ${name} exactly, to show this is the backend you mean.`);
      input.focus();
      return;
    }
    typed.setError('');
    submit.disabled = true;
    const withPurge = purging();
    const torndown = tab.backend().state === 'deleted';
    try {
      await api.del(api.backendPath(name, withPurge ? '?purge=true' : ''), {signal: tab.signal});
    } catch (e) {
      if (api.isAbort(e)) return;
      box.show(api.describe(e));
      check();
      return;
    }
    sent();
    if (torndown) {
      // Nothing runs any more, so the purge is over in a moment; the page says so when the
      // backend is gone, which the overview could no longer show.
      form.hidden = true;
      done.hidden = false;
      done.textContent = `Purging ${name}'s data…`;
      return;
    }
    tab.navigate(tab.base);
  });
  return [form, done];
}

/** deleteTab draws the delete form that fits the backend's state, and swaps it when that changes. */
export function deleteTab(tab) {
  let drawn = null;
  let sent = false;
  const draw = (b) => {
    // Once a delete is under way, the page shell and the overview tell how it ends.
    if (b.purged || sent) return;
    const mode = b.desired !== 'deleted' ? 'live' : b.state === 'deleted' ? 'deleted' : 'deleting';
    if (mode === drawn) return;
    drawn = mode;
    replace(tab.el, deleteForm(tab, mode !== 'live', () => { sent = true; }));
  };
  draw(tab.backend());
  tab.onChange(draw);
}
