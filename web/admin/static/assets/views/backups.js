// The Backups tab: the backend's backups, kept by the control plane (GET, POST
// /api/backends/NAME/backups), to take now, download, delete, restore and copy into a new
// backend; a restore from a file; and the schedule. It needs the control plane only, so it stays
// open whatever state the backend is in (a restore changes it).
import {h, replace, errorBox, table, when, bytes, confirmDialog} from '../dom.js';
import * as api from '../api.js';
import {copyDialog} from './backups-copy.js';
import {restoreSection, confirmRestore, describeRestoreError, startRestore, followRestore} from './backups-restore.js';
import {scheduleSection} from './backups-schedule.js';

// How often the list is read again while a backup is being taken.
const pollMs = 1000;

/** shortSum is the start of a sha256, enough to tell backups apart at a glance. */
function shortSum(sum) {
  return sum ? `${sum.slice(0, 12)}…` : '—';
}

/** size says how large a backup is, or has grown so far while it is taken. */
function size(b) {
  if (b.state === 'ready') return bytes(b.bytes);
  if (b.state === 'running' && b.bytes > 0) return `${bytes(b.bytes)} so far`;
  return '—';
}

/** stateText says a backup's state in words. */
const stateText = {running: 'In progress', ready: 'Ready', failed: 'Failed'};

/** kindText says how a backup was made. */
const kindText = {manual: 'Manual', scheduled: 'Scheduled'};

/** backupProblem says why a backup was refused; over the quota, how much the backups use. */
function backupProblem(e) {
  if (e instanceof api.ApiError && e.code === 'quota_exceeded') {
    const {limit, used} = e.details;
    const amount = typeof limit === 'number' && typeof used === 'number' ? ` (${bytes(used)} of ${bytes(limit)})` : '';
    return `Your backups use all the space you are allowed${amount}. Delete backups you no longer need, of this backend or others, and try again.`;
  }
  return api.describe(e);
}

