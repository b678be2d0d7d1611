// Backpack JavaScript SDK: createSdk(url, apiKey, options) → { db, auth, storage, functions, ws }.
// Hand-written, no build step. Served by every backend as /sdk.js (classic script, global
// createSdk) and /sdk.mjs (ES module); types in /sdk.d.ts. Works in browsers and Node 20+.

const DEFAULT_TIMEOUT_MS = 15000;
const TOKEN_KEY_PREFIX = 'backpack.token:';

/** A failed call: the server's error code and message, or a client-side one. */
class BackpackError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = 'BackpackError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

// errorFromResponse maps an HTTP error answer, in the contract's shape or not, to a BackpackError.
async function errorFromResponse(res) {
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const e = body && body.error;
  if (e && typeof e.code === 'string') {
    return new BackpackError(res.status, e.code, e.message || e.code, e.details);
  }
  return new BackpackError(res.status, 'http_' + res.status, res.statusText || 'request failed');
}

// jsonOrText reads an answer as its Content-Type says: parsed JSON for application/json (and
// +json types; null when empty), else text. Functions answer with whatever they return.
async function jsonOrText(res) {
  const text = await res.text();
  const type = (res.headers.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
  if (!/^application\/(?:[\w.-]+\+)?json$/.test(type)) return text;
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new BackpackError(res.status, 'invalid_json', `the answer says it is JSON but is not: ${text.slice(0, 100)}`);
  }
}

// functionPath builds /fn/NAME[/PATH] with every segment encoded as one segment, so a name or a
// path part cannot reach another route. '.' and '..' are refused: URLs resolve them (even
// escaped as %2e), which would leave the function's prefix.
function functionPath(name, path) {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..') {
    throw new BackpackError(0, 'invalid_argument', `functions.call: a function name is required, not ${JSON.stringify(name)}`);
  }
  if (path !== undefined && typeof path !== 'string') throw new BackpackError(0, 'invalid_argument', 'functions.call: path must be a string');
  const rest = (path || '').replace(/^\/+/, '');
  if (rest === '') return '/fn/' + encodeURIComponent(name);
  const segments = rest.split('/');
  if (segments.some((s) => s === '.' || s === '..')) {
    throw new BackpackError(0, 'invalid_argument', `functions.call: the path may not contain "." or ".." segments: ${path}`);
  }
  return '/fn/' + encodeURIComponent(name) + '/' + segments.map(encodeURIComponent).join('/');
}

// siteOf approximates a host's registrable domain: the host itself for localhost names and IP
// addresses, else its last two labels. Browsers only send SameSite cookies within one site.
function siteOf(host) {
  const h = host.toLowerCase().replace(/:\d+$/, '');
  if (h === 'localhost' || h.endsWith('.localhost') || /^[\d.]+$/.test(h) || h.startsWith('[')) return h;
  return h.split('.').slice(-2).join('.');
}

// chooseAuthMode picks how the session travels. 'cookie' (the HttpOnly bkpk_session cookie)
// is the default whenever the page and the API are the same site, as in production
// (NAME.DOMAIN and NAME-be.DOMAIN). Across sites (NAME.localhost vs NAME-be.localhost in
// local development) browsers do not send the cookie, so the SDK uses a bearer token kept in
// localStorage instead; outside browsers (Node) it always uses a token.
function chooseAuthMode(option, apiURL) {
  if (option === 'cookie' || option === 'token') return option;
  const loc = globalThis.location;
  if (!loc || !loc.host || typeof globalThis.document === 'undefined') return 'token';
  return siteOf(new URL(apiURL).host) === siteOf(loc.host) ? 'cookie' : 'token';
}

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
}

function defaultStorage() {
  try {
    if (globalThis.localStorage) return globalThis.localStorage;
  } catch {
    // Access to localStorage can throw (sandboxed frames, some privacy modes).
  }
  return memoryStorage();
}

// combineSignals aborts when the caller's signal aborts or the timeout passes.
function combineSignals(signal, timeoutMs) {
  const controller = new AbortController();
  const timer = timeoutMs > 0 ? setTimeout(() => controller.abort(new BackpackError(0, 'timeout', `no answer within ${timeoutMs} ms`)), timeoutMs) : null;
  const onAbort = () => controller.abort(signal.reason);
  if (signal) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  const done = () => {
    if (timer) clearTimeout(timer);
    if (signal) signal.removeEventListener('abort', onAbort);
  };
  return { signal: controller.signal, done };
}

function abortError(signal) {
  const r = signal.reason;
  if (r instanceof BackpackError) return r;
  return new BackpackError(0, 'aborted', 'the request was aborted');
}

