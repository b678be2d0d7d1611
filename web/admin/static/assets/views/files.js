// The Files tab: every file the backend's end users uploaded, to download or delete.
import {h, replace, errorBox, table, when, bytes} from '../dom.js';
import * as api from '../api.js';
import {plural, deleteButton} from './data-parts.js';

/** fileUrl is where the control plane sends a user's file as a download (never shown in place). */
function fileUrl(name, f) {
  return api.adminPath(name, `/files/${encodeURIComponent(f.owner)}/${encodeURIComponent(f.filename)}`);
}

/** filesTab lists the backend's files with their owners, sizes and types. */
export function filesTab(tab) {
  const title = h('h2', {id: 'files-title', tabindex: '-1'}, 'Files');
  const summary = h('p', {class: 'muted files-summary'});
  const status = h('p', {class: 'hint', role: 'status'});
  const box = errorBox();
  const body = h('div', {class: 'files'}, h('p', {class: 'muted'}, 'Loading files…'));
  tab.el.append(h('section', {class: 'card', 'aria-labelledby': title.id}, title, summary, status, box.el, body));

  const nextLoad = api.latestOnly(tab.signal);
  async function load() {
    let files;
    try {
      files = await api.get(api.adminPath(tab.name, '/files'), {signal: nextLoad()});
    } catch (e) {
      if (api.isAbort(e)) return;
      box.show(api.describe(e));
      return;
    }
    box.clear();
    if (files.length === 0) {
      summary.textContent = '';
      replace(body, h('p', {class: 'empty muted'}, 'No files yet. Signed-in users upload them from your app (POST /files).'));
      return;
    }
    summary.textContent = `${plural(files.length, 'file')}, ${bytes(files.reduce((n, f) => n + f.size, 0))} in all.`;
    replace(body, table('Files of this backend, by owner', ['Owner', 'Filename', 'Bucket', 'Size', 'Type', 'Created', 'Actions'],
      files.map(row), {class: 'files-table'}));
  }

  function row(f) {
    const remove = deleteButton(tab, {
      className: 'delete-file', label: `Delete ${f.filename}`, title: `Delete ${f.filename}?`,
      message: `The file ${f.filename} of user ${f.owner} is deleted for good; links to it stop working.`,
      confirmLabel: 'Delete file', path: fileUrl(tab.name, f), deleted: `Deleted ${f.filename}.`,
      status, box, after: load, focusAfter: title,
    });
    return h('tr', {dataset: {file: f._id}},
      h('td', null, h('code', null, f.owner)),
      h('th', {scope: 'row', class: 'filename'}, f.filename),
      h('td', null, f.bucket || h('span', {class: 'muted'}, '—')),
      h('td', {class: 'num'}, bytes(f.size)),
      h('td', null, f.contentType),
      h('td', null, when(f._createdAt)),
      h('td', {class: 'row-actions'},
        h('a', {href: fileUrl(tab.name, f), download: f.filename, class: 'btn small download', 'aria-label': `Download ${f.filename}`}, 'Download'),
        remove));
  }

  load();
}
