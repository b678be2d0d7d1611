// Tests of the JavaScript SDK with a fake fetch, a fake WebSocket and fake timers; no server.
// Run: node --test web/sdk/
import { describe, test, mock, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createSdk, BackpackError, reconnectDelay, createConnection, siteOf, chooseAuthMode } from './sdk.js';

const API = 'https://shop-be.example.com';
const TOKEN_KEY = 'backpack.token:' + API;

// ---------------------------------------------------------------------------------------------
// Fakes

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

/** A fetch that records every call and answers with respond(url, init) (default: 200 {}). */
function fakeFetch(respond = () => json(200, {})) {
  const calls = [];
  const fn = async (url, init) => {
    const call = { url: new URL(url), init, method: init.method, headers: init.headers };
    calls.push(call);
    return respond(call.url, init);
  };
  fn.calls = calls;
  fn.last = () => calls[calls.length - 1];
  return fn;
}

/** A fetch that never answers, but rejects like the real one when its signal aborts. */
function hangingFetch() {
  const calls = [];
  const fn = (url, init) =>
    new Promise((_, reject) => {
      calls.push({ url, init });
      const fail = () => reject(init.signal.reason ?? new DOMException('aborted', 'AbortError'));
      if (init.signal.aborted) fail();
      else init.signal.addEventListener('abort', fail, { once: true });
    });
  fn.calls = calls;
  return fn;
}

function memoryStore(initial = {}) {
  const map = new Map(Object.entries(initial));
  return { map, getItem: (k) => (map.has(k) ? map.get(k) : null), setItem: (k, v) => map.set(k, String(v)), removeItem: (k) => map.delete(k) };
}

function sdkWith(respond, options = {}) {
  const fetch = fakeFetch(respond);
  const storage = options.storage || memoryStore();
  const sdk = createSdk(options.url || API, 'key-123', { auth: 'token', ...options, fetch, storage });
  return { sdk, fetch, storage };
}

