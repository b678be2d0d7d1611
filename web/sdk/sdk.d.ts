// Type declarations for the Backpack JavaScript SDK, served as /sdk.d.ts next to /sdk.js (classic
// script, global createSdk) and /sdk.mjs (ES module). Save it next to your code, then either
// import from the module or rely on the globals it declares.

/** A JSON object as stored in a collection (before the server adds its fields). */
export type JsonObject = Record<string, unknown>;

/**
 * A stored document: your fields plus those the server manages. The server fields cannot be
 * set by clients (sending them is a 400 `protected_field`).
 */
export type Doc<T = JsonObject> = T & {
  /** 24-hex-digit id, set by the server. */
  _id: string;
  /** Id of the user who created it (absent for documents created on the admin port). */
  _owner?: string;
  /** RFC 3339 creation time. */
  _createdAt: string;
  /** RFC 3339 time of the last change. */
  _updatedAt: string;
};

/** A Mongo-style filter. Allowed operators: $eq $ne $gt $gte $lt $lte $in $nin $exists $and $or $not $regex ($options). */
export type Filter = Record<string, unknown>;

/** Paging and order for websocket reads: sort like "-createdAt,name"; limit 1–1000 (find defaults to 100, getAll to 1000). */
export interface WsListOptions {
  sort?: string;
  limit?: number;
  skip?: number;
}

/** Options every HTTP call accepts as its last argument. */
export interface CallOptions {
  /** Abort the call; it then rejects with a BackpackError of code `aborted`. */
  signal?: AbortSignal;
  /** Milliseconds before the call rejects with code `timeout` (default: the SDK's `timeout`, 15000). 0 disables it. */
  timeout?: number;
}

/** Options of uploadFile and overwriteFile. */
export interface UploadOptions extends CallOptions {
  /**
   * Upload progress, in bytes. Only reported in browsers (it needs XMLHttpRequest); elsewhere
   * the upload still works but the callback is never called.
   */
  onProgress?: (progress: { loaded: number; total: number }) => void;
}

/** What `db.getCollection` selects; every part is optional. */
export interface ListQuery {
  /** Mongo-style filter, sent as JSON in `?filter=`. */
  filter?: Filter;
  /** Comma-separated field names, `-` for descending: `"-createdAt,name"`. */
  sort?: string;
  /** At most this many documents (default 100, max 1000). */
  limit?: number;
  /** Skip this many documents first. */
  skip?: number;
  /** Only these fields (plus `_id`): an array or a comma-separated string. */
  fields?: string[] | string;
}

/** A collection's access rule (set on the admin port). */
export type CollectionRule = 'authenticated' | 'owner' | 'public-read';

/** A collection as `db.listCollections` and `db.createNewCollection` return it. */
export interface Collection {
  name: string;
  /** Who may read and write its documents. */
  rule: CollectionRule;
  /** RFC 3339 creation time. */
  _createdAt: string;
}

/** An end user of the backend. */
export interface User {
  _id: string;
  /** Trimmed and lower-cased. */
  email: string;
  _createdAt: string;
  _updatedAt?: string;
}

/** A stored file's metadata. */
export interface FileMeta {
  _id: string;
  /** The id of the user who uploaded it: pass it to `storage.getFile`. */
  owner: string;
  filename: string;
  bucket: string;
  /** Size in bytes. */
  size: number;
  contentType: string;
  _createdAt: string;
  _updatedAt: string;
}

/** Where the SDK keeps the bearer token in token mode; `localStorage` has this shape. */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Backoff of the websocket's automatic reconnection. */
export interface ReconnectOptions {
  /** First retry waits between baseDelay/2 and baseDelay ms (default 500); each failure doubles it. */
  baseDelay?: number;
  /** Upper bound of the wait in ms (default 30000). */
  maxDelay?: number;
}

