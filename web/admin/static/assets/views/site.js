// A backend's static site: publish a zip as a new release (with the upload's progress), see
// the releases the backend keeps, and roll back to the one before the live release.
import {h, replace, field, errorBox, table, when, bytes, confirmDialog, uid} from '../dom.js';
import * as api from '../api.js';

/**
 * upload sends a zip as the form field "file". It uses XMLHttpRequest because fetch cannot
 * report an upload's progress; progress(fraction) is called as the bytes leave. It resolves
 * with the backend's listing of releases and rejects with ApiError, or AbortError on signal.
 */
function upload(path, file, {signal, progress}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-CSRF-Token', api.csrfToken());
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) progress(ev.loaded / ev.total);
    };
    xhr.upload.onload = () => progress(1);
    // The answer is read as every other answer is (api.parse), so errors, and a session that
    // ended, are handled the same way.
    xhr.onload = () => {
      if (xhr.status === 0) {
        xhr.onerror();
        return;
      }
      const res = new Response(xhr.responseText || null, {
        status: xhr.status, headers: {'Retry-After': xhr.getResponseHeader('Retry-After') || ''},
      });
      api.parse(res).then((r) => resolve(r.data), reject);
    };
    xhr.onerror = () => reject(new api.ApiError(0, 'network_error',
      'The upload was cut off: the Backpack server could not be reached. Check your connection and try again.'));
    xhr.onabort = () => reject(new DOMException('The upload was stopped', 'AbortError'));
    signal.addEventListener('abort', () => xhr.abort(), {once: true});
    const form = new FormData();
    form.append('file', file);
    xhr.send(form);
  });
}

/** uploadProblem says why an archive was refused, in words that tell what to do next. */
function uploadProblem(err) {
  if (err instanceof api.ApiError && err.code === 'invalid_archive') {
    return `This file cannot be published: ${err.message}. Choose a .zip of your site's files.`;
  }
  if (err instanceof api.ApiError && err.status === 413) {
    return `This archive is too large to publish (${err.message}). Leave out what the site does not need and try again.`;
  }
  return api.describe(err);
}

/** listed reads the backend's listing; without releases it may say null rather than []. */
function listed(data) {
  return {current: (data && data.current) || null, releases: (data && data.releases) || []};
}

