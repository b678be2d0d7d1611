// The backends page: every backend the developer may see, live, and how far a new release of
// the API has reached across them.
import {h, replace, badge, when, table} from '../dom.js';
import {followBackends} from '../live.js';

function row(b, showOwner) {
  const replicas = b.replicas && b.replicas.api > 1 ? h('span', {class: 'tag replicas'}, `API ×${b.replicas.api}`) : null;
  const upgrading = b.upgrading ? h('span', {class: 'tag upgrading', title: `Runs ${b.apiImage || 'an older release'}`}, 'updating') : null;
  return h('tr', {dataset: {backend: b.name}},
    h('th', {scope: 'row'}, h('a', {href: `/backends/${encodeURIComponent(b.name)}`}, b.name)),
    h('td', null, badge(b.state), replicas, upgrading, b.lastError ? h('p', {class: 'row-error'}, b.lastError) : null),
    h('td', {class: 'urls'},
      h('a', {href: b.apiUrl, target: '_blank', rel: 'noopener'}, b.apiUrl), h('br'),
      h('a', {href: b.siteUrl, target: '_blank', rel: 'noopener'}, b.siteUrl)),
    showOwner ? h('td', null, b.owner) : null,
    h('td', null, when(b.createdAt)));
}

/**
 * release says how far the present release has reached: "" while every running backend runs
 * it, else how many of them do.
 */
function release(list, image) {
  const live = list.filter((b) => b.state === 'running' || b.state === 'degraded' || b.upgrading);
  const behind = live.filter((b) => b.upgrading).length;
  if (!image || behind === 0) return '';
  return `Updating to ${image}: ${live.length - behind} of ${live.length} backends run it. Each API rolls one replica at a time and keeps serving.`;
}

/** backendsView lists backends with their live state, or explains how to make the first one. */
export function backendsView(ctx) {
  const operator = ctx.me.role === 'admin';
  const status = h('p', {class: 'live', role: 'status'}, 'Connecting…');
  const fleet = h('p', {class: 'fleet', role: 'status', hidden: true});
  const body = h('div', null, h('p', {class: 'muted'}, 'Loading your backends…'));
  ctx.main.append(
    h('div', {class: 'title-row'}, h('h1', null, 'Backends'), h('a', {href: '/new', class: 'btn primary'}, 'New backend')),
    status, fleet, body);
  const backends = new Map();
  let image = '';
  const draw = () => {
    const list = [...backends.values()].sort((a, b) => a.name.localeCompare(b.name));
    fleet.textContent = release(list, image);
    fleet.hidden = fleet.textContent === '';
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
    list(all, apiImage) {
      image = apiImage;
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
