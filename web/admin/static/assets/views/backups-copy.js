// Copying a backup into a new backend: a dialog asks the new name (checked as it is typed, as on
// the New backend page), creates it with POST /api/backends {name, fromBackup}, and goes to its
// page, which follows the creation.
import {h, field, errorBox, uid} from '../dom.js';
import * as api from '../api.js';
import {backendNameProblem} from '../names.js';

/** copyDialog asks for the new backend's name and creates it from backup b of tab's backend. */
export function copyDialog(tab, b) {
  const input = h('input', {type: 'text', name: 'copy-name', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: 64});
  const name = field('Name of the new backend', input,
    '3 to 32 lowercase letters, digits or "-", starting with a letter. It starts with this backup\'s data; the backup stays.');
  const box = errorBox();
  const create = h('button', {type: 'submit', class: 'btn primary', value: 'ok'}, 'Create copy');
  const cancel = h('button', {type: 'button', class: 'btn', value: 'cancel'}, 'Cancel');
  const titleId = uid('dlg');
  const form = h('form', {novalidate: true},
    h('h2', {id: titleId}, 'Copy to a new backend'),
    h('p', null, `A new backend is created with the data of ${tab.name}'s backup taken ${new Date(b.createdAt).toLocaleString()}. ${tab.name} itself is not changed.`),
    name.el, box.el,
    h('div', {class: 'actions'}, cancel, create));
  const dlg = h('dialog', {class: 'dialog copy-dialog', 'aria-labelledby': titleId}, form);
  const check = () => {
    const problem = backendNameProblem(input.value);
    name.setError(input.value === '' ? '' : problem);
    return problem;
  };
  input.addEventListener('input', check);
  cancel.addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => dlg.remove());
  tab.onLeave(() => dlg.close());

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    box.clear();
    const problem = check();
    if (problem) {
      name.setError(problem);
      input.focus();
      return;
    }
    create.disabled = true;
    try {
      const made = await api.post('/api/backends', {name: input.value, fromBackup: {backend: tab.name, id: b.id}}, {signal: tab.signal});
      dlg.close();
      tab.navigate(`/backends/${encodeURIComponent((made && made.name) || input.value)}`);
    } catch (e) {
      if (api.isAbort(e)) return;
      if (e instanceof api.ApiError && (e.code === 'invalid_name' || e.code === 'name_taken')) {
        name.setError(api.describe(e));
        input.focus();
      } else {
        box.show(api.describe(e));
      }
    } finally {
      create.disabled = false;
    }
  });
  document.body.append(dlg);
  dlg.showModal();
  input.focus();
}