/** A WebSocket constructor: the browser's (and Node 22's) global, or the `ws` package's in Node 20. */
export type WebSocketConstructor = new (url: string) => {
  onopen: ((ev: any) => any) | null;
  onmessage: ((ev: any) => any) | null;
  onclose: ((ev: any) => any) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
};

/** The third argument of createSdk. */
export interface SdkOptions {
  /** Default per-call timeout in ms (15000). Applies to HTTP calls and websocket replies. */
  timeout?: number;
  /**
   * How the session travels. `'cookie'`: the HttpOnly `bkpk_session` cookie (page and API on
   * the same site). `'token'`: a bearer token kept in `storage`. `'auto'` (default) picks cookie
   * when the page and the API are the same site, else token; outside browsers always token.
   */
  auth?: 'auto' | 'cookie' | 'token';
  /** A fetch implementation (default: the global fetch). */
  fetch?: typeof fetch;
  /** A WebSocket implementation for `ws()` (default: the global WebSocket). Node 20: `import WebSocket from 'ws'`. */
  WebSocket?: WebSocketConstructor;
  /** Where the token is kept in token mode (default: localStorage, else memory). */
  storage?: TokenStorage;
  /** Websocket reconnection backoff. */
  reconnect?: ReconnectOptions;
}

/** The database: collections and their documents, over HTTP. */
export interface DbModule {
  /** Creates a collection; its routes work at once. 409 `collection_exists`; 400 `invalid_name` if the name is invalid or reserved. */
  createNewCollection(name: string, opts?: CallOptions): Promise<Collection>;
  /** Lists the backend's collections with their rules. */
  listCollections(opts?: CallOptions): Promise<Collection[]>;
  /** Lists documents, optionally filtered, sorted, paged and projected. */
  getCollection<T = JsonObject>(collection: string, query?: ListQuery, opts?: CallOptions): Promise<Doc<T>[]>;
  /** One document; rejects with 404 `document_not_found` if it does not exist (or you may not see it). */
  getResource<T = JsonObject>(collection: string, id: string, opts?: CallOptions): Promise<Doc<T>>;
  /** Creates a document and returns it with its server fields. */
  createResource<T = JsonObject>(collection: string, data: T, opts?: CallOptions): Promise<Doc<T>>;
  /** Merges `data` into the document (PATCH): fields not sent stay. */
  updateResource<T = JsonObject>(collection: string, id: string, data: Partial<T>, opts?: CallOptions): Promise<Doc<T>>;
  /** Replaces the document (PUT): fields not sent are gone. */
  overwriteResource<T = JsonObject>(collection: string, id: string, data: T, opts?: CallOptions): Promise<Doc<T>>;
  /** Deletes the document and returns it. */
  deleteResource<T = JsonObject>(collection: string, id: string, opts?: CallOptions): Promise<Doc<T>>;
}

/** End-user accounts and the session. */
export interface AuthModule {
  /** Creates an account (password: 8 characters to 512 bytes). 409 `email_taken` if the email is in use. Does not sign in. */
  register(email: string, password: string, opts?: CallOptions): Promise<User>;
  /** Signs in and returns the user. Cookie mode sets the session cookie; token mode stores the token. 401 `invalid_credentials`; 429 `too_many_attempts` after repeated failures. */
  login(email: string, password: string, opts?: CallOptions): Promise<User>;
  /** Ends the session on the server, forgets the token and closes the websocket (the token is forgotten even if the request fails). */
  logout(opts?: CallOptions): Promise<void>;
  /** The signed-in user; rejects with 401 `not_signed_in` when nobody is. */
  me(opts?: CallOptions): Promise<User>;
  /** The session strategy in use. */
  readonly mode: 'cookie' | 'token';
}

/** A file to upload: a Blob or File (browsers: from an `<input type="file">`; Node: `new Blob([bytes])`). */
export type Uploadable = Blob;

