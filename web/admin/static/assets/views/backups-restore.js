// Restoring a backend: the confirmation that says what is lost, the restore from an archive
// file (POST /api/backends/NAME/restore with the archive as the body), and following a restore
// through the backend's events until it has ended.
import {h, replace, field, errorBox, confirmDialog} from '../dom.js';
import * as api from '../api.js';
import {followOperation} from '../live.js';

/**
 * confirmRestore asks before a restore, naming the backend and what happens to it, and resolves
 * true when confirmed. what names the source: "the backup taken …", "the file shop.tar".
 */
export function confirmRestore(name, what) {
  return confirmDialog(`Restore ${name}?`,
    `All of ${name}'s current data (documents, users, files, site, functions and settings) is replaced by ${what}. ` +
    `Its end users are signed out and sign in again with the passwords the backup holds. While it runs, ${name}'s API answers 503. ` +
    'This cannot be undone: back up first to keep what it holds now.',
    `Restore ${name}`);
}

/** describeRestoreError says why a restore was refused, in words that tell what to do next. */
export function describeRestoreError(e) {
  if (!(e instanceof api.ApiError)) return api.describe(e);
  switch (e.code) {
    case 'invalid_backup': {
      const entry = e.details && e.details.entry ? ` (in ${e.details.entry})` : '';
      return `This is not a backup that can be restored: ${e.message}${entry}. Nothing was changed.`;
    }
    case 'backup_too_large':
      return `This archive is too large to restore (${e.message}). Nothing was changed.`;
    case 'restore_failed':
      return `The restore failed part way (${e.message}); the data it had before was put back.`;
    default:
      return api.describe(e);
  }
}

/**
 * restoreStep says what a restore event is: 'started', 'ok', 'failed', or '' for a step between
 * (the control plane says so in the event's words).
 */
function restoreStep(ev) {
  if (/^restored\b/i.test(ev.message)) return 'ok';
  if (/^restore failed\b/i.test(ev.message)) return 'failed';
  if (/^restore from .* started$/i.test(ev.message)) return 'started';
  return '';
}

/**
 * startRestore asks the control plane to restore the backend from body (a backup's id, or an
 * archive file), and resolves with the server's time of the answer (ms), from which the
 * restore's events are told from earlier ones. It rejects with ApiError.
 */
export async function startRestore(tab, body) {
  const res = await api.request('POST', api.backendPath(tab.name, '/restore'), body, {signal: tab.signal});
  // Date is whole seconds, and the restore may have ended just before the answer was written:
  // a second less keeps its result in.
  const at = Date.parse(res.headers.get('Date') || '');
  return (Number.isNaN(at) ? Date.now() : at) - 1000;
}

/**
 * followRestore shows in el the backend's restore events since `since` (what startRestore
 * resolved with), from the last restore that started, until one says how it ended; then it
 * calls done(). A running backend's event stream ends once it has sent what there is, so it is
 * opened again every second until the result is there.
 */
export function followRestore(tab, el, since, done) {
  const steps = h('ol', {class: 'steps', 'aria-live': 'polite'});
  const outcome = h('p', {class: 'outcome restore-outcome', role: 'status'}, `Restoring ${tab.name}…`);
  replace(el, steps, outcome);
  el.hidden = false;
  const shown = new Set();
  let started = false;
  let finished = false;
  let timer = null;
  let stream = null;
  tab.onLeave(() => clearTimeout(timer));
  const each = (ev) => {
    if (finished || shown.has(ev.id) || Date.parse(ev.at) < since) return;
    shown.add(ev.id);
    const step = restoreStep(ev);
    if (step === 'started') {
      started = true;
      replace(steps);
    }
    if (!started) return;
    steps.append(h('li', {class: `step step-${step === 'failed' ? 'error' : ev.kind}`},
      h('time', {datetime: ev.at, title: ev.at}, new Date(ev.at).toLocaleTimeString()), ' ', ev.message));
    if (step !== 'ok' && step !== 'failed') return;
    finished = true;
    stream.close();
    outcome.textContent = step === 'ok'
      ? `Restored. ${tab.name} runs with the backup's data; its end users sign in again.`
      : `The restore failed; ${tab.name} keeps the data it had before.`;
    outcome.className = `outcome restore-outcome outcome-${step === 'ok' ? 'running' : 'failed'}`;
    done();
  };
  const open = () => {
    stream = followOperation(tab, api.backendPath(tab.name, '/events'), {
      kinds: ['restore'],
      each,
      end() {
        if (!finished && !tab.signal.aborted) timer = setTimeout(open, 1000);
      },
    });
  };
  open();
}

/** archiveType is the Content-Type of an archive file: gzip when it starts as gzip does, else tar. */
async function archiveType(file) {
  const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  return head[0] === 0x1f && head[1] === 0x8b ? 'application/gzip' : 'application/x-tar';
}

/** restoreSection is the form that restores the backend from an archive file; done() follows a restore's end. */
export function restoreSection(tab, done) {
  const input = h('input', {type: 'file', name: 'archive', accept: '.tar,.tar.gz,.tgz,application/x-tar,application/gzip'});
  const file = field('Backup archive (.tar or .tar.gz)', input,
    'A file downloaded from a Backups list, of this backend or another. It is checked whole before anything changes.');
  const submit = h('button', {type: 'submit', class: 'btn danger'}, 'Restore from file…');
  const status = h('p', {class: 'hint', role: 'status'});
  const box = errorBox();
  const progress = h('div', {class: 'restore-progress', hidden: true});
  const form = h('form', {class: 'restore-file', novalidate: true}, file.el, box.el, status,
    h('div', {class: 'actions left'}, submit), progress);
  input.addEventListener('change', () => file.setError(''));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    file.setError('');
    box.clear();
    status.textContent = '';
    const chosen = input.files[0];
    if (!chosen) {
      file.setError('Choose a backup archive first.');
      input.focus();
      return;
    }
    if (!await confirmRestore(tab.name, `the backup in ${chosen.name}`)) return;
    submit.disabled = true;
    status.textContent = `Uploading ${chosen.name} and checking it…`;
    try {
      const since = await startRestore(tab, new Blob([chosen], {type: await archiveType(chosen)}));
      status.textContent = '';
      form.reset();
      followRestore(tab, progress, since, done);
    } catch (e) {
      if (api.isAbort(e)) return;
      status.textContent = '';
      const msg = describeRestoreError(e);
      if (e instanceof api.ApiError && (e.code === 'invalid_backup' || e.code === 'backup_too_large')) {
        file.setError(msg);
        input.focus();
      } else {
        box.show(msg);
      }
    } finally {
      submit.disabled = false;
    }
  });

  const title = h('h2', {id: 'restore-file-title'}, 'Restore from a file');
  return h('section', {class: 'card', 'aria-labelledby': title.id}, title,
    h('p', null, `Replaces ${tab.name}'s data with a backup archive from your computer.`), form);
}
