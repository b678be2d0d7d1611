// The backend's admin change stream (GET /admin/ws through the control plane's proxy): every
// document, user and collection change as it happens, kept open while a tab shows it.
import * as api from '../api.js';

const maxDelay = 15000;

/**
 * followChanges keeps a websocket to the backend's change stream open for as long as root is on
 * the page and the view is not left, reconnecting after 1 s, 2 s, 4 s… (at most 15 s).
 * message(msg) gets each change; status(online) is told when the connection opens or drops.
 * Changes made while it was down are not replayed, so a caller refreshes on every open.
 */
export function followChanges(tab, root, {message, status}) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${location.host}${api.adminPath(tab.name, '/ws')}`;
  let ws = null;
  let timer = null;
  let failures = 0;
  let stopped = false;

  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    if (ws) ws.close(1000, 'the panel left this view');
  };
  // The backend page swaps a tab out (without leaving the view) when the backend stops.
  const gone = () => {
    if (!root.isConnected) stop();
    return stopped;
  };
  const connect = () => {
    if (gone()) return;
    ws = new WebSocket(url);
    ws.addEventListener('open', () => {
      failures = 0;
      status(true);
    });
    ws.addEventListener('message', (ev) => {
      if (gone()) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg && typeof msg === 'object') message(msg);
    });
    ws.addEventListener('close', async () => {
      ws = null;
      if (gone()) return;
      status(false);
      failures += 1;
      // A refused handshake looks like any drop; after a few, make sure the session lasts
      // (if not, the panel goes to the sign-in page and this stops with the view).
      if (failures >= 3 && !await api.stillSignedIn()) return;
      if (gone()) return;
      timer = setTimeout(connect, Math.min(maxDelay, 1000 * 2 ** (failures - 1)));
    });
  };
  tab.onLeave(stop);
  tab.onChange(gone);
  connect();
}