/** File storage, per user. */
export interface StorageModule {
  /** A file's bytes, as a Blob with the recorded content type. */
  getFile(userId: string, filename: string, opts?: CallOptions): Promise<Blob>;
  /** Metadata of a user's files (of the signed-in user when `userId` is omitted). */
  getListOfUserFiles(userId?: string, opts?: CallOptions): Promise<FileMeta[]>;
  /** Uploads a file. `filename` defaults to the File's name; `bucket` groups files. */
  uploadFile(file: Uploadable, filename?: string, bucket?: string, opts?: UploadOptions): Promise<FileMeta>;
  /** Renames a file and/or moves it to another bucket. */
  updateFile(currentFilename: string, newFilename?: string, bucket?: string, opts?: CallOptions): Promise<FileMeta>;
  /** Replaces a file's content; its metadata is kept. */
  overwriteFile(file: Uploadable, filename: string, opts?: UploadOptions): Promise<FileMeta>;
  /** Deletes a file and returns its metadata. */
  deleteFile(filename: string, opts?: CallOptions): Promise<FileMeta>;
}

/** Options of `functions.call`: the HTTP request the function receives, and the usual call options. */
export interface FunctionCallOptions extends CallOptions {
  /** The request's method (`req.method`); default POST when a body is given, else GET. GET and HEAD cannot carry a body. */
  method?: string;
  /**
   * Appended to `/fn/NAME` (`req.path`): `'orders/42'` calls `/fn/NAME/orders/42`. Each segment
   * is URL-encoded as one segment (`?`, `#` and spaces included); `.` and `..` segments are
   * refused with `invalid_argument`.
   */
  path?: string;
  /** Query parameters (`req.query`); objects are sent as JSON, undefined and null ones are left out. */
  query?: Record<string, unknown>;
}

/**
 * Server-side functions of the backend (JavaScript deployed through the admin panel), reached at
 * `/fn/NAME` with the API key and the session, if any (the function sees it as `ctx.user`).
 */
export interface FunctionsModule {
  /**
   * Calls a function's `onRequest` handler and resolves with what it answered: the body parsed
   * when it is JSON, else as text (null for an empty answer). `body` is sent as JSON (`req.body`).
   * Rejects with a BackpackError: 404 `function_not_found`, 504 `function_timeout`, 500
   * `function_error` (the cause is in the function's logs), or the status and code of an
   * `HttpError` the function threw; `invalid_argument` (status 0, nothing sent) for a missing
   * name, a `.`/`..` path segment or a body on GET.
   */
  call<R = unknown>(name: string, body?: unknown, options?: FunctionCallOptions): Promise<R>;
}

/** The websocket's state. */
export type ConnectionStatus = 'connecting' | 'open' | 'closed';

/** Passed to `on('close')` handlers each time the socket closes. */
export interface CloseInfo {
  /** 1000 after close(); 4001 the session ended; 1008 too many messages; 1009 message too big; 1013 client too slow. */
  code?: number;
  reason?: string;
}

/** A message from the server: a reply, a broadcast or a relayed custom action. */
export interface BroadcastMessage<T = JsonObject> {
  /** `create`, `update`, `patch`, `delete` for writes; `createChannel`, `deleteChannel` for channels; or a custom action's name. */
  action: string;
  /** The collection written to (for channel actions, the channelType). */
  collection?: string;
  /** The written document (for `delete`, the deleted one). */
  response?: Doc<T>;
  /** Custom actions: the sender's user id, set by the server (your own messages come back to you too). */
  sender?: string;
  [key: string]: unknown;
}

/** The whole reply to a request sent with `actions.send`. */
export interface ReplyMessage<R = unknown> {
  action: string;
  requestId: string;
  response: R;
  [key: string]: unknown;
}

/** An `{action: 'error'}` message that answered no pending request. */
export interface ErrorMessage {
  action: 'error';
  requestId?: string;
  error: { code: string; message: string; details?: JsonObject };
}

/** A channel as listed in a user's information document. */
export interface ChannelMembership {
  channelType: string;
  channelId: string;
  name: string;
}

