// The Functions tab: a backend's server-side JavaScript. The list of functions, a form that
// creates one from a starter, and the chosen one (tab.sub) to edit, deploy, invoke and watch.
import {h, replace, field, errorBox, table, when, confirmDialog, plainClick} from '../dom.js';
import * as api from '../api.js';
import {collectionNameProblem} from '../names.js';
import {functionDetail} from './functions-detail.js';

/** starter is a new function's code: an onRequest that shows what it receives and can use. */
const starter = `// Answers every request to /fn/NAME and /fn/NAME/… (the backend's API key is needed).
// req: {method, path, query, headers, body}
// ctx: user (or null), db and admin.db, env, log, fetch, HttpError
function onRequest(req, ctx) {
  console.log('called:', req.method, req.path);
  return {
    status: 200,
    body: { hello: ctx.user ? ctx.user.email : 'anonymous' },
  };
}
`;

/** functionsTab lists the backend's functions and shows the chosen one. */
export function functionsTab(tab) {
  const url = (n) => `${tab.base}/functions${n ? `/${encodeURIComponent(n)}` : ''}`;
  let items = null; // as last listed; null until the first answer
  let current = tab.sub || null;
  let detail = null; // {aborter, part} of the function shown

  const listTitle = h('h2', {id: 'functions-title'}, 'Functions');
  const listBox = errorBox();
  const listSlot = h('div', {class: 'fn-list'}, h('p', {class: 'muted'}, 'Loading…'));
  const listStatus = h('p', {class: 'hint', role: 'status'});
  const detailSlot = h('div', {class: 'fn-detail-slot'});
  tab.el.append(h('section', {class: 'card', 'aria-labelledby': listTitle.id}, listTitle,
    h('p', {class: 'hint'}, 'JavaScript that runs on the backend: onRequest answers /fn/NAME; hooks (beforeCreate, afterUpdate, …) run on writes to the collections you list.'),
    listBox.el, listSlot, listStatus, createForm()), detailSlot);

  // Leaving with changes not deployed (closing the page, reloading) asks first.
  const unload = (ev) => {
    if (detail && detail.part.dirty()) ev.preventDefault();
  };
  window.addEventListener('beforeunload', unload);
  tab.onLeave(() => window.removeEventListener('beforeunload', unload));

  function createForm() {
    const input = h('input', {type: 'text', name: 'function', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: 80, placeholder: 'hello'});
    const nameField = field('New function', input, 'Letters, digits, "_" and "-", starting with a letter. It starts as a small onRequest you can edit.');
    const box = errorBox();
    const submit = h('button', {type: 'submit', class: 'btn primary', disabled: true}, 'Create function');
    const check = () => {
      const problem = collectionNameProblem(input.value);
      nameField.setError(input.value === '' ? '' : problem);
      submit.disabled = problem !== '';
      return problem === '';
    };
    input.addEventListener('input', check);
    const form = h('form', {class: 'create-function', novalidate: true}, box.el,
      h('div', {class: 'inline'}, nameField.el, submit));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      box.clear();
      if (!check()) {
        input.focus();
        return;
      }
      const name = input.value;
      // A PUT would replace a function of that name: the list says whether there is one.
      if (items && items.some((f) => f.name === name)) {
        nameField.setError(`There is already a function named ${name}. Pick it in the list to edit it.`);
        input.focus();
        return;
      }
      submit.disabled = true;
      try {
        await api.put(api.adminPath(tab.name, `/functions/${encodeURIComponent(name)}`), {source: starter}, {signal: tab.signal});
        input.value = '';
        listStatus.textContent = `Created ${name}.`;
        await choose(name);
        loadList();
      } catch (e) {
        if (api.isAbort(e)) return;
        if (e instanceof api.ApiError && e.code === 'invalid_name') {
          nameField.setError(api.describe(e));
          input.focus();
        } else {
          box.show(api.describe(e));
        }
      } finally {
        check();
      }
    });
    return form;
  }

  async function loadList() {
    try {
      const res = await api.get(api.adminPath(tab.name, '/functions'), {signal: tab.signal});
      items = res.items || [];
      listBox.clear();
    } catch (e) {
      if (api.isAbort(e)) return;
      listBox.show(api.describe(e));
      return;
    }
    drawList();
  }

  function drawList() {
    if (items.length === 0) {
      replace(listSlot, h('p', {class: 'muted empty-functions'}, 'No functions yet. Create the first one below.'));
      return;
    }
    const rows = [...items].sort((a, b) => a.name.localeCompare(b.name)).map((f) =>
      h('tr', {dataset: {function: f.name}, class: f.name === current ? 'current' : null},
        h('th', {scope: 'row'}, h('a', {
          href: url(f.name),
          'aria-current': f.name === current ? 'true' : null,
          onclick: (ev) => {
            if (!plainClick(ev)) return;
            ev.preventDefault();
            if (f.name !== current) choose(f.name);
          },
        }, f.name)),
        h('td', {class: 'fn-handlers'}, f.handlers && f.handlers.length ? f.handlers.join(', ') : h('span', {class: 'muted'}, 'none')),
        h('td', {class: 'num'}, String(f.version)),
        h('td', null, when(f.updatedAt))));
    replace(listSlot, table('Functions', ['Name', 'Handlers', 'Version', 'Updated'], rows, {class: 'functions-table'}));
  }

  // choose shows another function (or none) and puts it in the address without redrawing the
  // page; changes not deployed are only dropped when the developer says so.
  async function choose(name, {swap = false} = {}) {
    if (detail && detail.part.dirty() && name !== current) {
      const ok = await confirmDialog(`Leave ${current}?`, 'Your changes to its code or settings are not deployed and will be lost.', 'Discard changes');
      if (!ok) return;
    }
    if (swap) history.replaceState(null, '', url(name));
    else history.pushState(null, '', url(name));
    current = name;
    showDetail();
    if (items) drawList();
  }

  function showDetail() {
    if (detail) detail.aborter.abort();
    detail = null;
    if (!current) {
      replace(detailSlot);
      return;
    }
    if (collectionNameProblem(current)) {
      replace(detailSlot, h('div', {class: 'card notice'}, h('p', null, `"${current}" cannot be a function's name.`),
        h('p', null, h('a', {href: url(null)}, 'See all functions'))));
      return;
    }
    const aborter = new AbortController();
    const part = functionDetail({
      backend: tab.name,
      name: current,
      signal: AbortSignal.any([tab.signal, aborter.signal]),
      listUrl: url(null),
      deployed: () => loadList(),
      deleted: (gone) => {
        listStatus.textContent = `Deleted ${gone}.`;
        choose(null, {swap: true});
        loadList();
      },
    });
    detail = {aborter, part};
    replace(detailSlot, part.el);
  }

  showDetail();
  loadList();
}
