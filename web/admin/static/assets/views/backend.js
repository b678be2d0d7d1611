// A backend's page: its header with the live state, and tabs for what can be done with it.
// Each tab is a function (tab) => void drawing into tab.el; tab.backend() is the backend as
// last seen and tab.onChange(fn) is told when it changes.
import {h, replace, badge} from '../dom.js';
import * as api from '../api.js';
import {followBackends} from '../live.js';
import {backendNameProblem} from '../names.js';
import {overviewTab} from './overview.js';
import {dataTab} from './data.js';
import {usersTab} from './users.js';
import {filesTab} from './files.js';
import {siteTab} from './site.js';
import {quotasTab} from './quotas.js';
import {functionsTab} from './functions.js';
import {backupsTab} from './backups.js';
import {logsTab} from './logs.js';
import {deleteTab} from './delete.js';

// needsAdmin tabs talk to the backend's admin port, which answers only once it runs.
const tabs = [
  {id: '', label: 'Overview', draw: overviewTab},
  {id: 'data', label: 'Data', draw: dataTab, needsAdmin: true},
  {id: 'users', label: 'Users', draw: usersTab, needsAdmin: true},
  {id: 'files', label: 'Files', draw: filesTab, needsAdmin: true},
  {id: 'site', label: 'Site', draw: siteTab, needsAdmin: true},
  {id: 'functions', label: 'Functions', draw: functionsTab, needsAdmin: true},
  {id: 'quotas', label: 'Quotas', draw: quotasTab, needsAdmin: true},
  {id: 'backups', label: 'Backups', draw: backupsTab},
  {id: 'logs', label: 'Logs', draw: logsTab},
  {id: 'delete', label: 'Delete', draw: deleteTab},
];

/** backendView draws /backends/NAME[/TAB[/SUB]]. */
export async function backendView(ctx) {
  const [name, tabId = '', sub] = ctx.params;
  const tab = tabs.find((t) => t.id === tabId);
  ctx.setTitle(name);
  const notFound = () => ctx.main.append(h('h1', null, 'No such backend'),
    h('p', null, `There is no backend named "${name}", or it is not yours. `, h('a', {href: '/'}, 'See your backends.')));
  // A name that breaks the rules names no backend (and is never put in a request path).
  if (backendNameProblem(name)) {
    notFound();
    return;
  }
  let backend;
  try {
    backend = await api.get(api.backendPath(name), {signal: ctx.signal});
  } catch (e) {
    if (e instanceof api.ApiError && e.code === 'backend_not_found') {
      notFound();
      return;
    }
    throw e;
  }
  if (!tab) {
    ctx.main.append(h('h1', null, 'Page not found'), h('p', null, h('a', {href: `/backends/${encodeURIComponent(name)}`}, `Back to ${name}`)));
    return;
  }
  ctx.setTitle(tab.id ? `${tab.label} · ${name}` : name);
  const base = `/backends/${encodeURIComponent(name)}`;
  const state = h('span', {class: 'state'});
  const problem = h('p', {class: 'row-error', role: 'status'});
  const panel = h('section', {class: 'tab-panel', 'aria-label': tab.label});
  ctx.main.append(
    h('div', {class: 'title-row'}, h('h1', null, name), state),
    problem,
    h('nav', {class: 'tabs', 'aria-label': `${name} sections`},
      tabs.map((t) => h('a', {href: t.id ? `${base}/${t.id}` : base, 'aria-current': t === tab ? 'page' : null}, t.label))),
    panel);

  // A tab drawing lives until the view is left or the tab is closed because the backend stopped
  // running: its streams, sockets and requests stop with it (tab.signal, tab.onLeave).
  let listeners = [];
  let drawing = null;
  const stopTab = () => {
    if (!drawing) return;
    drawing.aborter.abort();
    for (const fn of drawing.leaving.splice(0)) fn();
    drawing = null;
    listeners = [];
  };
  ctx.onLeave(stopTab);
  const drawTab = () => {
    if (ctx.signal.aborted) return;
    if (tab.needsAdmin && !api.reachable(backend)) {
      stopTab();
      replace(panel, h('div', {class: 'notice card'},
        h('p', null, `This section works once the backend is running. It is ${backend.state} now`,
          backend.state === 'creating' ? '; it opens here by itself when ready.' : '.'),
        h('p', null, h('a', {href: base}, 'See its progress on the overview.'))));
      return;
    }
    if (drawing) return;
    drawing = {aborter: new AbortController(), leaving: []};
    const {aborter, leaving} = drawing;
    replace(panel);
    tab.draw({
      ...ctx, el: panel, name, sub, base,
      signal: aborter.signal,
      onLeave: (fn) => leaving.push(fn),
      backend: () => backend,
      onChange: (fn) => listeners.push(fn),
    });
  };
  const show = () => {
    replace(state, badge(backend.state));
    problem.textContent = backend.lastError || '';
    problem.hidden = !backend.lastError;
  };
  show();
  drawTab();

  let refreshing = null;
  const changed = async (b) => {
    if (b.name !== name) return;
    if (refreshing) refreshing.abort();
    refreshing = new AbortController();
    let fresh;
    try {
      fresh = await api.get(api.backendPath(name), {signal: AbortSignal.any([ctx.signal, refreshing.signal])});
    } catch (e) {
      if (api.isAbort(e) || ctx.signal.aborted) return;
      fresh = {...backend, ...b};
    }
    // A purge may have been heard while this was on its way: it is the last word.
    if (backend.purged) return;
    backend = fresh;
    show();
    drawTab();
    for (const fn of listeners) fn(backend);
  };
  // The listing comes first (and again after a reconnect): it may already differ from what
  // was loaded above.
  const removed = (gone) => {
    if (gone !== name || backend.purged) return;
    if (refreshing) refreshing.abort();
    backend = {...backend, state: 'deleted', purged: true};
    show();
    for (const fn of listeners) fn(backend);
    stopTab();
    replace(panel, h('div', {class: 'notice card'},
      h('p', null, `${name} was deleted and its data purged.`), h('p', null, h('a', {href: '/'}, 'Back to your backends'))));
  };
  followBackends(ctx, {
    list: (all) => {
      const b = all.find((x) => x.name === name);
      if (!b) removed(name);
      else if (b.state !== backend.state || b.updatedAt !== backend.updatedAt) changed(b);
    },
    changed,
    removed,
  });
}
