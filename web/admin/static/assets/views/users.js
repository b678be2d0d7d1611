// The Users tab: a backend's end users, found by email and removed when they must go.
import {h, replace, field, errorBox, table, when} from '../dom.js';
import * as api from '../api.js';
import {pager, debounce, deleteButton} from './data-parts.js';

const pageSize = 20;

/** usersTab lists the backend's end users, searchable by email, a page at a time. */
export function usersTab(tab) {
  let skip = 0;
  let loading = null;
  const search = h('input', {type: 'search', name: 'email', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false'});
  const searchField = field('Search by email', search, 'Shows the users whose email contains this text.');
  const form = h('form', {role: 'search', class: 'user-search', novalidate: true}, searchField.el);
  const title = h('h2', {id: 'users-title', tabindex: '-1'}, 'Users');
  const status = h('p', {class: 'hint', role: 'status'});
  const box = errorBox();
  const body = h('div', {class: 'users'}, h('p', {class: 'muted'}, 'Loading users…'));
  const pages = pager('Pages of users', pageSize, (at) => {
    skip = at;
    load();
  });
  tab.el.append(h('section', {class: 'card', 'aria-labelledby': title.id}, title, form, status, box.el, body, pages.el));

  async function load() {
    if (loading) loading.abort();
    const mine = loading = new AbortController();
    const q = search.value.trim();
    let res;
    try {
      res = await api.request('GET', api.adminPath(tab.name, `/users?email=${encodeURIComponent(q)}&limit=${pageSize}&skip=${skip}`),
        undefined, {signal: AbortSignal.any([tab.signal, mine.signal])});
    } catch (e) {
      if (api.isAbort(e)) return;
      box.show(api.describe(e));
      return;
    }
    box.clear();
    const users = res.data || [];
    const total = Number(res.headers.get('X-Total-Count')) || 0;
    if (users.length === 0 && skip > 0) {
      skip = pages.lastStart(total);
      load();
      return;
    }
    pages.show(skip, users.length, total);
    if (users.length === 0) {
      replace(body, h('p', {class: 'empty muted'}, q
        ? `No user's email contains "${q}".`
        : 'No users yet. People sign up from your app (POST /auth/register) and show up here.'));
      return;
    }
    replace(body, table('Users of this backend, by email', ['Email', 'ID', 'Created', 'Actions'], users.map(row), {class: 'users-table'}));
  }
  const searchSoon = debounce(() => {
    skip = 0;
    load();
  }, 250);

  function row(u) {
    const remove = deleteButton(tab, {
      className: 'delete-user', label: `Delete ${u.email}`, title: `Delete ${u.email}?`,
      message: `${u.email} can no longer sign in: their sessions end and their open connections close at once. The documents and files they made stay in the backend.`,
      confirmLabel: 'Delete user', path: api.adminPath(tab.name, `/users/${encodeURIComponent(u._id)}`),
      deleted: `Deleted ${u.email}.`, status, box, after: load, focusAfter: title,
    });
    return h('tr', {dataset: {user: u._id}},
      h('th', {scope: 'row', class: 'email'}, u.email),
      h('td', null, h('code', null, u._id)),
      h('td', null, when(u._createdAt)),
      h('td', null, remove));
  }

  search.addEventListener('input', searchSoon);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    skip = 0;
    load();
  });
  load();
}
