// The backends page: every backend the developer may see, live.
import {h, replace, badge, when, table} from '../dom.js';
import {followBackends} from '../live.js';

function row(b, showOwner) {
  return h('tr', {dataset: {backend: b.name}},
    h('th', {scope: 'row'}, h('a', {href: `/backends/${encodeURIComponent(b.name)}`}, b.name)),
    h('td', null, badge(b.state), b.lastError ? h('p', {class: 'row-error'}, b.lastError) : null),
    h('td', {class: 'urls'},
      h('a', {href: b.apiUrl, target: '_blank', rel: 'noopener'}, b.apiUrl), h('br'),
      h('a', {href: b.siteUrl, target: '_blank', rel: 'noopener'}, b.siteUrl)),
    showOwner ? h('td', null, b.owner) : null,
    h('td', null, when(b.createdAt)));
}

/** backendsView lists backends with their live state, or explains how to make the first one. */
export function backendsView(ctx) {
  const operator = ctx.me.role === 'admin';
  const status = h('p', {class: 'live', role: 'status'}, 'Connecting…');
  const body = h('div', null, h('p', {class: 'muted'}, 'Loading your backends…'));
  ctx.main.append(
    h('div', {class: 'title-row'}, h('h1', null, 'Backends'), h('a', {href: '/new', class: 'btn primary'}, 'New backend')),
    status, body);
  const backends = new Map();
  const draw = () => {
    const list = [...backends.values()].sort((a, b) => a.name.localeCompare(b.name));
    if (list.length === 0) {
      replace(body, h('div', {class: 'empty card'},
        h('h2', null, 'No backends yet'),
        h('p', null, 'A backend is a database, user accounts, file storage and realtime channels for one app, with an API and a place to host its site. Name it and Backpack starts it in a few seconds.'),
        h('a', {href: '/new', class: 'btn primary'}, 'Create your first backend')));
      return;
    }
    replace(body, table('Your backends', ['Name', 'State', 'Addresses', operator ? 'Owner' : null, 'Created'].filter(Boolean),
      list.map((b) => row(b, operator)), {class: 'backends'}));
  };
  followBackends(ctx, {
    list(all) {
      backends.clear();
      for (const b of all) backends.set(b.name, b);
      draw();
    },
    changed(b) { backends.set(b.name, b); draw(); },
    removed(name) { backends.delete(name); draw(); },
    status(online) {
      status.textContent = online ? 'Live: states update as they change.' : 'Reconnecting to the server…';
      status.classList.toggle('offline', !online);
    },
  });
}
