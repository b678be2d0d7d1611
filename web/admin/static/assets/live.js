// Server-sent event streams the panel follows: the listing of backends (/api/events), kept
// live for as long as a view is open, and one backend's current operation.
import {stillSignedIn} from './api.js';

/**
 * followBackends keeps the caller's backends live. handlers: list(backends, apiImage) with the
 * whole listing and the API image of the present release ("" without one), on open and after
 * every reconnect; changed(backend), removed(name), status(online).
 * The browser reconnects by itself after a network failure; a refused stream (the session
 * ended, or a proxy answered an error while the server restarted) is opened again with backoff
 * once the session is known to last, and otherwise the panel goes to the sign-in page.
 */
export function followBackends(ctx, handlers) {
  let es = null;
  let timer = null;
  let failures = 0;
  let closed = false;
  const open = () => {
    es = new EventSource('/api/events');
    es.addEventListener('backends', (ev) => {
      const all = JSON.parse(ev.data);
      if (handlers.list) handlers.list(all.backends, all.apiImage || '');
    });
    es.addEventListener('backend', (ev) => handlers.changed && handlers.changed(JSON.parse(ev.data)));
    es.addEventListener('removed', (ev) => handlers.removed && handlers.removed(JSON.parse(ev.data).name));
    es.addEventListener('open', () => {
      failures = 0;
      if (handlers.status) handlers.status(true);
    });
    es.addEventListener('error', async () => {
      if (handlers.status) handlers.status(false);
      if (es.readyState !== EventSource.CLOSED) return;
      failures += 1;
      if (!await stillSignedIn() || closed) return;
      timer = setTimeout(open, Math.min(15000, 1000 * 2 ** failures));
    });
  };
  ctx.onLeave(() => {
    closed = true;
    clearTimeout(timer);
    if (es) es.close();
  });
  open();
}

/**
 * followOperation streams a backend's current operation from its start: each(event) for every
 * event of the kinds asked for (progress, state and error unless told), end({state, message})
 * once it settles.
 */
export function followOperation(ctx, path, {each, end, kinds = ['progress', 'state', 'error']}) {
  const es = new EventSource(path);
  for (const kind of kinds) {
    es.addEventListener(kind, (ev) => {
      if (ev.data) each(JSON.parse(ev.data));
    });
  }
  es.addEventListener('end', (ev) => {
    es.close();
    end(JSON.parse(ev.data));
  });
  ctx.onLeave(() => es.close());
  return es;
}
