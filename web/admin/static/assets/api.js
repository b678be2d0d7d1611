// The control plane's API as the panel uses it: JSON in and out, the session cookie sent by
// the browser, the CSRF token added to every state-changing request, and errors turned into
// ApiError with a sentence a person can act on.

/** ApiError is a failed request: the contract's {code, message, details} and the status. */
export class ApiError extends Error {
  constructor(status, code, message, details, retryAfter) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details || {};
    this.retryAfter = retryAfter;
  }
}

let signedOut = () => {};
/** onSignedOut sets what happens when the API says the session is gone. */
export function onSignedOut(fn) { signedOut = fn; }

/**
 * csrfToken reads the session's CSRF token from its cookie: __Host-bkpk_csrf when the panel is
 * served over https (a name no other host of the domain can set), bkpk_csrf over plain http.
 */
export function csrfToken() {
  for (const name of ['__Host-bkpk_csrf', 'bkpk_csrf']) {
    const m = document.cookie.match(new RegExp('(?:^|;\\s*)' + name + '=([^;]+)'));
    if (m) return decodeURIComponent(m[1]);
  }
  return '';
}

const safe = new Set(['GET', 'HEAD', 'OPTIONS']);

/** headersFor gives the headers a request of this method needs. */
function headersFor(method, json) {
  const headers = {Accept: 'application/json'};
  if (json) headers['Content-Type'] = 'application/json';
  if (!safe.has(method)) headers['X-CSRF-Token'] = csrfToken();
  return headers;
}

/**
 * send sends one API call and resolves with the Response, whatever its status, for the callers
 * that read an answer themselves. body is sent as JSON unless it is a Blob or FormData. A
 * network failure rejects with ApiError network_error.
 */
