// The Data tab's document editor: one document's JSON, checked as it is typed, with the fields
// the server manages shown apart, read-only, since no write may set them.
import {h, replace, field, errorBox, confirmDialog, when, uid} from '../dom.js';
import * as api from '../api.js';

/** managedFields are set by the server on every document; no write may send them. */
export const managedFields = ['_id', '_owner', '_createdAt', '_updatedAt'];

/** editable is a document without the fields the server manages: what the textarea holds. */
function editable(doc) {
  return Object.fromEntries(Object.entries(doc).filter(([k]) => !managedFields.includes(k)));
}

/** problemOf explains why text is not a document the server would take, or returns ''. */
function problemOf(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return `This is not valid JSON (${e.message}).`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return `A document is a JSON object such as {"name": "value"}, not ${what}.`;
  }
  const managed = managedFields.filter((k) => Object.hasOwn(value, k));
  if (managed.length > 0) return `Leave out ${managed.join(', ')}: the server sets ${managed.length === 1 ? 'it' : 'them'}.`;
  return '';
}

/**
 * documentEditor edits one document of a collection, or a new one when doc is null, so the
 * developer can fix data by hand. saved(doc, created) and deleted(id) let the tab refresh its
 * table; close() hides the editor. It returns {el, id(), focus(), changed(doc, action)}, the
 * last telling it that the change stream saw its document change.
 */
export function documentEditor({name, collection, doc, signal, saved, deleted, close}) {
  let current = doc;
  let busy = false;
  const path = (id) => api.adminPath(name,
    `/collections/${encodeURIComponent(collection)}/docs${id ? `/${encodeURIComponent(id)}` : ''}`);

  const heading = h('h3', {id: uid('doc'), class: 'doc-title'});
  const facts = h('dl', {class: 'facts doc-facts'});
  const text = h('textarea', {name: 'json', spellcheck: 'false', autocapitalize: 'none', autocomplete: 'off'});
  const json = field('Document JSON', text,
    'Your fields as one JSON object. The server sets _id, _owner, _createdAt and _updatedAt itself.');
  const box = errorBox();
  const note = h('p', {class: 'hint doc-note', role: 'status'});
  const save = h('button', {type: 'submit', class: 'btn primary save'});
  const remove = h('button', {type: 'button', class: 'btn danger delete'}, 'Delete');
  const closeButton = h('button', {type: 'button', class: 'btn close'}, 'Close');
  const form = h('form', {class: 'card doc-editor', 'aria-labelledby': heading.id, novalidate: true},
    heading, facts, json.el, box.el, note, h('div', {class: 'actions'}, closeButton, remove, save));

  const check = () => {
    const problem = problemOf(text.value);
    json.setError(problem);
    save.disabled = busy || problem !== '';
    remove.disabled = busy;
    return problem === '';
  };
  const show = () => {
    heading.textContent = current ? `Document ${current._id}` : `New document in ${collection}`;
    save.textContent = current ? 'Save' : 'Create';
    remove.hidden = !current;
    facts.hidden = !current;
    text.value = JSON.stringify(current ? editable(current) : {}, null, 2);
    text.rows = Math.min(24, Math.max(6, text.value.split('\n').length + 1));
    if (!current) return;
    replace(facts,
      h('dt', null, '_id'), h('dd', null, h('code', null, current._id)),
      h('dt', null, '_owner'), h('dd', null, current._owner ? h('code', null, current._owner) : h('span', {class: 'muted'}, 'none (added from the panel)')),
      h('dt', null, '_createdAt'), h('dd', null, when(current._createdAt)),
      h('dt', null, '_updatedAt'), h('dd', null, when(current._updatedAt)));
  };

  text.addEventListener('input', () => {
    box.clear();
    check();
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!check()) {
      text.focus();
      return;
    }
    box.clear();
    note.textContent = '';
    busy = true;
    check();
    const created = !current;
    try {
      const body = JSON.parse(text.value);
      current = created ? await api.post(path(), body, {signal}) : await api.put(path(current._id), body, {signal});
      show();
      note.textContent = created ? 'Created.' : 'Saved.';
      saved(current, created);
    } catch (e) {
      if (api.isAbort(e)) return;
      box.show(api.describe(e));
    } finally {
      busy = false;
      check();
    }
  });
  remove.addEventListener('click', async () => {
    const ok = await confirmDialog('Delete this document?',
      `Document ${current._id} is removed from ${collection} for good, and apps following ${collection} are told.`, 'Delete document');
    if (!ok) return;
    box.clear();
    busy = true;
    check();
    try {
      await api.del(path(current._id), {signal});
      deleted(current._id);
    } catch (e) {
      if (api.isAbort(e)) return;
      box.show(api.describe(e));
    } finally {
      busy = false;
      check();
    }
  });
  closeButton.addEventListener('click', close);

  show();
  check();
  return {
    el: form,
    id: () => current && current._id,
    focus() {
      // Start at the top of the document, not after its last line.
      text.setSelectionRange(0, 0);
      text.focus();
    },
    changed(doc, action) {
      // The stream also reports this editor's own writes; those are not news.
      if (busy || !current) return;
      if (action === 'delete') {
        note.textContent = 'This document was deleted elsewhere. Saving now fails; Close to go back to the list.';
      } else if (doc._updatedAt !== current._updatedAt) {
        note.textContent = 'This document was changed elsewhere. Saving replaces that change with what is here; Close and open it again to see the new version.';
      }
    },
  };
}