/** The user's information document in the users-information collection (one per user). */
export type UsersInformation = Doc<{
  currentChannel: { channelType: string; channelId: string } | null;
  channels: ChannelMembership[];
}>;

/** A channel document, stored in the collection named by its channelType. */
export type Channel = Doc<{ name: string }>;

/**
 * Requests over the websocket. Each resolves with the reply's `response` (except `send`) and
 * rejects with a BackpackError (`error` replies carry the server's code; `timeout`,
 * `connection_lost` if the socket closes first, `closed` after close()).
 * Requests made while the socket is (re)connecting are queued and sent once it opens; if that
 * attempt fails they reject with `connection_lost` and are not sent later.
 */
export interface ConnectionActions {
  /** Documents matching a filter. */
  findResource<T = JsonObject>(collection: string, query?: Filter, options?: WsListOptions): Promise<Doc<T>[]>;
  /** All documents of a collection (up to 1000). */
  getCollection<T = JsonObject>(collection: string, options?: WsListOptions): Promise<Doc<T>[]>;
  getResource<T = JsonObject>(collection: string, id: string): Promise<Doc<T>>;
  createResource<T = JsonObject>(collection: string, data: T): Promise<Doc<T>>;
  /** Replaces the document (fields not sent are gone). */
  overwriteResource<T = JsonObject>(collection: string, id: string, data: T): Promise<Doc<T>>;
  /** Merges into the document (fields not sent stay). */
  updateResource<T = JsonObject>(collection: string, id: string, data: Partial<T>): Promise<Doc<T>>;
  deleteResource<T = JsonObject>(collection: string, id: string): Promise<Doc<T>>;
  /** Subscribes this connection to the user's channels and lists them. Re-sent automatically after every reconnect. */
  joinUsersChannels(usersInformationCollection: string): Promise<ChannelMembership[]>;
  /** Creates a channel (a document in `channelType`), joins it and makes it current. */
  createChannel(usersInformationCollection: string, channelType: string, name: string): Promise<Channel>;
  /** Joins a channel and makes it current; returns the updated information document. */
  joinChannel(usersInformationCollection: string, channelType: string, channelId: string): Promise<UsersInformation>;
  /** Leaves a channel; returns the updated information document. */
  leaveChannel(usersInformationCollection: string, channelType: string, channelId: string): Promise<UsersInformation>;
  /** Makes a channel you are a member of current; returns the updated information document. */
  changeChannel(usersInformationCollection: string, channelType: string, channelId: string): Promise<UsersInformation>;
  /** Deletes a channel you created and its messages; returns the deleted channel. */
  deleteChannel(usersInformationCollection: string, channelMessagesCollection: string, channelType: string, channelId: string): Promise<Channel>;
  /**
   * Calls a server-side function's `onRequest` over the websocket (action `call`): the function
   * gets `payload` as `req.body` and the connection's user as `ctx.user`; resolves with the
   * body it answered. Errors reject with the function's code (`function_not_found`,
   * `function_timeout`, `function_error`, or a thrown `HttpError`'s).
   */
  call<R = unknown>(functionName: string, payload?: unknown): Promise<R>;
  /**
   * Sends any action and resolves with the whole reply message. A custom action (not one of the
   * above) is relayed to other signed-in connections, or the channel's members when the payload
   * has `channelType` and `channelId`, with `sender` set by the server; its reply's `response` is
   * `{relayed: true}`.
   */
  send<R = unknown>(action: string, payload?: JsonObject): Promise<ReplyMessage<R>>;
}

