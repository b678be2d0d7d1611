// The admin panel's entry point: who is signed in, which view the address names, and the
// page's frame. Views are functions (ctx) => void that draw into ctx.main and register what to
// stop (streams, sockets) with ctx.onLeave; moving to another view stops them.
import {h, replace, plainClick} from './dom.js';
import * as api from './api.js';
import {signinView, signupView} from './views/auth.js';
import {backendsView} from './views/backends.js';
import {createView} from './views/create.js';
import {backendView} from './views/backend.js';
import {settingsView} from './views/settings.js';

const routes = [
  {path: /^\/$/, view: backendsView, title: 'Backends'},
  {path: /^\/signin$/, view: signinView, title: 'Sign in', anonymous: true},
  {path: /^\/signup$/, view: signupView, title: 'Create an account', anonymous: true},
  {path: /^\/new$/, view: createView, title: 'New backend'},
  {path: /^\/settings$/, view: settingsView, title: 'Settings', operator: true},
  {path: /^\/backends\/([^/]+)(?:\/([a-z]+)(?:\/([^/]+))?)?\/?$/, view: backendView, title: 'Backend'},
];

const state = {me: null, leave: null, first: true};
const main = document.getElementById('main');
const top = document.getElementById('top');

/** navigate moves to a panel path without reloading the page. */
function navigate(path, {replace: swap = false} = {}) {
  if (swap) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function header() {
  const here = location.pathname;
  const link = (href, text, current) => h('a', {href, 'aria-current': current ? 'page' : null}, text);
  const nav = state.me ? h('nav', {'aria-label': 'Main'},
    link('/', 'Backends', here === '/' || here.startsWith('/backends/')),
    link('/new', 'New backend', here === '/new'),
    state.me.role === 'admin' ? link('/settings', 'Settings', here === '/settings') : null) : null;
  const account = state.me ? h('div', {class: 'account'},
    h('span', {class: 'who', title: state.me.role === 'admin' ? 'operator' : 'developer'}, state.me.email,
      state.me.role === 'admin' ? h('span', {class: 'role'}, 'operator') : null),
    h('button', {type: 'button', class: 'btn small', onclick: signOut}, 'Sign out')) : null;
  replace(top, h('a', {href: '/', class: 'brand'}, 'Backpack'), nav, account);
}

async function signOut() {
  try {
    await api.post('/api/auth/logout');
  } catch (e) {
    // A session that already ended is signed out all the same; one whose CSRF cookie is gone
    // cannot be ended from here, and signing in again replaces it.
    if (!(e instanceof api.ApiError) || (e.status !== 401 && e.code !== 'csrf_failed')) {
      alertBanner(api.describe(e));
      return;
    }
  }
  state.me = null;
  navigate('/signin');
}

function alertBanner(msg) {
  main.prepend(h('div', {class: 'error', role: 'alert'}, msg));
}

/** signedIn records the developer who just signed in or registered and opens where they were going. */
function signedIn(developer, next) {
  state.me = developer;
  navigate(samePanelPath(next) || '/', {replace: true});
}

/** samePanelPath returns a ?next= value as a path of this panel, or '' for anything else. */
function samePanelPath(next) {
  if (!next) return '';
  try {
    const u = new URL(next, location.origin);
    return u.origin === location.origin ? u.pathname + u.search : '';
  } catch {
    return '';
  }
}

function render() {
  if (state.leave) state.leave();
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  const route = routes.find((r) => r.path.test(path));
  if (!route) {
    header();
    document.title = 'Not found · Backpack';
    replace(main, h('h1', null, 'Page not found'), h('p', null, 'There is nothing at this address. ', h('a', {href: '/'}, 'Go to your backends.')));
    return;
  }
  if (!route.anonymous && !state.me) {
    navigate(`/signin?next=${encodeURIComponent(path + location.search)}`, {replace: true});
    return;
  }
  if (route.anonymous && state.me) {
    navigate('/', {replace: true});
    return;
  }
  if (route.operator && state.me.role !== 'admin') {
    header();
    replace(main, h('h1', null, 'Operator only'), h('p', null, 'Only the operator can change the server\'s settings.'));
    return;
  }
  const aborter = new AbortController();
  const leaving = [];
  state.leave = () => {
    aborter.abort();
    for (const fn of leaving.splice(0)) fn();
    state.leave = null;
  };
  header();
  replace(main);
  document.title = `${route.title} · Backpack`;
  let params;
  try {
    params = path.match(route.path).slice(1).map((p) => (p === undefined ? undefined : decodeURIComponent(p)));
  } catch {
    // A malformed %-escape in the address.
    replace(main, h('h1', null, 'Page not found'), h('p', null, 'This address is not valid. ', h('a', {href: '/'}, 'Go to your backends.')));
    return;
  }
  const ctx = {
    main,
    params,
    query,
    me: state.me,
    signal: aborter.signal,
    onLeave: (fn) => leaving.push(fn),
    navigate,
    signedIn,
    setTitle: (t) => { document.title = `${t} · Backpack`; },
  };
  if (!state.first) main.focus({preventScroll: true});
  state.first = false;
  Promise.resolve(route.view(ctx)).catch((e) => {
    if (api.isAbort(e)) return;
    if (aborter.signal.aborted) return;
    console.error(e);
    alertBanner(api.describe(e));
  });
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a');
  if (!a || ev.defaultPrevented || !plainClick(ev)) return;
  if (a.target || a.hasAttribute('download') || a.origin !== location.origin || a.pathname.startsWith('/api/')) return;
  // A link within the page (the skip link) is the browser's to follow.
  if (a.hash && a.pathname === location.pathname && a.search === location.search) return;
  ev.preventDefault();
  if (a.pathname + a.search !== location.pathname + location.search) navigate(a.pathname + a.search);
});
window.addEventListener('popstate', render);

api.onSignedOut(() => {
  if (!state.me) return;
  state.me = null;
  navigate(`/signin?next=${encodeURIComponent(location.pathname + location.search)}&expired=1`, {replace: true});
});

async function boot() {
  // The modules loaded: a later failure may use boot.js's one automatic reload again.
  sessionStorage.removeItem('backpack-panel-reloaded');
  try {
    state.me = await api.get('/api/auth/me');
  } catch (e) {
    if (!(e instanceof api.ApiError) || e.status !== 401) {
      replace(main, h('div', {class: 'error', role: 'alert'}, api.describe(e)));
      return;
    }
  }
  render();
}
boot();