/** siteTab draws the upload form and the releases, and keeps both in step with the backend. */
export function siteTab(tab) {
  const fileInput = h('input', {type: 'file', name: 'file', accept: '.zip,application/zip', required: true});
  const file = field('Site archive (.zip)', fileInput,
    'index.html and its files at the top of the zip, or all in one folder such as dist/.');
  const submit = h('button', {type: 'submit', class: 'btn primary'}, 'Upload and publish');
  const bar = h('progress', {max: 100, value: 0, id: uid('progress')});
  const percent = h('span', {class: 'percent'}, '0%');
  const progressRow = h('div', {class: 'upload-progress', hidden: true},
    h('label', {for: bar.id}, 'Upload'), bar, percent);
  const uploadStatus = h('p', {class: 'hint', role: 'status'});
  const form = h('form', {class: 'upload', novalidate: true}, file.el, progressRow, uploadStatus, h('div', {class: 'actions left'}, submit));

  const current = h('div', {class: 'site-current'}, h('p', {class: 'muted'}, 'Loading the releases…'));
  const releases = h('div', {class: 'releases'});
  const rollback = h('button', {type: 'button', class: 'btn danger rollback', disabled: true}, 'Roll back');
  const rollbackHint = h('p', {class: 'hint', id: uid('hint')});
  rollback.setAttribute('aria-describedby', rollbackHint.id);
  const rollbackStatus = h('p', {class: 'hint', role: 'status'});
  const listBox = errorBox();

  const showProgress = (fraction) => {
    const n = Math.round(fraction * 100);
    bar.value = n;
    percent.textContent = `${n}%`;
    if (n === 100) uploadStatus.textContent = 'Uploaded. Publishing…';
  };

  let listing = {current: null, releases: []};
  const draw = () => {
    const b = tab.backend();
    const live = listing.current;
    replace(current, live
      ? h('p', null, 'Live: release ', h('code', {class: 'release-id'}, live.id), ', published ', when(live.createdAt),
        `, ${live.files} ${live.files === 1 ? 'file' : 'files'}, ${bytes(live.bytes)}. `,
        h('a', {href: b.siteUrl, target: '_blank', rel: 'noopener', class: 'site-url'}, `Open ${b.siteUrl}`))
      : h('p', null, `No release yet: ${b.siteUrl} shows a placeholder page until you publish one.`));
    replace(releases, listing.releases.length === 0 ? null : table('Releases, newest first', ['Release', 'Published', 'Files', 'Size', 'Status'],
      listing.releases.map((r) => h('tr', {dataset: {release: r.id}, class: r.current ? 'current' : null},
        h('th', {scope: 'row'}, h('code', null, r.id)),
        h('td', null, when(r.createdAt)),
        h('td', null, String(r.files)),
        h('td', null, bytes(r.bytes)),
        h('td', null, r.current ? h('span', {class: 'release-live'}, 'Live') : ''))), {class: 'release-list'}));
    // The backend rolls back to the release just older than the live one, if there is one.
    const i = listing.releases.findIndex((r) => r.current);
    const earlier = i >= 0 ? listing.releases[i + 1] : undefined;
    rollback.disabled = !earlier;
    rollbackHint.textContent = earlier
      ? `Makes release ${earlier.id} live again.`
      : 'Rolling back needs a release older than the live one.';
  };

  const nextLoad = api.latestOnly(tab.signal);
  const load = async () => {
    listBox.clear();
    try {
      listing = listed(await api.get(api.adminPath(tab.name, '/site'), {signal: nextLoad()}));
      draw();
    } catch (e) {
      if (api.isAbort(e)) return;
      replace(current);
      listBox.show(api.describe(e));
    }
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    file.setError('');
    uploadStatus.textContent = '';
    const chosen = fileInput.files[0];
    if (!chosen) {
      file.setError('Choose a .zip file first.');
      fileInput.focus();
      return;
    }
    submit.disabled = true;
    progressRow.hidden = false;
    showProgress(0);
    try {
      listing = listed(await upload(api.backendPath(tab.name, '/site'), chosen, {signal: tab.signal, progress: showProgress}));
      uploadStatus.textContent = `Published ${chosen.name} as release ${listing.current.id}. It is live now.`;
      rollbackStatus.textContent = '';
      form.reset();
      draw();
    } catch (e) {
      if (api.isAbort(e)) return;
      progressRow.hidden = true;
      uploadStatus.textContent = '';
      file.setError(uploadProblem(e));
      fileInput.focus();
    } finally {
      submit.disabled = false;
    }
  });

  rollback.addEventListener('click', async () => {
    listBox.clear();
    rollbackStatus.textContent = '';
    const i = listing.releases.findIndex((r) => r.current);
    const earlier = listing.releases[i + 1];
    if (!earlier) return;
    const ok = await confirmDialog('Roll back the site?',
      `Release ${earlier.id} (published ${new Date(earlier.createdAt).toLocaleString()}) goes live again in place of ${listing.current.id}. The newer release stays in the list.`,
      'Roll back');
    if (!ok) return;
    rollback.disabled = true;
    try {
      listing = listed(await api.post(api.adminPath(tab.name, '/site/rollback'), undefined, {signal: tab.signal}));
      rollbackStatus.textContent = `Rolled back: release ${listing.current.id} is live.`;
      uploadStatus.textContent = '';
      progressRow.hidden = true;
      draw();
    } catch (e) {
      if (api.isAbort(e)) return;
      listBox.show(api.describe(e));
      load();
    }
  });

  tab.el.append(
    h('section', {class: 'card'},
      h('h2', null, 'Publish a new release'),
      h('p', null, 'Upload a zip of your site. It goes live at once, all files together; the five newest releases are kept so you can roll back.'),
      form),
    h('section', {class: 'card'},
      h('h2', null, 'Releases'),
      listBox.el, current, releases,
      h('div', {class: 'actions left'}, rollback), rollbackHint, rollbackStatus));
  load();
}