/** The realtime connection returned by `sdk.ws()`. It reconnects by itself with backoff. */
export interface Connection {
  readonly actions: ConnectionActions;
  /** Status changes: `'connecting'`, `'open'`, `'closed'` (the initial `'connecting'` happens before you can subscribe: read `status`). Returns an unsubscribe function. */
  on(event: 'status', handler: (status: ConnectionStatus) => void): () => void;
  /** Every time the socket closes, with its close code. */
  on(event: 'close', handler: (info: CloseInfo) => void): () => void;
  /** Error messages that answered no request of yours. */
  on(event: 'error', handler: (message: ErrorMessage) => void): () => void;
  /**
   * Broadcasts and relayed messages with this `action` (`create`, `update`, `patch`, `delete`,
   * `createChannel`, `deleteChannel`, or a custom one); `'*'` receives every message that is not
   * a reply. Returns an unsubscribe function.
   */
  on<T = JsonObject>(action: string, handler: (message: BroadcastMessage<T>) => void): () => void;
  /** Removes a handler added with `on`. */
  off(action: string, handler: (arg: any) => void): void;
  /** The current state. */
  readonly status: ConnectionStatus;
  /** True once closed for good: after `close()`, or a close code that retrying cannot fix (4001, 1008, 1009). */
  readonly closed: boolean;
  /** Closes the socket and stops reconnecting. Pending requests reject with `connection_lost`. */
  close(): void;
}

/** What createSdk returns. */
export interface BackpackSdk {
  db: DbModule;
  auth: AuthModule;
  storage: StorageModule;
  functions: FunctionsModule;
  /** The realtime connection, opened on the first call and shared until it is closed; a later call after close opens a new one. */
  ws(options?: ReconnectOptions): Connection;
}

/**
 * Connects to one backend's API.
 * @param url the backend's API URL, e.g. `https://shop-be.example.com`
 * @param apiKey the backend's API key (sent as `X-API-Key`)
 */
export function createSdk(url: string, apiKey: string, options?: SdkOptions): BackpackSdk;

/** Every failed call rejects with one of these. */
export class BackpackError extends Error {
  constructor(status: number, code: string, message: string, details?: JsonObject);
  name: 'BackpackError';
  /** HTTP status; 0 for client-side failures (network_error, timeout, aborted, connection_lost, closed, invalid_argument) and websocket errors. */
  status: number;
  /** Machine-readable code: the server's (`not_signed_in`, `document_not_found`, `collection_not_found`, `invalid_query`, `function_error`, …), `http_<status>` for non-contract answers, or a client-side one (`invalid_argument`, `invalid_json`, `timeout`, …). */
  code: string;
  /** Extra information from the server, when it sent some. */
  details?: JsonObject;
}

/** The delay before reconnect attempt `attempt` (from 0): between cap/2 and cap, cap = min(maxDelay, baseDelay·2^attempt). */
export function reconnectDelay(attempt: number, options?: ReconnectOptions & { random?: () => number }): number;

/** Low-level: the websocket client behind `sdk.ws()`. Most code should use `sdk.ws()`. */
export function createConnection(options: ReconnectOptions & {
  /** The API URL (http/https); `/ws` is appended. */
  url: string;
  apiKey: string;
  /** Returns the current bearer token, or null (read at every (re)connect). */
  token: () => string | null;
  WebSocketImpl: WebSocketConstructor;
  timeout?: number;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: any) => void;
}): Connection;

/** A host's site (approximate registrable domain): the host itself for localhost names and IPs, else its last two labels. */
export function siteOf(host: string): string;

/** The auth mode `'auto'` resolves to for this API URL in the current environment. */
export function chooseAuthMode(option: 'auto' | 'cookie' | 'token', apiURL: string): 'cookie' | 'token';

/** The BackpackError class as a value (the type of the classic script's global). */
export interface BackpackErrorConstructor {
  new (status: number, code: string, message: string, details?: JsonObject): BackpackError;
  readonly prototype: BackpackError;
}

declare global {
  /** Classic `<script src=".../sdk.js">`: connects to one backend's API. */
  function createSdk(url: string, apiKey: string, options?: SdkOptions): BackpackSdk;
  /** Classic `<script src=".../sdk.js">`: the error class of every failed call (use with instanceof). */
  var BackpackError: BackpackErrorConstructor;
}
