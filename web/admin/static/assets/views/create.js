// Creating a backend: the name is checked as it is typed, then the backend's page follows the
// deployment.
import {h, field, errorBox} from '../dom.js';
import * as api from '../api.js';
import {backendNameProblem} from '../names.js';

/** createView is the form for a new backend. */
export function createView(ctx) {
  const input = h('input', {
    type: 'text', name: 'name', required: true, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false',
    maxlength: 64, placeholder: 'shop',
  });
  const name = field('Name', input, '3 to 32 lowercase letters, digits or "-", starting with a letter. It becomes part of the addresses below.');
  const preview = h('p', {class: 'preview muted', 'aria-live': 'polite'});
  const box = errorBox();
  const submit = h('button', {type: 'submit', class: 'btn primary', disabled: true}, 'Create backend');
  const host = location.host.replace(/^admin\./, '');
  const check = () => {
    const v = input.value;
    const problem = backendNameProblem(v);
    name.setError(v === '' ? '' : problem);
    submit.disabled = problem !== '';
    preview.textContent = problem === '' ? `API: ${location.protocol}//${v}-be.${host} · site: ${location.protocol}//${v}.${host}` : '';
  };
  input.addEventListener('input', check);
  const form = h('form', {class: 'card narrow', novalidate: true}, box.el, name.el, preview, h('div', {class: 'actions'}, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    box.clear();
    check();
    if (submit.disabled) { input.focus(); return; }
    submit.disabled = true;
    try {
      const b = await api.post('/api/backends', {name: input.value});
      ctx.navigate(`/backends/${encodeURIComponent(b.name)}`);
    } catch (e) {
      if (e instanceof api.ApiError && (e.code === 'invalid_name' || e.code === 'name_taken')) {
        name.setError(api.describe(e));
        input.focus();
      } else {
        box.show(api.describe(e));
      }
      submit.disabled = false;
    }
  });
  ctx.main.append(h('h1', null, 'New backend'),
    h('p', {class: 'narrow muted'}, 'Backpack starts an API with its own database, cache and web server for your app. You can follow every step.'),
    form);
  input.focus();
}