/** backupsTab draws the list with its actions, the restore from a file and the schedule. */
export function backupsTab(tab) {
  const path = (rest = '') => api.backendPath(tab.name, `/backups${rest}`);
  const title = h('h2', {id: 'backups-title', tabindex: '-1'}, 'Backups');
  const listBox = errorBox();
  const listEl = h('div', {class: 'backups'}, h('p', {class: 'muted'}, 'Loading backups…'));
  const status = h('p', {class: 'hint backups-status', role: 'status'});
  const now = h('button', {type: 'button', class: 'btn primary backup-now'}, 'Back up now');
  const nowBox = errorBox();
  const restoreStatus = h('div', {class: 'restore-progress', hidden: true});
  tab.el.append(
    h('section', {class: 'card', 'aria-labelledby': title.id}, title,
      h('p', {class: 'hint'}, 'A backup holds all of the backend\'s data: documents, users (with their password hashes), files, rules, indexes, the live site, functions and settings other than secrets. The control plane keeps it; it is checked byte for byte (sha256) before any restore.'),
      h('div', {class: 'actions left'}, now), nowBox.el, status, restoreStatus, listBox.el, listEl),
    restoreSection(tab, () => load()),
    scheduleSection(tab));

  let items = [];
  let watching = null; // the id of the backup "Back up now" started, until it has settled
  let timer = null;
  const nextLoad = api.latestOnly(tab.signal);
  tab.onLeave(() => clearTimeout(timer));

  /** load reads the list again, and again every second while a backup is in progress. */
  async function load() {
    clearTimeout(timer);
    try {
      items = (await api.get(path(), {signal: nextLoad()})) || [];
      listBox.clear();
    } catch (e) {
      if (api.isAbort(e)) return;
      listBox.show(api.describe(e));
      return;
    }
    draw();
    if (items.some((b) => b.state === 'running')) timer = setTimeout(load, pollMs);
  }

  function draw() {
    if (items.length === 0) {
      replace(listEl, h('p', {class: 'muted empty-backups'}, 'No backups yet. "Back up now" takes one; a schedule below takes them by itself.'));
      settle();
      return;
    }
    replace(listEl, table('Backups, newest first', ['Taken', 'Kind', 'State', 'Size', 'SHA-256', 'Actions'],
      items.map(row), {class: 'backup-list'}));
    settle();
  }

  function row(b) {
    const rowBox = h('p', {class: 'row-error', role: 'alert', hidden: true});
    const fail = (msg) => {
      rowBox.textContent = msg;
      rowBox.hidden = !msg;
    };
    const label = `the backup of ${new Date(b.createdAt).toLocaleString()}`;
    const actions = [];
    if (b.state === 'ready') {
      actions.push(
        h('a', {class: 'btn small download', href: path(`/${encodeURIComponent(b.id)}`), download: '', 'aria-label': `Download ${label}`}, 'Download'),
        h('button', {type: 'button', class: 'btn small danger restore', 'aria-label': `Restore ${label}`,
          onclick: () => restore(b, fail)}, 'Restore…'),
        h('button', {type: 'button', class: 'btn small copy', 'aria-label': `Copy ${label} to a new backend`,
          onclick: () => copyDialog(tab, b)}, 'Copy to new backend…'));
    }
    if (b.state !== 'running') {
      actions.push(h('button', {type: 'button', class: 'btn small danger delete', 'aria-label': `Delete ${label}`,
        onclick: () => remove(b, fail)}, 'Delete'));
    }
    return h('tr', {dataset: {backup: b.id, state: b.state}},
      h('th', {scope: 'row', dataset: {label: 'Taken'}}, when(b.createdAt)),
      h('td', {dataset: {label: 'Kind'}}, kindText[b.kind] || b.kind || '—'),
      h('td', {dataset: {label: 'State'}}, h('div', null,
        h('span', {class: `backup-state backup-${b.state}`}, stateText[b.state] || b.state),
        b.state === 'failed' && b.error ? h('p', {class: 'row-error backup-error'}, b.error) : null)),
      h('td', {class: 'num', dataset: {label: 'Size'}}, size(b)),
      h('td', {dataset: {label: 'SHA-256'}}, b.sha256 ? h('code', {class: 'sha', title: b.sha256}, shortSum(b.sha256)) : '—'),
      h('td', {class: 'backup-actions', dataset: {label: 'Actions'}}, h('div', {class: 'actions left'}, actions), rowBox));
  }

  now.addEventListener('click', async () => {
    nowBox.clear();
    status.textContent = '';
    now.disabled = true;
    try {
      const made = await api.post(path(), undefined, {signal: tab.signal});
      status.textContent = 'Backing up… the new backup shows as ready when it is complete.';
      // The new backup shows at once; the list says how it goes on.
      if (!items.some((b) => b.id === made.id)) {
        items = [{createdAt: new Date().toISOString(), kind: 'manual', ...made}, ...items];
        draw();
      }
      watching = made.id;
      await load();
    } catch (e) {
      if (api.isAbort(e)) return;
      nowBox.show(backupProblem(e));
    } finally {
      now.disabled = false;
    }
  });

  /** settle says, once the list has it settled, how the backup started here ended. */
  function settle() {
    const b = watching && items.find((x) => x.id === watching);
    if (!b || b.state === 'running') return;
    watching = null;
    status.textContent = b.state === 'ready'
      ? `Backup ready: ${bytes(b.bytes)}.`
      : `The backup failed${b.error ? `: ${b.error}` : ''}.`;
  }

  async function remove(b, fail) {
    fail('');
    const ok = await confirmDialog('Delete this backup?',
      `The backup of ${tab.name} taken ${new Date(b.createdAt).toLocaleString()}${b.state === 'ready' ? ` (${bytes(b.bytes)})` : ''} is erased from the server. This cannot be undone.`,
      'Delete backup');
    if (!ok) return;
    try {
      await api.del(path(`/${encodeURIComponent(b.id)}`), {signal: tab.signal});
      items = items.filter((x) => x.id !== b.id);
      draw();
      status.textContent = 'Backup deleted.';
      title.focus();
      load();
    } catch (e) {
      if (api.isAbort(e)) return;
      fail(api.describe(e));
    }
  }

  async function restore(b, fail) {
    fail('');
    if (!await confirmRestore(tab.name, `the backup taken ${new Date(b.createdAt).toLocaleString()}`)) return;
    let since;
    try {
      since = await startRestore(tab, {backupId: b.id});
    } catch (e) {
      if (api.isAbort(e)) return;
      fail(describeRestoreError(e));
      return;
    }
    followRestore(tab, restoreStatus, since, load);
  }

  load();
}