/**
 * createSdk connects to one backend's API.
 * @param {string} url the backend's API URL, e.g. https://shop-be.example.com
 * @param {string} apiKey the backend's API key
 * @param {object} [options] { timeout, auth: 'auto'|'cookie'|'token', fetch, WebSocket, storage, reconnect }
 */
function createSdk(url, apiKey, options = {}) {
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new TypeError('createSdk: url must be an http(s) URL');
  if (typeof apiKey !== 'string' || apiKey === '') throw new TypeError('createSdk: apiKey is required');
  const base = url.replace(/\/+$/, '');
  const fetchFn = options.fetch || globalThis.fetch?.bind(globalThis);
  if (!fetchFn) throw new TypeError('createSdk: no fetch available; pass options.fetch');
  const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
  const mode = chooseAuthMode(options.auth || 'auto', base);
  const store = options.storage || defaultStorage();
  const tokenKey = TOKEN_KEY_PREFIX + base;
  const token = {
    get: () => (mode === 'token' ? store.getItem(tokenKey) : null),
    set: (t) => store.setItem(tokenKey, t),
    clear: () => store.removeItem(tokenKey),
  };

  function headersFor(extra) {
    const h = { 'X-API-Key': apiKey, ...extra };
    const t = token.get();
    if (t) h.Authorization = 'Bearer ' + t;
    return h;
  }

  // request sends one HTTP request and resolves with the parsed answer (JSON, Blob, or null).
  async function request(method, path, { json, body, query, as = 'json', signal, timeout: callTimeout } = {}) {
    const u = new URL(base + path);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null) u.searchParams.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
    }
    const headers = headersFor(json !== undefined ? { 'Content-Type': 'application/json' } : {});
    const { signal: s, done } = combineSignals(signal, callTimeout ?? timeout);
    let res;
    try {
      res = await fetchFn(u.toString(), {
        method,
        headers,
        body: json !== undefined ? JSON.stringify(json) : body,
        credentials: mode === 'cookie' ? 'include' : 'omit',
        signal: s,
      });
    } catch (err) {
      done();
      if (s.aborted) throw abortError(s);
      throw new BackpackError(0, 'network_error', `could not reach ${base}: ${err && err.message ? err.message : err}`);
    }
    try {
      if (!res.ok) throw await errorFromResponse(res);
      if (res.status === 204) return null;
      if (as === 'blob') return await res.blob();
      if (as === 'response') return res;
      if (as === 'auto') return await jsonOrText(res);
      return await res.json();
    } catch (err) {
      if (s.aborted) throw abortError(s);
      throw err;
    } finally {
      done();
    }
  }

  const enc = encodeURIComponent;

  const db = {
    createNewCollection: (name, o) => request('POST', '/collections', { json: { name }, ...o }),
    listCollections: (o) => request('GET', '/collections', o),
    getCollection: (c, q = {}, o) => {
      const { filter, sort, limit, skip, fields } = q;
      return request('GET', '/' + enc(c), { query: { filter, sort, limit, skip, fields: Array.isArray(fields) ? fields.join(',') : fields }, ...o });
    },
    getResource: (c, id, o) => request('GET', `/${enc(c)}/${enc(id)}`, o),
    createResource: (c, data, o) => request('POST', '/' + enc(c), { json: data, ...o }),
    updateResource: (c, id, data, o) => request('PATCH', `/${enc(c)}/${enc(id)}`, { json: data, ...o }),
    overwriteResource: (c, id, data, o) => request('PUT', `/${enc(c)}/${enc(id)}`, { json: data, ...o }),
    deleteResource: (c, id, o) => request('DELETE', `/${enc(c)}/${enc(id)}`, o),
  };

  const auth = {
    register: (email, password, o) => request('POST', '/auth/register', { json: { email, password }, ...o }),
    async login(email, password, o) {
      if (mode === 'cookie') return request('POST', '/auth/login', { json: { email, password }, ...o });
      const { token: t } = await request('POST', '/auth/token', { json: { email, password }, ...o });
      token.set(t);
      return request('GET', '/auth/me', o);
    },
    async logout(o) {
      try {
        await request('POST', '/auth/logout', o);
      } finally {
        token.clear();
        if (connection) connection.close();
      }
    },
    me: (o) => request('GET', '/auth/me', o),
    /** The session strategy in use: 'cookie' or 'token'. */
    mode,
  };

  // upload sends multipart data; with onProgress it uses XMLHttpRequest, the only browser API
  // that reports upload progress.
  function upload(method, path, form, o = {}) {
    if (!o.onProgress || typeof XMLHttpRequest === 'undefined') return request(method, path, { body: form, ...o });
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, base + path);
      for (const [k, v] of Object.entries(headersFor({}))) xhr.setRequestHeader(k, v);
      xhr.withCredentials = mode === 'cookie';
      xhr.timeout = o.timeout ?? timeout;
      xhr.upload.onprogress = (e) => e.lengthComputable && o.onProgress({ loaded: e.loaded, total: e.total });
      xhr.onload = () => {
        let body;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = undefined;
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else if (body && body.error) reject(new BackpackError(xhr.status, body.error.code, body.error.message, body.error.details));
        else reject(new BackpackError(xhr.status, 'http_' + xhr.status, xhr.statusText || 'request failed'));
      };
      xhr.onerror = () => reject(new BackpackError(0, 'network_error', `could not reach ${base}`));
      xhr.ontimeout = () => reject(new BackpackError(0, 'timeout', `no answer within ${xhr.timeout} ms`));
      if (o.signal) {
        if (o.signal.aborted) return reject(abortError(o.signal));
        o.signal.addEventListener('abort', () => {
          xhr.abort();
          reject(abortError(o.signal));
        }, { once: true });
      }
      xhr.send(form);
    });
  }

  function fileForm(file, filename, bucket) {
    const form = new FormData();
    form.append('file', file, filename || (file && file.name) || 'file');
    if (filename) form.append('filename', filename);
    if (bucket) form.append('bucket', bucket);
    return form;
  }

  const storage = {
    getFile: (userId, filename, o) => request('GET', `/files/${enc(userId)}/${enc(filename)}`, { as: 'blob', ...o }),
    getListOfUserFiles: (userId, o) => request('GET', '/files', { query: { userId }, ...o }),
    uploadFile: (file, filename, bucket, o) => upload('POST', '/files', fileForm(file, filename, bucket), o),
    updateFile: (currentFilename, newFilename, bucket, o) => {
      const json = {};
      if (newFilename) json.filename = newFilename;
      if (bucket) json.bucket = bucket;
      return request('PATCH', '/files/' + enc(currentFilename), { json, ...o });
    },
    overwriteFile: (file, filename, o) => upload('PUT', '/files/' + enc(filename), fileForm(file), o),
    deleteFile: (filename, o) => request('DELETE', '/files/' + enc(filename), o),
  };

  const functions = {
    async call(name, body, { method, path, query, signal, timeout: callTimeout } = {}) {
      const m = (method || (body === undefined ? 'GET' : 'POST')).toUpperCase();
      if (body !== undefined && (m === 'GET' || m === 'HEAD')) {
        throw new BackpackError(0, 'invalid_argument', `functions.call: a ${m} request cannot have a body`);
      }
      return request(m, functionPath(name, path), { json: body, query, as: 'auto', signal, timeout: callTimeout });
    },
  };

  let connection = null;
  function ws(wsOptions = {}) {
    if (connection && !connection.closed) return connection;
    connection = createConnection({
      url: base, apiKey, token: token.get, WebSocketImpl: options.WebSocket || globalThis.WebSocket, timeout,
      ...options.reconnect, ...wsOptions,
    });
    return connection;
  }

  return { db, auth, storage, functions, ws };
}