export async function send(method, path, body, {signal} = {}) {
  const raw = body instanceof Blob || body instanceof FormData;
  try {
    return await fetch(path, {
      method,
      headers: headersFor(method, body !== undefined && !raw),
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', 'Could not reach the Backpack server. Check your connection and try again.');
  }
}

/**
 * request sends one API call. It resolves with {status, headers, data} (data is the parsed
 * JSON, or null) and rejects with ApiError.
 */
export async function request(method, path, body, opts) {
  return parse(await send(method, path, body, opts));
}

/**
 * fromBackend says whether an answer came from a backend's admin port through the proxy (which
 * sandboxes every answer it relays) rather than from the control plane itself. A function's
 * own error can carry any code, not_signed_in included, and must not sign the developer out.
 */
export function fromBackend(res) {
  return (res.headers.get('Content-Security-Policy') || '').includes('sandbox');
}

/**
 * sessionGone says whether an error code means the panel is signed out: no session, or two
 * session cookies (one planted by another host of the domain), which the server has cleared.
 */
function sessionGone(code) {
  return code === 'not_signed_in' || code === 'ambiguous_session';
}

/** parse reads a response as the contract shapes it. */
export async function parse(res) {
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    const err = new ApiError(res.status, e.code || `http_${res.status}`, e.message || res.statusText || 'Request failed',
      e.details, res.headers.get('Retry-After'));
    if (sessionGone(err.code)) signedOut();
    throw err;
  }
  return {status: res.status, headers: res.headers, data};
}

export const get = (path, opts) => request('GET', path, undefined, opts).then((r) => r.data);
export const post = (path, body, opts) => request('POST', path, body, opts).then((r) => r.data);
export const patch = (path, body, opts) => request('PATCH', path, body, opts).then((r) => r.data);
export const put = (path, body, opts) => request('PUT', path, body, opts).then((r) => r.data);
export const del = (path, opts) => request('DELETE', path, undefined, opts).then((r) => r.data);

/** backendPath is the API path of a backend, with an optional rest: backendPath('shop', '/site'). */
export function backendPath(name, rest = '') {
  return `/api/backends/${encodeURIComponent(name)}${rest}`;
}

/** adminPath reaches a backend's admin port through the control plane's proxy. */
export function adminPath(name, rest) {
  return backendPath(name, `/admin${rest}`);
}

/**
 * latestOnly gives each new load of a list a signal that abandons the load before it (and ends
 * with parent), so a slow answer can never overwrite a newer one.
 */
export function latestOnly(parent) {
  let current = null;
  return () => {
    if (current) current.abort();
    current = new AbortController();
    return AbortSignal.any([parent, current.signal]);
  };
}

/** isAbort says whether an error only means the request was abandoned (its view was left). */
export function isAbort(e) {
  return !!e && e.name === 'AbortError';
}

/**
 * stillSignedIn asks whether the session lasts, after a stream or socket was refused: when it
 * has ended, the panel goes to the sign-in page (through onSignedOut) and this resolves false.
 */
export async function stillSignedIn() {
  try {
    await get('/api/auth/me');
    return true;
  } catch (e) {
    return !(e instanceof ApiError && sessionGone(e.code));
  }
}

/** reachable says whether a backend's admin port (data, users, files, site, key) can be used in its state. */
export function reachable(b) {
  return b.state === 'running' || b.state === 'degraded';
}

const plain = {
  network_error: null,
  not_signed_in: 'You are signed out. Sign in again to continue.',
  ambiguous_session: 'Your browser sent two sign-in cookies (another site on this domain may have set one). Both were removed: sign in again.',
  invalid_credentials: 'That email and password do not match an account.',
  email_taken: 'An account with this email already exists. Sign in instead.',
  registration_closed: 'Registration is closed on this server. Ask its operator for an account.',
  invite_invalid: 'This server needs a valid invite to register. Check the code, or ask the operator for a new one (it may be used, expired or for another email).',
  csrf_failed: 'Your session\'s security token is missing or stale. Reload the page and try again.',
  forbidden: 'Only the operator can do this.',
  name_taken: 'That name is already in use. Pick another one.',
  quota_exceeded: null,
  backend_not_found: 'There is no such backend, or it is not yours.',
  backend_unreachable: 'The backend did not answer. It may be restarting; try again in a moment.',
  payload_too_large: 'That is too large to send.',
  collection_exists: 'A collection with this name already exists.',
  collection_not_found: 'That collection no longer exists.',
  document_not_found: 'That document no longer exists.',
  user_not_found: 'That user no longer exists.',
  file_not_found: 'That file no longer exists.',
  no_earlier_release: 'There is no earlier release to roll back to.',
  function_not_found: 'That function no longer exists.',
  backup_not_found: 'That backup no longer exists.',
  restore_in_progress: 'A restore of this backend is already running. Wait for it to end, then try again.',
  backup_not_ready: 'This backup is still being taken, or it failed: only a ready backup can be used.',
  backup_in_progress: 'A backup of this backend is being taken. Wait for it to end, then try again.',
  timeout: 'The server took too long to answer. Try again.',
};

const notReady = {
  creating: 'The backend is still being created',
  failed: 'The backend failed to start (Backpack keeps retrying)',
  deleting: 'The backend is being deleted',
  deleted: 'The backend is deleted',
};

/** describe turns an error into a sentence for a person: what went wrong and what to do. */
export function describe(err) {
  if (!(err instanceof ApiError)) return `Something went wrong: ${err && err.message ? err.message : err}`;
  switch (err.code) {
    case 'too_many_attempts':
      return `Too many failed attempts. Try again in ${err.retryAfter || 'a few'} seconds.`;
    case 'quota_exceeded':
      return `You already have as many backends as allowed (${err.details.limit}). Delete one with "purge" to make room.`;
    case 'backend_not_ready':
      return `${notReady[err.details.state] || 'The backend is not running yet'}; this works once it is running.`;
    case 'internal_error':
      return 'The server failed to do this. It has logged the cause; try again, or ask the operator.';
    default:
      return plain[err.code] || err.message;
  }
}
