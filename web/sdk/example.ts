// A usage example of the Backpack SDK, type-checked against sdk.d.ts (it is not run):
//   npx --yes -p typescript@5 tsc --noEmit --strict --target es2022 --module es2022 \
//     --moduleResolution bundler --lib es2022,dom web/sdk/example.ts
import { BackpackError, createSdk, type BroadcastMessage, type Doc } from './sdk.js';

interface Todo {
  title: string;
  done: boolean;
  channelType?: string;
  channelId?: string;
}

interface Message {
  text: string;
  channelType: string;
  channelId: string;
}

const sdk = createSdk('https://shop-be.example.com', 'API_KEY', { timeout: 10_000, reconnect: { maxDelay: 10_000 } });

async function accounts(): Promise<void> {
  try {
    await sdk.auth.register('ada@example.com', 'correct horse battery');
  } catch (err) {
    if (!(err instanceof BackpackError && err.code === 'email_taken')) throw err;
  }
  const user = await sdk.auth.login('ada@example.com', 'correct horse battery');
  console.log(`signed in as ${user.email} (${sdk.auth.mode} mode)`);
  const me = await sdk.auth.me();
  console.log(me._id === user._id);
}

async function todos(): Promise<Doc<Todo>[]> {
  const existing = await sdk.db.listCollections();
  if (!existing.some((c) => c.name === 'todos')) await sdk.db.createNewCollection('todos');

  const created = await sdk.db.createResource<Todo>('todos', { title: 'Buy milk', done: false });
  const patched = await sdk.db.updateResource<Todo>('todos', created._id, { done: true });
  await sdk.db.overwriteResource<Todo>('todos', created._id, { title: patched.title.toUpperCase(), done: false });
  const one = await sdk.db.getResource<Todo>('todos', created._id);
  console.log(one.title, one._updatedAt);

  const controller = new AbortController();
  const open = await sdk.db.getCollection<Todo>(
    'todos',
    { filter: { done: false, title: { $regex: '^B', $options: 'i' } }, sort: '-_createdAt', limit: 20, fields: ['title', 'done'] },
    { signal: controller.signal, timeout: 5000 },
  );
  await sdk.db.deleteResource<Todo>('todos', created._id);
  return open;
}

async function files(input: File): Promise<void> {
  const controller = new AbortController();
  const meta = await sdk.storage.uploadFile(input, 'avatar.png', 'avatars', {
    signal: controller.signal,
    onProgress: ({ loaded, total }) => console.log(`${Math.round((100 * loaded) / total)}%`),
  });
  const blob = await sdk.storage.getFile(meta.owner, meta.filename);
  console.log(blob.size === meta.size, blob.type);
  await sdk.storage.overwriteFile(new Blob(['new bytes'], { type: 'image/png' }), meta.filename);
  const renamed = await sdk.storage.updateFile(meta.filename, 'me.png', 'profile');
  const mine = await sdk.storage.getListOfUserFiles(meta.owner);
  console.log(mine.map((f) => `${f.bucket}/${f.filename} ${f.contentType}`));
  await sdk.storage.deleteFile(renamed.filename);
}

async function realtime(): Promise<void> {
  const conn = sdk.ws();
  const offStatus = conn.on('status', (s) => console.log('websocket', s, conn.status));
  conn.on('close', ({ code }) => {
    if (code === 4001) console.log('session ended; sign in again');
  });
  const onCreate = (msg: BroadcastMessage<Todo>) => {
    if (msg.collection === 'todos' && msg.response) console.log('new todo', msg.response.title);
  };
  conn.on<Todo>('create', onCreate);
  const offAll = conn.on('*', (msg) => console.log(msg.action));
  conn.on('typing', (msg) => console.log(`${msg.sender} is typing`));

  const channels = await conn.actions.joinUsersChannels('usersInfo');
  const room = await conn.actions.createChannel('usersInfo', 'rooms', 'General');
  const info = await conn.actions.joinChannel('usersInfo', 'rooms', room._id);
  console.log(channels.length, info.currentChannel?.channelId, info.channels.map((c) => c.name));

  const msg = await conn.actions.createResource<Message>('messages', { text: 'hi', channelType: 'rooms', channelId: room._id });
  await conn.actions.updateResource<Message>('messages', msg._id, { text: 'hello' });
  await conn.actions.overwriteResource<Message>('messages', msg._id, { ...msg, text: 'hello!' });
  const found = await conn.actions.findResource<Message>('messages', { channelId: room._id }, { sort: '-_createdAt', limit: 20 });
  const all = await conn.actions.getCollection<Message>('messages');
  const again = await conn.actions.getResource<Message>('messages', msg._id);
  console.log(found.length, all.length, again.text);
  await conn.actions.deleteResource('messages', msg._id);

  const reply = await conn.actions.send<Doc<Todo>[]>('getAll', { collection: 'todos' });
  console.log(reply.requestId, reply.response.length);
  // A custom action: relayed to the channel's members, who receive it with a `sender`.
  const relayed = await conn.actions.send<{ relayed: boolean }>('typing', { channelType: 'rooms', channelId: room._id });
  console.log(relayed.response.relayed);

  await conn.actions.changeChannel('usersInfo', 'rooms', room._id);
  await conn.actions.leaveChannel('usersInfo', 'rooms', room._id);
  await conn.actions.deleteChannel('usersInfo', 'messages', 'rooms', room._id);

  conn.off('create', onCreate);
  offAll();
  offStatus();
  conn.close();
  console.log(conn.closed);
}

interface Quote {
  total: number;
  currency: string;
}

async function functions(): Promise<void> {
  // POST /fn/quote with a JSON body; the answer's JSON is typed by the caller.
  const quote = await sdk.functions.call<Quote>('quote', { items: [{ sku: 'A1', qty: 2 }] });
  console.log(quote.total, quote.currency);
  // GET /fn/orders/42?expand=true, with the usual call options.
  const order = await sdk.functions.call('orders', undefined, { path: '42', query: { expand: true }, timeout: 5000 });
  console.log(order);
  try {
    await sdk.functions.call('checkout', { cart: 'c1' }, { method: 'PUT' });
  } catch (err) {
    // An HttpError thrown by the function arrives with its status and code.
    if (err instanceof BackpackError && err.code === 'payment_required') console.log(err.status, err.message);
    else throw err;
  }
  // The same function over the websocket: the reply's response.
  const viaSocket = await sdk.ws().actions.call<Quote>('quote', { items: [] });
  console.log(viaSocket.total);
}

async function main(): Promise<void> {
  try {
    await accounts();
    console.log((await todos()).length);
    await files(new File(['png bytes'], 'avatar.png', { type: 'image/png' }));
    await functions();
    await realtime();
  } catch (err) {
    if (err instanceof BackpackError) console.error(err.status, err.code, err.message, err.details);
    else throw err;
  } finally {
    await sdk.auth.logout();
  }
}

// The classic script declares the same API as globals.
const viaGlobal = globalThis.createSdk('https://shop-be.example.com', 'API_KEY', {
  auth: 'token',
  storage: sessionStorage,
  fetch: (input, init) => fetch(input, init),
});
viaGlobal.db.getCollection('todos').catch((err: unknown) => console.log(err instanceof globalThis.BackpackError));

void main();