// reconnectDelay is exponential backoff with full jitter: a random delay up to
// min(max, base·2^attempt), so many clients dropped at once do not return at once.
function reconnectDelay(attempt, { baseDelay = 500, maxDelay = 30000, random = Math.random } = {}) {
  const cap = Math.min(maxDelay, baseDelay * 2 ** attempt);
  return Math.round(cap / 2 + random() * (cap / 2));
}

// createConnection is the websocket of ws(): promises per requestId, handlers per action,
// automatic reconnection, and channels re-joined after a reconnect.
function createConnection({ url, apiKey, token, WebSocketImpl, timeout = DEFAULT_TIMEOUT_MS, baseDelay, maxDelay, random, setTimer = setTimeout, clearTimer = clearTimeout }) {
  if (!WebSocketImpl) throw new TypeError('ws(): no WebSocket implementation; pass options.WebSocket (Node 20: the "ws" package)');
  const handlers = new Map();
  const pending = new Map();
  const queue = [];
  const infoCollections = new Set();
  let socket = null;
  let attempt = 0;
  let nextId = 1;
  let closed = false;
  let status = 'closed';
  let retryTimer = null;

  function emit(action, msg) {
    for (const h of handlers.get(action) || []) {
      try {
        h(msg);
      } catch (err) {
        setTimer(() => { throw err; }, 0);
      }
    }
  }

  function setStatus(s) {
    if (s === status) return;
    status = s;
    emit('status', s);
  }

  function endpoint() {
    const u = new URL(url.replace(/^http/, 'ws') + '/ws');
    u.searchParams.set('apiKey', apiKey);
    const t = token();
    if (t) u.searchParams.set('token', t);
    return u.toString();
  }

  function open() {
    setStatus('connecting');
    socket = new WebSocketImpl(endpoint());
    socket.onopen = () => {
      attempt = 0;
      setStatus('open');
      for (const uic of infoCollections) send('joinUsersChannels', { usersInformationCollection: uic }).catch(() => {});
      while (queue.length) socket.send(queue.shift());
    };
    socket.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      const id = msg.requestId;
      if (id !== undefined) {
        // A reply. Broadcasts and relayed actions carry no requestId; a reply whose request
        // already timed out is dropped rather than taken for a broadcast.
        const p = pending.get(id);
        if (!p) return;
        pending.delete(id);
        clearTimer(p.timer);
        if (msg.action === 'error') {
          const e = msg.error || {};
          p.reject(new BackpackError(0, e.code || 'error', e.message || 'request failed', e.details));
        } else {
          p.resolve(msg);
        }
        return;
      }
      emit(msg.action, msg);
      emit('*', msg);
    };
    socket.onclose = (ev) => {
      socket = null;
      for (const [id, p] of pending) {
        clearTimer(p.timer);
        p.reject(new BackpackError(0, 'connection_lost', 'the websocket closed before the answer came'));
        pending.delete(id);
      }
      // Every queued request was just rejected: sending it later would run an action its
      // caller was told failed.
      queue.length = 0;
      setStatus('closed');
      emit('close', { code: ev && ev.code, reason: ev && ev.reason });
      // 4001: the session ended; 1008/1009: the client broke a limit. Retrying would not help.
      if (closed || (ev && [4001, 1008, 1009].includes(ev.code))) {
        closed = true;
        return;
      }
      retryTimer = setTimer(() => {
        retryTimer = null;
        if (!closed) open();
      }, reconnectDelay(attempt++, { baseDelay, maxDelay, random }));
    };
  }

  // send sends an action and resolves with the whole reply message.
  function send(action, payload = {}) {
    if (closed) return Promise.reject(new BackpackError(0, 'closed', 'the websocket was closed'));
    const requestId = 'r' + nextId++;
    const data = JSON.stringify({ ...payload, action, requestId });
    return new Promise((resolve, reject) => {
      const timer = setTimer(() => {
        pending.delete(requestId);
        const queued = queue.indexOf(data);
        if (queued !== -1) queue.splice(queued, 1);
        reject(new BackpackError(0, 'timeout', `no answer to ${action} within ${timeout} ms`));
      }, timeout);
      pending.set(requestId, { resolve, reject, timer });
      if (socket && status === 'open') socket.send(data);
      else queue.push(data);
    });
  }

  // call sends an action and resolves with its response.
  const call = (action, payload) => send(action, payload).then((m) => m.response);
  const remember = (uic) => {
    infoCollections.add(uic);
  };

  const actions = {
    findResource: (collection, query = {}, { sort, limit, skip } = {}) => call('find', { collection, query, sort, limit, skip }),
    getCollection: (collection, { sort, limit, skip } = {}) => call('getAll', { collection, sort, limit, skip }),
    getResource: (collection, id) => call('getOne', { collection, id }),
    createResource: (collection, data) => call('create', { collection, data }),
    overwriteResource: (collection, id, data) => call('update', { collection, id, data }),
    updateResource: (collection, id, data) => call('patch', { collection, id, data }),
    deleteResource: (collection, id) => call('delete', { collection, id }),
    joinUsersChannels: (uic) => (remember(uic), call('joinUsersChannels', { usersInformationCollection: uic })),
    createChannel: (uic, channelType, name) => (remember(uic), call('createChannel', { usersInformationCollection: uic, channelType, name })),
    joinChannel: (uic, channelType, channelId) => (remember(uic), call('joinChannel', { usersInformationCollection: uic, channelType, channelId })),
    leaveChannel: (uic, channelType, channelId) => call('leaveChannel', { usersInformationCollection: uic, channelType, channelId }),
    changeChannel: (uic, channelType, channelId) => call('changeChannel', { usersInformationCollection: uic, channelType, channelId }),
    deleteChannel: (uic, channelMessagesCollection, channelType, channelId) =>
      call('deleteChannel', { usersInformationCollection: uic, channelMessagesCollection, channelType, channelId }),
    call: (functionName, payload) => call('call', { function: functionName, payload }),
    send: (action, payload) => send(action, payload),
  };

  const conn = {
    actions,
    on(action, handler) {
      if (!handlers.has(action)) handlers.set(action, new Set());
      handlers.get(action).add(handler);
      return () => conn.off(action, handler);
    },
    off(action, handler) {
      handlers.get(action)?.delete(handler);
    },
    get status() {
      return status;
    },
    get closed() {
      return closed;
    },
    close() {
      closed = true;
      if (retryTimer) clearTimer(retryTimer);
      if (socket) socket.close(1000);
      else setStatus('closed');
    },
  };
  open();
  return conn;
}

export { createSdk, BackpackError, reconnectDelay, createConnection, siteOf, chooseAuthMode };