/** A WebSocket class whose sockets the test drives: serverOpen, serverSend, serverClose. */
function fakeWebSocket() {
  return class FakeSocket {
    static all = [];
    static last() {
      return FakeSocket.all[FakeSocket.all.length - 1];
    }
    constructor(url) {
      this.url = url;
      this.sent = [];
      this.closeCalls = [];
      this.onopen = this.onmessage = this.onclose = null;
      FakeSocket.all.push(this);
    }
    send(data) {
      this.sent.push(JSON.parse(data));
    }
    close(code) {
      this.closeCalls.push(code);
      this.serverClose(code ?? 1005);
    }
    serverOpen() {
      this.onopen({ type: 'open' });
    }
    serverSend(msg) {
      this.onmessage({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
    }
    serverClose(code = 1006, reason = '') {
      this.onclose({ code, reason });
    }
  };
}

/** setTimer/clearTimer the test fires by hand. */
function fakeClock() {
  let next = 1;
  const timers = new Map();
  return {
    timers,
    setTimer: (fn, ms) => {
      const id = next++;
      timers.set(id, { fn, ms });
      return id;
    },
    clearTimer: (id) => timers.delete(id),
    /** The delays of the timers now scheduled. */
    delays: () => [...timers.values()].map((t) => t.ms),
    /** Runs (and removes) the first timer scheduled with this delay; false if there is none. */
    fire(ms) {
      for (const [id, t] of timers) {
        if (t.ms === ms) {
          timers.delete(id);
          t.fn();
          return true;
        }
      }
      return false;
    },
  };
}

const REQUEST_TIMEOUT = 10000;

/** A connection over fake sockets and timers: base 100 ms, cap 1000 ms, no jitter. */
function connect(extra = {}) {
  const WS = fakeWebSocket();
  const clock = fakeClock();
  const conn = createConnection({
    url: API, apiKey: 'key-123', token: () => null, WebSocketImpl: WS, timeout: REQUEST_TIMEOUT,
    baseDelay: 100, maxDelay: 1000, random: () => 1, setTimer: clock.setTimer, clearTimer: clock.clearTimer,
    ...extra,
  });
  return { conn, WS, clock, socket: () => WS.last() };
}

/** Lets promise callbacks run. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

function withBrowser(pageHost, fn) {
  const had = { location: Object.getOwnPropertyDescriptor(globalThis, 'location'), document: Object.getOwnPropertyDescriptor(globalThis, 'document') };
  globalThis.location = { host: pageHost, origin: 'https://' + pageHost };
  globalThis.document = {};
  try {
    return fn();
  } finally {
    for (const k of ['location', 'document']) {
      if (had[k]) Object.defineProperty(globalThis, k, had[k]);
      else delete globalThis[k];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// createSdk

describe('createSdk', () => {
  test('rejects a missing or non-http URL and a missing API key', () => {
    const fetch = fakeFetch();
    assert.throws(() => createSdk('shop-be.example.com', 'k', { fetch }), TypeError);
    assert.throws(() => createSdk('ftp://shop-be.example.com', 'k', { fetch }), TypeError);
    assert.throws(() => createSdk(undefined, 'k', { fetch }), TypeError);
    assert.throws(() => createSdk(API, '', { fetch }), TypeError);
    assert.throws(() => createSdk(API, undefined, { fetch }), TypeError);
  });

  test('returns the five modules', () => {
    const { sdk } = sdkWith();
    assert.deepEqual(Object.keys(sdk).sort(), ['auth', 'db', 'functions', 'storage', 'ws']);
    assert.equal(typeof sdk.ws, 'function');
  });
});

// ---------------------------------------------------------------------------------------------
// Request building

describe('request building', () => {
  test('joins the base URL and paths whatever the trailing slashes', async () => {
    for (const base of ['https://shop-be.example.com', 'https://shop-be.example.com/', 'https://shop-be.example.com///']) {
      const { sdk, fetch } = sdkWith(undefined, { url: base });
      await sdk.db.getResource('todos', 'abc');
      assert.equal(fetch.last().url.href, 'https://shop-be.example.com/todos/abc');
    }
    const { sdk, fetch } = sdkWith(undefined, { url: 'http://localhost:8080/api/' });
    await sdk.db.listCollections();
    assert.equal(fetch.last().url.href, 'http://localhost:8080/api/collections');
  });

  test('encodes collection names, ids and filenames as one path segment each', async () => {
    const { sdk, fetch } = sdkWith();
    await sdk.db.getResource('todos', 'a/b?c');
    assert.equal(fetch.last().url.pathname, '/todos/a%2Fb%3Fc');
    await sdk.storage.getFile('u1', 'my photo #1.png');
    assert.equal(fetch.last().url.pathname, '/files/u1/my%20photo%20%231.png');
    await sdk.storage.deleteFile('ü.txt');
    assert.equal(fetch.last().url.pathname, '/files/%C3%BC.txt');
  });

  test('encodes list queries: filter as JSON, fields as a comma list, undefined omitted', async () => {
    const { sdk, fetch } = sdkWith(() => json(200, []));
    const filter = { done: false, n: { $gt: 2 }, title: { $regex: '^a&b', $options: 'i' } };
    await sdk.db.getCollection('todos', { filter, sort: '-_createdAt,title', limit: 10, skip: 0, fields: ['title', 'done'] });
    const q = fetch.last().url.searchParams;
    assert.deepEqual(JSON.parse(q.get('filter')), filter);
    assert.equal(q.get('sort'), '-_createdAt,title');
    assert.equal(q.get('limit'), '10');
    assert.equal(q.get('skip'), '0', 'zero is a value, not an absence');
    assert.equal(q.get('fields'), 'title,done');

    await sdk.db.getCollection('todos', { limit: 5, filter: undefined, sort: undefined });
    assert.deepEqual([...fetch.last().url.searchParams.keys()], ['limit']);

    await sdk.db.getCollection('todos', { fields: 'a,b' });
    assert.equal(fetch.last().url.searchParams.get('fields'), 'a,b');

    await sdk.db.getCollection('todos');
    assert.equal(fetch.last().url.search, '');
  });

  test('file listing sends userId only when given', async () => {
    const { sdk, fetch } = sdkWith(() => json(200, []));
    await sdk.storage.getListOfUserFiles('u 1');
    assert.equal(fetch.last().url.searchParams.get('userId'), 'u 1');
    await sdk.storage.getListOfUserFiles();
    assert.equal(fetch.last().url.search, '');
  });

  test('every call uses the method, path and body of the contract', async () => {
    const { sdk, fetch } = sdkWith();
    const cases = [
      [() => sdk.db.createNewCollection('todos'), 'POST', '/collections', { name: 'todos' }],
      [() => sdk.db.listCollections(), 'GET', '/collections'],
      [() => sdk.db.getCollection('todos'), 'GET', '/todos'],
      [() => sdk.db.getResource('todos', 'id1'), 'GET', '/todos/id1'],
      [() => sdk.db.createResource('todos', { title: 'x' }), 'POST', '/todos', { title: 'x' }],
      [() => sdk.db.updateResource('todos', 'id1', { done: true }), 'PATCH', '/todos/id1', { done: true }],
      [() => sdk.db.overwriteResource('todos', 'id1', { title: 'y' }), 'PUT', '/todos/id1', { title: 'y' }],
      [() => sdk.db.deleteResource('todos', 'id1'), 'DELETE', '/todos/id1'],
      [() => sdk.auth.register('a@b.co', 'password1'), 'POST', '/auth/register', { email: 'a@b.co', password: 'password1' }],
      [() => sdk.auth.me(), 'GET', '/auth/me'],
      [() => sdk.auth.logout(), 'POST', '/auth/logout'],
      [() => sdk.storage.getFile('u1', 'a.txt'), 'GET', '/files/u1/a.txt'],
      [() => sdk.storage.getListOfUserFiles('u1'), 'GET', '/files'],
      [() => sdk.storage.uploadFile(new Blob(['x']), 'a.txt'), 'POST', '/files'],
      [() => sdk.storage.updateFile('a.txt', 'b.txt', 'docs'), 'PATCH', '/files/a.txt', { filename: 'b.txt', bucket: 'docs' }],
      [() => sdk.storage.overwriteFile(new Blob(['y']), 'a.txt'), 'PUT', '/files/a.txt'],
      [() => sdk.storage.deleteFile('a.txt'), 'DELETE', '/files/a.txt'],
    ];
    for (const [call, method, path, body] of cases) {
      await call();
      const { url, init } = fetch.last();
      assert.equal(init.method, method, path);
      assert.equal(url.pathname, path);
      if (body) assert.deepEqual(JSON.parse(init.body), body, path);
      else if (!(init.body instanceof FormData)) assert.equal(init.body, undefined, path);
    }
  });

  test('updateFile sends only the fields it is given', async () => {
    const { sdk, fetch } = sdkWith();
    await sdk.storage.updateFile('a.txt', 'b.txt');
    assert.deepEqual(JSON.parse(fetch.last().init.body), { filename: 'b.txt' });
    await sdk.storage.updateFile('a.txt', undefined, 'archive');
    assert.deepEqual(JSON.parse(fetch.last().init.body), { bucket: 'archive' });
  });

  test('headers: the API key always, Content-Type only with a JSON body, Authorization only with a token', async () => {
    const { sdk, fetch, storage } = sdkWith();
    await sdk.db.listCollections();
    assert.deepEqual(fetch.last().headers, { 'X-API-Key': 'key-123' });

    await sdk.db.createResource('todos', { a: 1 });
    assert.deepEqual(fetch.last().headers, { 'X-API-Key': 'key-123', 'Content-Type': 'application/json' });

    storage.setItem(TOKEN_KEY, 'tok-1');
    await sdk.db.createResource('todos', { a: 1 });
    assert.deepEqual(fetch.last().headers, { 'X-API-Key': 'key-123', 'Content-Type': 'application/json', Authorization: 'Bearer tok-1' });

    await sdk.storage.uploadFile(new Blob(['x']), 'x.txt');
    assert.deepEqual(fetch.last().headers, { 'X-API-Key': 'key-123', Authorization: 'Bearer tok-1' }, 'fetch sets the multipart Content-Type itself');
  });

  test('cookie mode sends credentials and never a bearer token; token mode omits credentials', async () => {
    const storage = memoryStore({ [TOKEN_KEY]: 'stale-token' });
    const cookie = sdkWith(undefined, { auth: 'cookie', storage });
    await cookie.sdk.db.listCollections();
    assert.equal(cookie.fetch.last().init.credentials, 'include');
    assert.equal(cookie.fetch.last().headers.Authorization, undefined);
    assert.equal(cookie.sdk.auth.mode, 'cookie');

    const token = sdkWith(undefined, { auth: 'token', storage });
    await token.sdk.db.listCollections();
    assert.equal(token.fetch.last().init.credentials, 'omit');
    assert.equal(token.fetch.last().headers.Authorization, 'Bearer stale-token');
    assert.equal(token.sdk.auth.mode, 'token');
  });

  test('uploadFile sends multipart file, filename and bucket', async () => {
    const { sdk, fetch } = sdkWith(() => json(201, { _id: 'f1', filename: 'report.pdf' }));
    const meta = await sdk.storage.uploadFile(new Blob(['%PDF'], { type: 'application/pdf' }), 'report.pdf', 'docs');
    assert.deepEqual(meta, { _id: 'f1', filename: 'report.pdf' });
    const form = fetch.last().init.body;
    assert.ok(form instanceof FormData);
    assert.deepEqual([...form.keys()], ['file', 'filename', 'bucket']);
    const file = form.get('file');
    assert.equal(file.name, 'report.pdf');
    assert.equal(file.type, 'application/pdf');
    assert.equal(await file.text(), '%PDF');
    assert.equal(form.get('filename'), 'report.pdf');
    assert.equal(form.get('bucket'), 'docs');
  });

  test('uploadFile of a File without a filename uses its name and sends no filename field', async () => {
    const { sdk, fetch } = sdkWith();
    await sdk.storage.uploadFile(new File(['hi'], 'note.txt', { type: 'text/plain' }));
    const form = fetch.last().init.body;
    assert.deepEqual([...form.keys()], ['file']);
    assert.equal(form.get('file').name, 'note.txt');
  });

  test('overwriteFile sends PUT with the file only', async () => {
    const { sdk, fetch } = sdkWith();
    await sdk.storage.overwriteFile(new Blob(['v2']), 'notes v1.txt');
    const { url, init } = fetch.last();
    assert.equal(init.method, 'PUT');
    assert.equal(url.pathname, '/files/notes%20v1.txt');
    assert.deepEqual([...init.body.keys()], ['file']);
    assert.equal(await init.body.get('file').text(), 'v2');
  });

  test('getFile resolves with a Blob of the bytes and type', async () => {
    const { sdk } = sdkWith(() => new Response('hello', { status: 200, headers: { 'Content-Type': 'text/plain' } }));
    const blob = await sdk.storage.getFile('u1', 'a.txt');
    assert.ok(blob instanceof Blob);
    assert.equal(await blob.text(), 'hello');
    assert.match(blob.type, /^text\/plain/);
  });

  test('onProgress without XMLHttpRequest (Node) still uploads through fetch', async () => {
    const { sdk, fetch } = sdkWith(() => json(201, { _id: 'f1' }));
    const progress = [];
    const meta = await sdk.storage.uploadFile(new Blob(['x']), 'x.txt', undefined, { onProgress: (p) => progress.push(p) });
    assert.deepEqual(meta, { _id: 'f1' });
    assert.equal(fetch.calls.length, 1);
    assert.ok(fetch.last().init.body instanceof FormData);
  });
});

// ---------------------------------------------------------------------------------------------
// Uploads with progress (browsers: XMLHttpRequest)

describe('upload progress through XMLHttpRequest', () => {
  class FakeXHR {
    static last = null;
    constructor() {
      FakeXHR.last = this;
      this.headers = {};
      this.upload = {};
    }
    open(method, url) {
      this.method = method;
      this.url = url;
    }
    setRequestHeader(k, v) {
      this.headers[k] = v;
    }
    send(body) {
      this.body = body;
    }
    abort() {
      this.aborted = true;
    }
    answer(status, body, statusText = '') {
      this.status = status;
      this.statusText = statusText;
      this.responseText = typeof body === 'string' ? body : JSON.stringify(body);
      this.onload();
    }
  }

  const installXHR = () => {
    globalThis.XMLHttpRequest = FakeXHR;
  };
  afterEach(() => {
    delete globalThis.XMLHttpRequest;
    FakeXHR.last = null;
  });

  test('reports progress and resolves with the metadata', async () => {
    installXHR();
    const { sdk, fetch } = sdkWith(undefined, { storage: memoryStore({ [TOKEN_KEY]: 'tok' }) });
    const progress = [];
    const p = sdk.storage.uploadFile(new Blob(['abcdef']), 'a.txt', 'docs', { onProgress: (e) => progress.push(e), timeout: 1234 });
    const xhr = FakeXHR.last;
    assert.equal(fetch.calls.length, 0);
    assert.equal(xhr.method, 'POST');
    assert.equal(xhr.url, API + '/files');
    assert.deepEqual(xhr.headers, { 'X-API-Key': 'key-123', Authorization: 'Bearer tok' });
    assert.equal(xhr.withCredentials, false);
    assert.equal(xhr.timeout, 1234);
    assert.ok(xhr.body instanceof FormData);
    assert.equal(xhr.body.get('bucket'), 'docs');
    xhr.upload.onprogress({ lengthComputable: true, loaded: 3, total: 6 });
    xhr.upload.onprogress({ lengthComputable: false, loaded: 4, total: 0 });
    xhr.upload.onprogress({ lengthComputable: true, loaded: 6, total: 6 });
    xhr.answer(201, { _id: 'f1', filename: 'a.txt' });
    assert.deepEqual(await p, { _id: 'f1', filename: 'a.txt' });
    assert.deepEqual(progress, [{ loaded: 3, total: 6 }, { loaded: 6, total: 6 }]);
  });

  test('cookie mode sets withCredentials; overwriteFile uses PUT', async () => {
    installXHR();
    const { sdk } = sdkWith(undefined, { auth: 'cookie' });
    const p = sdk.storage.overwriteFile(new Blob(['x']), 'a b.txt', { onProgress: () => {} });
    const xhr = FakeXHR.last;
    assert.equal(xhr.method, 'PUT');
    assert.equal(xhr.url, API + '/files/a%20b.txt');
    assert.equal(xhr.withCredentials, true);
    assert.equal(xhr.headers.Authorization, undefined);
    xhr.answer(200, { _id: 'f1' });
    await p;
  });

  test('maps errors, network failures, timeouts and aborts', async () => {
    installXHR();
    const { sdk } = sdkWith();
    const opts = { onProgress: () => {} };

    let p = sdk.storage.uploadFile(new Blob(['x']), 'a.txt', undefined, opts);
    FakeXHR.last.answer(413, { error: { code: 'payload_too_large', message: 'too big', details: { max: 1 } } });
    await assert.rejects(p, { name: 'BackpackError', status: 413, code: 'payload_too_large', message: 'too big', details: { max: 1 } });

    p = sdk.storage.uploadFile(new Blob(['x']), 'a.txt', undefined, opts);
    FakeXHR.last.answer(502, '<html>bad gateway</html>', 'Bad Gateway');
    await assert.rejects(p, { status: 502, code: 'http_502' });

    p = sdk.storage.uploadFile(new Blob(['x']), 'a.txt', undefined, opts);
    FakeXHR.last.onerror();
    await assert.rejects(p, { status: 0, code: 'network_error' });

    p = sdk.storage.uploadFile(new Blob(['x']), 'a.txt', undefined, opts);
    FakeXHR.last.ontimeout();
    await assert.rejects(p, { code: 'timeout' });

    const controller = new AbortController();
    p = sdk.storage.uploadFile(new Blob(['x']), 'a.txt', undefined, { ...opts, signal: controller.signal });
    const xhr = FakeXHR.last;
    controller.abort();
    await assert.rejects(p, { code: 'aborted' });
    assert.equal(xhr.aborted, true);

    await assert.rejects(sdk.storage.uploadFile(new Blob(['x']), 'a.txt', undefined, { ...opts, signal: AbortSignal.abort() }), { code: 'aborted' });
  });
});

// ---------------------------------------------------------------------------------------------
// Auth modes

describe('auth modes', () => {
  test('siteOf keeps localhost names and IPs whole and takes the last two labels of others', () => {
    assert.equal(siteOf('Shop.Example.com'), 'example.com');
    assert.equal(siteOf('shop-be.example.com:443'), 'example.com');
    assert.equal(siteOf('a.b.shop.example.com'), 'example.com');
    assert.equal(siteOf('shop.localhost:5173'), 'shop.localhost');
    assert.equal(siteOf('shop-be.localhost:8080'), 'shop-be.localhost');
    assert.equal(siteOf('localhost:3000'), 'localhost');
    assert.equal(siteOf('127.0.0.1:3000'), '127.0.0.1');
    assert.equal(siteOf('[::1]:3000'), '[::1]');
  });

  test('chooseAuthMode: an explicit option wins', () => {
    assert.equal(chooseAuthMode('cookie', API), 'cookie');
    assert.equal(chooseAuthMode('token', API), 'token');
    withBrowser('shop.example.com', () => {
      assert.equal(chooseAuthMode('token', API), 'token');
    });
    withBrowser('shop.localhost:8080', () => {
      assert.equal(chooseAuthMode('cookie', 'http://shop-be.localhost:8080'), 'cookie');
    });
  });

  test('chooseAuthMode: outside a browser (no document) it is token', () => {
    assert.equal(typeof globalThis.document, 'undefined');
    assert.equal(chooseAuthMode('auto', API), 'token');
    globalThis.location = { host: 'shop.example.com' };
    try {
      assert.equal(chooseAuthMode('auto', API), 'token', 'a location alone is not a browser page');
    } finally {
      delete globalThis.location;
    }
  });

  test('chooseAuthMode: same site is cookie, different sites are token', () => {
    withBrowser('shop.example.com', () => {
      assert.equal(chooseAuthMode('auto', 'https://shop-be.example.com'), 'cookie');
      assert.equal(chooseAuthMode('auto', 'https://shop-be.other.com'), 'token');
    });
    withBrowser('shop.localhost:8080', () => {
      assert.equal(chooseAuthMode('auto', 'http://shop-be.localhost:8080'), 'token');
      assert.equal(chooseAuthMode('auto', 'http://shop.localhost:3000'), 'cookie', 'ports do not make another site');
    });
    withBrowser('localhost:5173', () => {
      assert.equal(chooseAuthMode('auto', 'http://localhost:3000'), 'cookie');
    });
  });

  test('createSdk uses the auto mode by default', () => {
    const fetch = fakeFetch();
    withBrowser('shop.example.com', () => {
      assert.equal(createSdk(API, 'k', { fetch }).auth.mode, 'cookie');
      assert.equal(createSdk(API, 'k', { fetch, auth: 'token' }).auth.mode, 'token');
    });
    withBrowser('shop.localhost:8080', () => {
      assert.equal(createSdk('http://shop-be.localhost:8080', 'k', { fetch }).auth.mode, 'token');
    });
    assert.equal(createSdk(API, 'k', { fetch }).auth.mode, 'token');
  });

  test('token mode: login gets a token, stores it, then sends it', async () => {
    const user = { _id: 'u1', email: 'ada@example.com', _createdAt: '2024-01-01T00:00:00Z' };
    const { sdk, fetch, storage } = sdkWith((url) => {
      if (url.pathname === '/auth/token') return json(200, { token: 'tok-abc', expiresAt: '2030-01-01T00:00:00Z' });
      if (url.pathname === '/auth/me') return json(200, user);
      return json(200, []);
    });
    assert.deepEqual(await sdk.auth.login('ada@example.com', 'secret-password'), user);
    assert.equal(fetch.calls[0].url.pathname, '/auth/token');
    assert.equal(fetch.calls[0].method, 'POST');
    assert.deepEqual(JSON.parse(fetch.calls[0].init.body), { email: 'ada@example.com', password: 'secret-password' });
    assert.equal(fetch.calls[0].headers.Authorization, undefined);
    assert.equal(fetch.calls[1].url.pathname, '/auth/me');
    assert.equal(fetch.calls[1].headers.Authorization, 'Bearer tok-abc');
    assert.equal(storage.getItem(TOKEN_KEY), 'tok-abc');

    await sdk.db.getCollection('todos');
    assert.equal(fetch.last().headers.Authorization, 'Bearer tok-abc');

    // A new SDK over the same storage (a page reload) is still signed in.
    const again = sdkWith(undefined, { storage });
    await again.sdk.auth.me();
    assert.equal(again.fetch.last().headers.Authorization, 'Bearer tok-abc');
  });

  test('token mode: tokens are kept per API URL', async () => {
    const storage = memoryStore({ [TOKEN_KEY]: 'tok-shop', ['backpack.token:https://blog-be.example.com']: 'tok-blog' });
    const blog = sdkWith(undefined, { storage, url: 'https://blog-be.example.com/' });
    await blog.sdk.auth.me();
    assert.equal(blog.fetch.last().headers.Authorization, 'Bearer tok-blog');
  });

  test('token mode: a failed login stores nothing', async () => {
    const { sdk, storage } = sdkWith(() => json(401, { error: { code: 'invalid_credentials', message: 'wrong email or password' } }));
    await assert.rejects(sdk.auth.login('a@b.co', 'nope-nope'), { status: 401, code: 'invalid_credentials' });
    assert.equal(storage.map.size, 0);
  });

  test('cookie mode: login posts to /auth/login with credentials and stores no token', async () => {
    const user = { _id: 'u1', email: 'ada@example.com' };
    const { sdk, fetch, storage } = sdkWith(() => json(200, user), { auth: 'cookie' });
    assert.deepEqual(await sdk.auth.login('ada@example.com', 'pw-pw-pw-pw'), user);
    assert.equal(fetch.calls.length, 1);
    assert.equal(fetch.last().url.pathname, '/auth/login');
    assert.equal(fetch.last().init.credentials, 'include');
    assert.equal(storage.map.size, 0);
  });

  test('logout clears the token', async () => {
    const { sdk, fetch, storage } = sdkWith(() => new Response(null, { status: 204 }), { storage: memoryStore({ [TOKEN_KEY]: 'tok' }) });
    assert.equal(await sdk.auth.logout(), undefined);
    assert.equal(fetch.last().url.pathname, '/auth/logout');
    assert.equal(fetch.last().headers.Authorization, 'Bearer tok', 'the server must learn which session ends');
    assert.equal(storage.getItem(TOKEN_KEY), null);
    await sdk.auth.me();
    assert.equal(fetch.last().headers.Authorization, undefined);
  });

  test('logout clears the token even when the request fails', async () => {
    const storage = memoryStore({ [TOKEN_KEY]: 'tok' });
    const fetch = async () => {
      throw new TypeError('fetch failed');
    };
    const sdk = createSdk(API, 'k', { auth: 'token', fetch, storage });
    await assert.rejects(sdk.auth.logout(), { code: 'network_error' });
    assert.equal(storage.getItem(TOKEN_KEY), null);

    const storage2 = memoryStore({ [TOKEN_KEY]: 'tok' });
    const failing = sdkWith(() => json(401, { error: { code: 'not_signed_in', message: 'sign in first' } }), { storage: storage2 });
    await assert.rejects(failing.sdk.auth.logout(), { code: 'not_signed_in' });
    assert.equal(storage2.getItem(TOKEN_KEY), null);
  });

  test('logout closes the websocket', async () => {
    const WS = fakeWebSocket();
    const { sdk } = sdkWith(() => new Response(null, { status: 204 }), { WebSocket: WS });
    const conn = sdk.ws();
    WS.last().serverOpen();
    await sdk.auth.logout();
    assert.equal(conn.closed, true);
    assert.deepEqual(WS.last().closeCalls, [1000]);
  });
});

// ---------------------------------------------------------------------------------------------
// Errors

describe('errors', () => {
  test('a contract error body becomes a BackpackError with status, code, message and details', async () => {
    const { sdk } = sdkWith(() => json(400, { error: { code: 'invalid_query', message: 'unknown operator $where', details: { operator: '$where' } } }));
    const err = await sdk.db.getCollection('todos', { filter: { $where: '1' } }).catch((e) => e);
    assert.ok(err instanceof BackpackError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'BackpackError');
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_query');
    assert.equal(err.message, 'unknown operator $where');
    assert.deepEqual(err.details, { operator: '$where' });
  });

  test('a contract error without a message uses its code', async () => {
    const { sdk } = sdkWith(() => json(404, { error: { code: 'document_not_found' } }));
    await assert.rejects(sdk.db.getResource('todos', 'x'), { status: 404, code: 'document_not_found', message: 'document_not_found' });
  });

  test('a non-JSON or non-contract error becomes http_<status>', async () => {
    let { sdk } = sdkWith(() => new Response('<h1>Bad Gateway</h1>', { status: 502, statusText: 'Bad Gateway', headers: { 'Content-Type': 'text/html' } }));
    await assert.rejects(sdk.db.listCollections(), { name: 'BackpackError', status: 502, code: 'http_502', message: 'Bad Gateway' });
    ({ sdk } = sdkWith(() => json(500, { message: 'not the contract' })));
    await assert.rejects(sdk.db.listCollections(), { status: 500, code: 'http_500', message: 'request failed' });
    ({ sdk } = sdkWith(() => new Response(null, { status: 503 })));
    await assert.rejects(sdk.db.listCollections(), { status: 503, code: 'http_503' });
  });

  test('a network failure becomes network_error', async () => {
    const sdk = createSdk(API, 'k', {
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    const err = await sdk.db.listCollections().catch((e) => e);
    assert.ok(err instanceof BackpackError);
    assert.equal(err.status, 0);
    assert.equal(err.code, 'network_error');
    assert.match(err.message, /shop-be\.example\.com.*fetch failed/);
  });

  test('204 No Content resolves with null', async () => {
    const { sdk } = sdkWith(() => new Response(null, { status: 204 }));
    assert.equal(await sdk.db.deleteResource('todos', 'x'), null);
  });

  test('a timeout rejects with timeout (per call and SDK-wide)', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const fetch = hangingFetch();
    const sdk = createSdk(API, 'k', { fetch, timeout: 2000 });

    let settled = false;
    const p = sdk.db.listCollections({ timeout: 50 }).finally(() => {
      settled = true;
    });
    t.mock.timers.tick(49);
    await flush();
    assert.equal(settled, false);
    t.mock.timers.tick(1);
    const err = await p.catch((e) => e);
    assert.ok(err instanceof BackpackError);
    assert.equal(err.code, 'timeout');
    assert.equal(err.status, 0);
    assert.match(err.message, /50 ms/);

    const q = sdk.db.getResource('todos', 'x');
    t.mock.timers.tick(2000);
    await assert.rejects(q, { code: 'timeout', message: /2000 ms/ });
  });

  test('a timeout also covers a slow body', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const fetch = async (url, init) => {
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('[1,'));
          init.signal.addEventListener('abort', () => controller.error(init.signal.reason));
        },
      });
      return new Response(body, { status: 200, headers: { 'Content-Type': 'application/json' } });
    };
    const sdk = createSdk(API, 'k', { fetch, timeout: 100 });
    const p = sdk.db.listCollections();
    await flush();
    t.mock.timers.tick(100);
    await assert.rejects(p, { code: 'timeout' });
  });

  test('timeout 0 disables the timer', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { sdk } = sdkWith(undefined, { timeout: 0 });
    await sdk.db.listCollections();
    t.mock.timers.tick(60_000);
  });

  test("the caller's AbortSignal rejects with aborted", async () => {
    const fetch = hangingFetch();
    const sdk = createSdk(API, 'k', { fetch });
    const controller = new AbortController();
    const p = sdk.db.getCollection('todos', {}, { signal: controller.signal });
    controller.abort();
    const err = await p.catch((e) => e);
    assert.ok(err instanceof BackpackError);
    assert.equal(err.code, 'aborted');
    assert.equal(err.status, 0);

    await assert.rejects(sdk.auth.me({ signal: AbortSignal.abort() }), { code: 'aborted' });
    assert.equal(fetch.calls[1].init.signal.aborted, true, 'an already aborted signal reaches fetch aborted');
  });
});

// ---------------------------------------------------------------------------------------------
// Functions

describe('functions.call', () => {
  const text = (status, body, type = 'text/plain; charset=utf-8') => new Response(body, { status, headers: { 'Content-Type': type } });

  test('GET without a body, POST with one (as JSON), or the method asked for', async () => {
    const { sdk, fetch } = sdkWith();
    await sdk.functions.call('hello');
    let { url, init } = fetch.last();
    assert.equal(init.method, 'GET');
    assert.equal(url.pathname, '/fn/hello');
    assert.equal(init.body, undefined);
    assert.equal(init.headers['Content-Type'], undefined);

    await sdk.functions.call('hello', { name: 'Ann', n: [1, 2] });
    ({ url, init } = fetch.last());
    assert.equal(init.method, 'POST');
    assert.deepEqual(JSON.parse(init.body), { name: 'Ann', n: [1, 2] });
    assert.equal(init.headers['Content-Type'], 'application/json');

    await sdk.functions.call('hello', null);
    assert.equal(fetch.last().init.method, 'POST', 'null is a body');
    assert.equal(fetch.last().init.body, 'null');

    await sdk.functions.call('hello', { done: true }, { method: 'patch' });
    assert.equal(fetch.last().init.method, 'PATCH');
    await sdk.functions.call('hello', undefined, { method: 'DELETE' });
    assert.equal(fetch.last().init.method, 'DELETE');
    assert.equal(fetch.last().init.body, undefined);
  });

  test('sends the API key and the token like every call', async () => {
    const { sdk, fetch } = sdkWith(undefined, { storage: memoryStore({ [TOKEN_KEY]: 'tok-1' }) });
    await sdk.functions.call('hello');
    assert.equal(fetch.last().headers['X-API-Key'], 'key-123');
    assert.equal(fetch.last().headers.Authorization, 'Bearer tok-1');
    assert.equal(fetch.last().init.credentials, 'omit');
  });

  test('the path goes after the name, each segment encoded; query parameters are added', async () => {
    const { sdk, fetch } = sdkWith();
    const cases = [
      ['hello', 'orders/42', '/fn/hello/orders/42'],
      ['hello', '/orders/42', '/fn/hello/orders/42'],
      ['hello', '/', '/fn/hello'],
      ['hello', '', '/fn/hello'],
      ['hello', 'a b/c?d#e/ü', '/fn/hello/a%20b/c%3Fd%23e/%C3%BC'],
      ['hello', '%2e%2e/x', '/fn/hello/%252e%252e/x'],
      ['hello', 'a//b/', '/fn/hello/a//b/'],
      ['a/b?c', undefined, '/fn/a%2Fb%3Fc'],
    ];
    for (const [name, path, want] of cases) {
      await sdk.functions.call(name, undefined, { path });
      assert.equal(fetch.last().url.pathname, want, `${name} ${path}`);
      assert.equal(fetch.last().url.search, '');
    }
    await sdk.functions.call('search', undefined, { path: 'items', query: { q: 'a&b', page: 2, filter: { x: 1 }, skip: undefined } });
    const u = fetch.last().url;
    assert.equal(u.pathname, '/fn/search/items');
    assert.deepEqual(Object.fromEntries(u.searchParams), { q: 'a&b', page: '2', filter: '{"x":1}' });
  });

  test('refuses "." and ".." segments, a missing name and a body on GET, sending nothing', async () => {
    const { sdk, fetch } = sdkWith();
    for (const path of ['..', '../admin', 'a/../../b', '.', 'a/./b', '/..']) {
      await assert.rejects(sdk.functions.call('hello', undefined, { path }), { name: 'BackpackError', status: 0, code: 'invalid_argument', message: /"\." or "\.\."/ }, path);
    }
    for (const name of ['', '.', '..', undefined, 42]) {
      await assert.rejects(sdk.functions.call(name), { code: 'invalid_argument', message: /function name/ }, String(name));
    }
    await assert.rejects(sdk.functions.call('hello', undefined, { path: 42 }), { code: 'invalid_argument', message: /path must be a string/ });
    await assert.rejects(sdk.functions.call('hello', { a: 1 }, { method: 'GET' }), { code: 'invalid_argument', message: /GET request cannot have a body/ });
    await assert.rejects(sdk.functions.call('hello', '', { method: 'head' }), { code: 'invalid_argument', message: /HEAD/ });
    assert.equal(fetch.calls.length, 0);
  });

  test('resolves with parsed JSON for JSON answers and with text for others', async () => {
    const answers = [
      [json(200, { hello: 'Ann' }), { hello: 'Ann' }],
      [json(201, [1, 'two']), [1, 'two']],
      [text(200, '42', 'application/json'), 42],
      [text(200, '"quoted"', 'application/json; charset=utf-8'), 'quoted'],
      [text(200, '{"a":1}', 'application/problem+json'), { a: 1 }],
      [text(200, 'null', 'application/json'), null],
      [text(200, '', 'application/json'), null],
      [text(200, '<p>hi</p>', 'text/html'), '<p>hi</p>'],
      [text(200, '{"looks":"like json"}'), '{"looks":"like json"}'],
      [new Response('no type'), 'no type'],
      [new Response(null, { status: 204 }), null],
    ];
    for (const [res, want] of answers) {
      const { sdk } = sdkWith(() => res);
      assert.deepEqual(await sdk.functions.call('hello'), want, res.headers.get('Content-Type'));
    }
  });

  test('an answer that says JSON but is not rejects with invalid_json', async () => {
    const { sdk } = sdkWith(() => text(200, '{oops', 'application/json'));
    await assert.rejects(sdk.functions.call('hello'), { name: 'BackpackError', status: 200, code: 'invalid_json', message: /\{oops/ });
  });

  test("errors reject with the answer's status and code, HttpError's included", async () => {
    const cases = [
      [404, 'function_not_found', 'no function named nope'],
      [504, 'function_timeout', 'the function ran longer than 5000 ms'],
      [500, 'function_error', 'the function failed'],
      [402, 'payment_required', 'pay first'],
    ];
    for (const [status, code, message] of cases) {
      const { sdk } = sdkWith(() => json(status, { error: { code, message, details: { function: 'nope' } } }));
      const err = await sdk.functions.call('nope', { a: 1 }).catch((e) => e);
      assert.ok(err instanceof BackpackError, code);
      assert.equal(err.status, status);
      assert.equal(err.code, code);
      assert.equal(err.message, message);
      assert.deepEqual(err.details, { function: 'nope' });
    }
    const { sdk } = sdkWith(() => text(502, 'Bad Gateway', 'text/html'));
    await assert.rejects(sdk.functions.call('hello'), { status: 502, code: 'http_502' });
  });

  test('takes a signal and a timeout like other calls', async (t) => {
    const fetch = hangingFetch();
    const sdk = createSdk(API, 'k', { fetch });
    await assert.rejects(sdk.functions.call('hello', undefined, { signal: AbortSignal.abort() }), { code: 'aborted' });
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const p = sdk.functions.call('slow', { a: 1 }, { timeout: 30 });
    t.mock.timers.tick(30);
    await assert.rejects(p, { code: 'timeout', message: /30 ms/ });
  });
});

describe('websocket call', () => {
  test('actions.call sends the function and payload and resolves with the response', async () => {
    const { conn, socket } = connect();
    socket().serverOpen();
    const p = conn.actions.call('hello', { name: 'Ann' });
    const q = conn.actions.call('ping');
    assert.deepEqual(socket().sent.map(({ requestId, ...m }) => m), [
      { action: 'call', function: 'hello', payload: { name: 'Ann' } },
      { action: 'call', function: 'ping' },
    ]);
    socket().serverSend({ action: 'call', requestId: socket().sent[0].requestId, response: { hello: 'Ann' } });
    socket().serverSend({ action: 'call', requestId: socket().sent[1].requestId, response: 'pong' });
    assert.deepEqual(await p, { hello: 'Ann' });
    assert.equal(await q, 'pong');
  });

  test("a function's error reply rejects with its code", async () => {
    const { conn, socket } = connect();
    socket().serverOpen();
    const p = conn.actions.call('guarded', {});
    socket().serverSend({ action: 'error', requestId: 'r1', error: { code: 'payment_required', message: 'pay first' } });
    await assert.rejects(p, { name: 'BackpackError', status: 0, code: 'payment_required', message: 'pay first' });
  });
});

// ---------------------------------------------------------------------------------------------
// Websocket

describe('websocket', () => {
  test('the URL carries the API key and, in token mode, the token', () => {
    let { WS } = connect();
    assert.equal(WS.last().url, 'wss://shop-be.example.com/ws?apiKey=key-123');
    ({ WS } = connect({ url: 'http://shop-be.localhost:8080', apiKey: 'k&1', token: () => 'tok/1' }));
    const u = new URL(WS.last().url);
    assert.equal(u.protocol, 'ws:');
    assert.equal(u.host, 'shop-be.localhost:8080');
    assert.equal(u.pathname, '/ws');
    assert.equal(u.searchParams.get('apiKey'), 'k&1');
    assert.equal(u.searchParams.get('token'), 'tok/1');
  });

  test('sdk.ws() passes the stored token, and not in cookie mode', () => {
    const WS = fakeWebSocket();
    const storage = memoryStore({ [TOKEN_KEY]: 'tok-9' });
    sdkWith(undefined, { WebSocket: WS, storage }).sdk.ws();
    assert.equal(WS.last().url, 'wss://shop-be.example.com/ws?apiKey=key-123&token=tok-9');
    sdkWith(undefined, { WebSocket: WS, storage, auth: 'cookie' }).sdk.ws();
    assert.equal(WS.last().url, 'wss://shop-be.example.com/ws?apiKey=key-123');
  });

  test('sdk.ws() returns one shared connection until it is closed', () => {
    const WS = fakeWebSocket();
    const { sdk } = sdkWith(undefined, { WebSocket: WS });
    const a = sdk.ws();
    assert.equal(sdk.ws(), a);
    assert.equal(WS.all.length, 1);
    a.close();
    const b = sdk.ws();
    assert.notEqual(b, a);
    assert.equal(WS.all.length, 2);
  });

  test('without a WebSocket implementation ws() explains what to pass', () => {
    assert.equal(typeof globalThis.WebSocket, 'undefined', 'Node 20 has no global WebSocket');
    const { sdk } = sdkWith();
    assert.throws(() => sdk.ws(), { name: 'TypeError', message: /options\.WebSocket/ });
  });

  test('requests made before open are queued and flushed on open', async () => {
    const { conn, socket } = connect();
    assert.equal(conn.status, 'connecting');
    const p1 = conn.actions.createResource('todos', { title: 'a' });
    const p2 = conn.actions.findResource('todos', { done: false });
    assert.deepEqual(socket().sent, []);
    socket().serverOpen();
    assert.equal(conn.status, 'open');
    assert.deepEqual(socket().sent, [
      { action: 'create', requestId: 'r1', collection: 'todos', data: { title: 'a' } },
      { action: 'find', requestId: 'r2', collection: 'todos', query: { done: false } },
    ]);
    socket().serverSend({ action: 'create', requestId: 'r1', response: { _id: 'd1', title: 'a' } });
    socket().serverSend({ action: 'find', requestId: 'r2', response: [] });
    assert.deepEqual(await p1, { _id: 'd1', title: 'a' });
    assert.deepEqual(await p2, []);
  });

  test('find and getAll pass sort, limit and skip when given', () => {
    const { conn, socket } = connect();
    socket().serverOpen();
    conn.actions.findResource('c', { n: 1 }, { sort: '-n', limit: 5, skip: 10 });
    conn.actions.getCollection('c', { limit: 2 });
    const sent = socket().sent.map(({ requestId, ...m }) => m);
    assert.deepEqual(sent, [
      { action: 'find', collection: 'c', query: { n: 1 }, sort: '-n', limit: 5, skip: 10 },
      { action: 'getAll', collection: 'c', limit: 2 },
    ]);
  });

  test('every action sends the contract message', () => {
    const { conn, socket } = connect();
    socket().serverOpen();
    const a = conn.actions;
    a.findResource('c');
    a.getCollection('c');
    a.getResource('c', 'i');
    a.createResource('c', { x: 1 });
    a.overwriteResource('c', 'i', { x: 2 });
    a.updateResource('c', 'i', { y: 3 });
    a.deleteResource('c', 'i');
    a.joinUsersChannels('info');
    a.createChannel('info', 'rooms', 'General');
    a.joinChannel('info', 'rooms', 'ch1');
    a.leaveChannel('info', 'rooms', 'ch1');
    a.changeChannel('info', 'rooms', 'ch1');
    a.deleteChannel('info', 'messages', 'rooms', 'ch1');
    a.call('hello', { n: 1 });
    a.send('typing', { channelType: 'rooms', channelId: 'ch1' });
    const sent = socket().sent.map(({ requestId, ...m }) => m);
    assert.deepEqual(sent, [
      { action: 'find', collection: 'c', query: {} },
      { action: 'getAll', collection: 'c' },
      { action: 'getOne', collection: 'c', id: 'i' },
      { action: 'create', collection: 'c', data: { x: 1 } },
      { action: 'update', collection: 'c', id: 'i', data: { x: 2 } },
      { action: 'patch', collection: 'c', id: 'i', data: { y: 3 } },
      { action: 'delete', collection: 'c', id: 'i' },
      { action: 'joinUsersChannels', usersInformationCollection: 'info' },
      { action: 'createChannel', usersInformationCollection: 'info', channelType: 'rooms', name: 'General' },
      { action: 'joinChannel', usersInformationCollection: 'info', channelType: 'rooms', channelId: 'ch1' },
      { action: 'leaveChannel', usersInformationCollection: 'info', channelType: 'rooms', channelId: 'ch1' },
      { action: 'changeChannel', usersInformationCollection: 'info', channelType: 'rooms', channelId: 'ch1' },
      { action: 'deleteChannel', usersInformationCollection: 'info', channelMessagesCollection: 'messages', channelType: 'rooms', channelId: 'ch1' },
      { action: 'call', function: 'hello', payload: { n: 1 } },
      { action: 'typing', channelType: 'rooms', channelId: 'ch1' },
    ]);
    assert.equal(new Set(socket().sent.map((m) => m.requestId)).size, 15, 'request ids are unique');
  });

  test('send cannot override the action or requestId with its payload', () => {
    const { conn, socket } = connect();
    socket().serverOpen();
    conn.actions.send('typing', { action: 'delete', requestId: 'mine' });
    assert.equal(socket().sent[0].action, 'typing');
    assert.equal(socket().sent[0].requestId, 'r1');
  });

  test('replies resolve the promise of their requestId, in any order', async () => {
    const { conn, socket } = connect();
    socket().serverOpen();
    const a = conn.actions.getResource('todos', 'a');
    const b = conn.actions.getResource('todos', 'b');
    const c = conn.actions.send('getAll', { collection: 'todos' });
    const [ra, rb, rc] = socket().sent.map((m) => m.requestId);
    socket().serverSend({ action: 'getAll', requestId: rc, collection: 'todos', response: [{ _id: 'a' }] });
    socket().serverSend({ action: 'getOne', requestId: rb, response: { _id: 'b' } });
    socket().serverSend({ action: 'getOne', requestId: ra, response: { _id: 'a' } });
    assert.deepEqual(await a, { _id: 'a' });
    assert.deepEqual(await b, { _id: 'b' });
    assert.deepEqual(await c, { action: 'getAll', requestId: rc, collection: 'todos', response: [{ _id: 'a' }] }, 'send resolves with the whole reply');
  });

  test('error replies reject with a BackpackError carrying the code', async () => {
    const { conn, socket } = connect();
    socket().serverOpen();
    const p = conn.actions.getResource('todos', 'nope');
    socket().serverSend({ action: 'error', requestId: 'r1', error: { code: 'document_not_found', message: 'no such document', details: { id: 'nope' } } });
    const err = await p.catch((e) => e);
    assert.ok(err instanceof BackpackError);
    assert.equal(err.code, 'document_not_found');
    assert.equal(err.message, 'no such document');
    assert.deepEqual(err.details, { id: 'nope' });
    assert.equal(err.status, 0);
  });

  test('broadcasts reach on(action) and "*" handlers, replies do not', async () => {
    const { conn, socket } = connect();
    socket().serverOpen();
    const seen = { create: [], update: [], all: [] };
    conn.on('create', (m) => seen.create.push(m));
    conn.on('update', (m) => seen.update.push(m));
    conn.on('*', (m) => seen.all.push(m.action));
    const created = { action: 'create', collection: 'todos', response: { _id: 'd1' } };
    socket().serverSend(created);
    socket().serverSend({ action: 'typing', sender: 'u2', channelId: 'c1' });
    const p = conn.actions.createResource('todos', {});
    socket().serverSend({ action: 'create', requestId: 'r1', response: { _id: 'd2' } });
    await p;
    socket().serverSend('not json{');
    assert.deepEqual(seen.create, [created]);
    assert.deepEqual(seen.update, []);
    assert.deepEqual(seen.all, ['create', 'typing']);
  });

  test('off and the returned unsubscribe function remove handlers', () => {
    const { conn, socket } = connect();
    socket().serverOpen();
    const got = [];
    const h1 = (m) => got.push('h1:' + m.action);
    const h2 = (m) => got.push('h2:' + m.action);
    conn.on('delete', h1);
    const unsubscribe = conn.on('delete', h2);
    socket().serverSend({ action: 'delete', response: {} });
    conn.off('delete', h1);
    socket().serverSend({ action: 'delete', response: {} });
    unsubscribe();
    socket().serverSend({ action: 'delete', response: {} });
    conn.off('never-subscribed', h1);
    assert.deepEqual(got, ['h1:delete', 'h2:delete', 'h2:delete']);
  });

  test('a throwing handler does not stop the others; its error is rethrown asynchronously', () => {
    const { conn, socket, clock } = connect();
    socket().serverOpen();
    const got = [];
    conn.on('create', () => {
      throw new Error('handler bug');
    });
    conn.on('create', () => got.push('second'));
    socket().serverSend({ action: 'create', response: {} });
    assert.deepEqual(got, ['second']);
    assert.throws(() => clock.fire(0), /handler bug/);
  });

  test('status events: connecting, open, closed; close events carry the code', () => {
    const { conn, socket, clock } = connect();
    const statuses = [];
    const closes = [];
    conn.on('status', (s) => statuses.push(s));
    conn.on('close', (e) => closes.push(e));
    assert.equal(conn.status, 'connecting');
    socket().serverOpen();
    socket().serverClose(1006, 'gone');
    assert.equal(conn.status, 'closed');
    assert.equal(conn.closed, false, 'closed only means closed for good');
    clock.fire(100);
    assert.equal(conn.status, 'connecting');
    socket().serverOpen();
    assert.deepEqual(statuses, ['open', 'closed', 'connecting', 'open']);
    assert.deepEqual(closes, [{ code: 1006, reason: 'gone' }]);
  });

  test('when the socket closes, pending requests reject with connection_lost', async () => {
    const { conn, socket, clock } = connect();
    socket().serverOpen();
    const p1 = conn.actions.getResource('todos', 'a');
    const p2 = conn.actions.send('getAll', { collection: 'todos' });
    socket().serverClose(1006);
    await assert.rejects(p1, { name: 'BackpackError', code: 'connection_lost' });
    await assert.rejects(p2, { code: 'connection_lost' });
    assert.deepEqual(clock.delays(), [100], 'request timers are cleared; only the reconnect remains');
  });

  test('a request without a reply rejects with timeout', async () => {
    const { conn, socket, clock } = connect();
    socket().serverOpen();
    const p = conn.actions.send('typing', {});
    assert.ok(clock.fire(REQUEST_TIMEOUT));
    await assert.rejects(p, { code: 'timeout', message: /typing/ });
  });

  test('a reply after the timeout is dropped, not taken for a broadcast', async () => {
    const { conn, socket, clock } = connect();
    socket().serverOpen();
    const got = [];
    conn.on('create', (m) => got.push(m));
    conn.on('*', (m) => got.push(m));
    const p = conn.actions.createResource('todos', {});
    clock.fire(REQUEST_TIMEOUT);
    await assert.rejects(p, { code: 'timeout' });
    socket().serverSend({ action: 'create', requestId: 'r1', response: { _id: 'late' } });
    socket().serverSend({ action: 'error', requestId: 'r1', error: { code: 'x', message: 'y' } });
    assert.deepEqual(got, []);
  });

  test('a request queued when the connection drops is rejected and never sent later', async () => {
    const { conn, socket, clock } = connect();
    const p = conn.actions.createResource('todos', { title: 'once' });
    socket().serverClose(1006); // the first connection attempt fails
    await assert.rejects(p, { code: 'connection_lost' });
    clock.fire(100);
    socket().serverOpen();
    assert.deepEqual(socket().sent, [], 'the caller was told it failed: it must not run');
  });

  test('a queued request that times out is never sent', async () => {
    const { conn, socket, clock } = connect();
    socket().serverOpen();
    socket().serverClose(1006);
    const p = conn.actions.createResource('todos', { title: 'once' });
    assert.ok(clock.fire(REQUEST_TIMEOUT));
    await assert.rejects(p, { code: 'timeout' });
    clock.fire(100);
    socket().serverOpen();
    assert.deepEqual(socket().sent, []);
  });

  test('reconnects after reconnectDelay with growing delays, reset after a success', () => {
    const { conn, WS, socket, clock } = connect();
    const delays = [];
    for (let i = 0; i < 6; i++) {
      socket().serverClose(1006);
      assert.equal(clock.timers.size, 1);
      delays.push(clock.delays()[0]);
      const before = WS.all.length;
      assert.ok(clock.fire(delays[i]));
      assert.equal(WS.all.length, before + 1, 'a new socket after the delay');
    }
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
    socket().serverOpen();
    socket().serverClose(1006);
    assert.deepEqual(clock.delays(), [100]);
    assert.equal(conn.closed, false);
  });

  test('reconnect delays are jittered by random', () => {
    const { socket, clock } = connect({ random: () => 0 });
    socket().serverClose(1006);
    assert.deepEqual(clock.delays(), [50]);
  });

  test('the token is read again at each reconnect', () => {
    let token = 'old';
    const { socket, clock } = connect({ token: () => token });
    assert.equal(new URL(socket().url).searchParams.get('token'), 'old');
    token = 'new';
    socket().serverClose(1006);
    clock.fire(100);
    assert.equal(new URL(socket().url).searchParams.get('token'), 'new');
  });

  test('after a reconnect it rejoins every users-information collection it used', async () => {
    const { conn, socket, clock } = connect();
    socket().serverOpen();
    const a = conn.actions;
    a.joinUsersChannels('infoA');
    a.createChannel('infoB', 'rooms', 'General');
    a.joinChannel('infoC', 'rooms', 'ch1');
    a.joinChannel('infoA', 'rooms', 'ch2');
    a.leaveChannel('infoD', 'rooms', 'ch1');
    a.changeChannel('infoE', 'rooms', 'ch1');
    a.findResource('todos').catch(() => {});
    for (const m of socket().sent) socket().serverSend({ action: m.action, requestId: m.requestId, response: {} });
    socket().serverClose(1006);
    clock.fire(100);
    socket().serverOpen();
    const rejoined = socket().sent.map(({ requestId, ...m }) => m);
    assert.deepEqual(rejoined, [
      { action: 'joinUsersChannels', usersInformationCollection: 'infoA' },
      { action: 'joinUsersChannels', usersInformationCollection: 'infoB' },
      { action: 'joinUsersChannels', usersInformationCollection: 'infoC' },
    ]);
    // Rejoin replies, or their failures, do not surface anywhere.
    socket().serverSend({ action: 'error', requestId: socket().sent[0].requestId, error: { code: 'not_signed_in', message: 'x' } });
    await flush();
  });

  test('after a reconnect channels are rejoined before the queued requests are sent', () => {
    const { conn, socket, clock } = connect();
    socket().serverOpen();
    conn.actions.joinUsersChannels('info').catch(() => {});
    socket().serverSend({ action: 'joinUsersChannels', requestId: 'r1', response: [] });
    socket().serverClose(1006);
    clock.fire(100);
    conn.actions.createResource('messages', { text: 'hi' }).catch(() => {});
    socket().serverOpen();
    assert.deepEqual(socket().sent.map((m) => m.action), ['joinUsersChannels', 'create']);
  });

  for (const code of [4001, 1008, 1009]) {
    test(`close code ${code} stops reconnecting`, async () => {
      const { conn, WS, socket, clock } = connect();
      socket().serverOpen();
      socket().serverClose(code);
      assert.equal(clock.timers.size, 0);
      assert.equal(conn.closed, true);
      assert.equal(conn.status, 'closed');
      assert.equal(WS.all.length, 1);
      await assert.rejects(conn.actions.getCollection('todos'), { code: 'closed' });
    });
  }

  for (const code of [1000, 1001, 1006, 1011, 1013]) {
    test(`close code ${code} from the server reconnects`, () => {
      const { conn, WS, socket, clock } = connect();
      socket().serverOpen();
      socket().serverClose(code);
      assert.equal(conn.closed, false);
      assert.ok(clock.fire(100));
      assert.equal(WS.all.length, 2);
    });
  }

  test('close() closes the socket with 1000 and stops reconnecting', async () => {
    const { conn, WS, socket, clock } = connect();
    const closes = [];
    conn.on('close', (e) => closes.push(e.code));
    socket().serverOpen();
    const pending = conn.actions.getCollection('todos');
    conn.close();
    assert.deepEqual(socket().closeCalls, [1000]);
    assert.equal(conn.closed, true);
    assert.equal(conn.status, 'closed');
    assert.equal(clock.timers.size, 0);
    assert.equal(WS.all.length, 1);
    assert.deepEqual(closes, [1000]);
    await assert.rejects(pending, { code: 'connection_lost' });
    await assert.rejects(conn.actions.send('x'), { code: 'closed' });
  });

  test('close() while waiting to reconnect cancels the reconnect', () => {
    const { conn, WS, socket, clock } = connect();
    socket().serverOpen();
    socket().serverClose(1006);
    assert.equal(clock.timers.size, 1);
    conn.close();
    assert.equal(clock.timers.size, 0);
    assert.equal(conn.closed, true);
    assert.equal(conn.status, 'closed');
    assert.equal(WS.all.length, 1);
  });

  test('SdkOptions.reconnect and timeout reach the connection', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const WS = fakeWebSocket();
    const { sdk } = sdkWith(undefined, { WebSocket: WS, timeout: 300, reconnect: { baseDelay: 40, maxDelay: 40 } });
    const conn = sdk.ws();
    WS.last().serverOpen();
    const p = conn.actions.getCollection('todos');
    t.mock.timers.tick(300);
    await assert.rejects(p, { code: 'timeout' });
    WS.last().serverClose(1006);
    t.mock.timers.tick(40); // the delay is between 20 and 40 ms
    assert.equal(WS.all.length, 2);
    conn.close();
  });
});

// ---------------------------------------------------------------------------------------------
// reconnectDelay

describe('reconnectDelay', () => {
  test('stays between cap/2 and cap, cap = min(maxDelay, baseDelay·2^attempt)', () => {
    for (const [baseDelay, maxDelay] of [[500, 30000], [100, 1000], [1, 7]]) {
      for (let attempt = 0; attempt < 40; attempt++) {
        const cap = Math.min(maxDelay, baseDelay * 2 ** attempt);
        for (const r of [0, 0.25, 0.5, 0.999, 1]) {
          const d = reconnectDelay(attempt, { baseDelay, maxDelay, random: () => r });
          assert.ok(d >= Math.floor(cap / 2) && d <= cap, `attempt ${attempt} r ${r}: ${d} not in [${cap / 2}, ${cap}]`);
        }
      }
    }
  });

  test('defaults: 500 ms base, 30 s cap', () => {
    assert.equal(reconnectDelay(0, { random: () => 0 }), 250);
    assert.equal(reconnectDelay(0, { random: () => 1 }), 500);
    assert.equal(reconnectDelay(3, { random: () => 1 }), 4000);
    assert.equal(reconnectDelay(50, { random: () => 1 }), 30000);
    assert.equal(reconnectDelay(50, { random: () => 0 }), 15000);
    for (let i = 0; i < 200; i++) {
      const d = reconnectDelay(i % 12);
      assert.ok(Number.isInteger(d) && d >= 250 && d <= 30000);
    }
  });

  test('grows with the attempt until the cap', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6, 7].map((a) => reconnectDelay(a, { baseDelay: 100, maxDelay: 5000, random: () => 1 }));
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  });
});

test('createConnection without a WebSocket implementation throws a TypeError', () => {
  assert.throws(() => createConnection({ url: API, apiKey: 'k', token: () => null }), TypeError);
});
