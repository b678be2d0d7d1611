// The Data tab's Indexes section: the chosen collection's indexes, to list, create and drop
// through the backend's admin port (GET, POST /admin/collections/NAME/indexes, DELETE …/NAME).
import {h, replace, field, errorBox, table} from '../dom.js';
import * as api from '../api.js';
import {deleteButton} from './data-parts.js';

// As many fields as the server takes in one index (coreapi's maxIndexFields).
const maxFields = 8;

/**
 * parseFields reads the form's comma-separated list ("-n, title"): {fields} to send, or
 * {problem} in words. Only what is plain to see is checked here; the server checks the rest.
 */
export function parseFields(text) {
  const fields = text.split(',').map((f) => f.trim());
  if (fields.length === 1 && fields[0] === '') return {problem: 'List at least one field, such as -createdAt, title.'};
  if (fields.includes('')) return {problem: 'There is an empty item between two commas.'};
  if (fields.length > maxFields) return {problem: `An index has at most ${maxFields} fields.`};
  const seen = new Set();
  for (const f of fields) {
    const path = f.startsWith('-') ? f.slice(1) : f;
    if (path === '') return {problem: 'Put a field name right after "-".'};
    if (path.split('.').some((part) => part === '')) return {problem: `"${path}" has an empty part between dots.`};
    if (path.split('.').some((part) => part.startsWith('$'))) return {problem: `"${path}": field names cannot start with "$".`};
    if (seen.has(path)) return {problem: `"${path}" is listed twice.`};
    seen.add(path);
  }
  return {fields};
}

/** describeIndexError says why the server refused an index, in words for the form. */
function describeIndexError(e) {
  if (!(e instanceof api.ApiError)) return api.describe(e);
  switch (e.code) {
    case 'invalid_index':
      return `These fields cannot be indexed: ${e.message}.`;
    case 'index_exists':
      return 'This collection already has an index on these fields (or with this name).';
    case 'too_many_indexes':
      return 'This collection has as many indexes as allowed. Delete one it no longer needs first.';
    case 'duplicate_values': {
      const fields = e.details && Array.isArray(e.details.fields) ? e.details.fields.join(', ') : 'these fields';
      return `Some documents already share the same ${fields}, so a unique index cannot be built. Change or delete those documents first, or leave Unique unticked.`;
    }
    default:
      return api.describe(e);
  }
}

/** fieldList shows an index's fields with their direction: "n descending, title ascending". */
function fieldList(fields) {
  return (fields || []).map((f, i) => {
    const desc = f.startsWith('-');
    return h('span', {class: 'index-field'}, i > 0 ? ', ' : null, h('code', null, desc ? f.slice(1) : f), desc ? ' descending' : ' ascending');
  });
}

/**
 * indexesSection draws the Indexes card of one collection. refresh() reloads the list (the
 * Data tab calls it when the change stream reports an index change).
 */
export function indexesSection(tab, collection) {
  const path = (rest = '') => api.adminPath(tab.name, `/collections/${encodeURIComponent(collection)}/indexes${rest}`);
  const title = h('h2', {id: 'indexes-title', tabindex: '-1'}, 'Indexes');
  const listEl = h('div', {class: 'indexes'}, h('p', {class: 'muted'}, 'Loading indexes…'));
  const listBox = errorBox();
  const status = h('p', {class: 'hint', role: 'status'});
  let load = null;

  async function refresh() {
    if (load) load.abort();
    const mine = load = new AbortController();
    let indexes;
    try {
      indexes = await api.get(path(), {signal: AbortSignal.any([tab.signal, mine.signal])});
    } catch (e) {
      if (api.isAbort(e)) return;
      listBox.show(api.describe(e));
      return;
    }
    listBox.clear();
    draw(Array.isArray(indexes) ? indexes : []);
  }

  function draw(indexes) {
    if (indexes.length === 0) {
      replace(listEl, h('p', {class: 'empty muted'}, `No indexes on ${collection} besides the one on _id. Add one for the fields your app filters or sorts on.`));
      return;
    }
    const rows = indexes.map((ix) => h('tr', {dataset: {index: ix.name}},
      h('th', {scope: 'row', class: 'index-name'}, ix.name),
      h('td', null, fieldList(ix.fields)),
      h('td', null, ix.unique ? 'Unique' : 'No'),
      h('td', {class: 'row-actions'}, deleteButton(tab, {
        className: 'drop-index', label: `Delete index ${ix.name}`, title: `Delete index ${ix.name}?`,
        message: `Queries on ${collection} that use it get slower${ix.unique ? ', and its fields no longer need to be unique' : ''}. The documents stay as they are.`,
        confirmLabel: 'Delete index', path: path(`/${encodeURIComponent(ix.name)}`), deleted: `Deleted index ${ix.name}.`,
        status, box: listBox, after: refresh, focusAfter: title,
      }))));
    replace(listEl, table(`Indexes of ${collection}`, ['Name', 'Fields', 'Unique', ''], rows, {class: 'indexes-table'}),
      h('p', {class: 'hint'}, 'Every collection also has the unique index on _id, which is not listed.'));
  }

  const input = h('input', {type: 'text', name: 'fields', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', placeholder: '-createdAt, title'});
  const fieldsField = field('Fields', input, 'Field names separated by commas, most significant first; "-" before a name sorts it descending. Dots reach into objects (address.city).');
  const unique = h('input', {type: 'checkbox', name: 'unique'});
  const uniqueLabel = h('label', {class: 'checkbox'}, unique, ' Unique: refuse a second document with the same values');
  const box = errorBox();
  const submit = h('button', {type: 'submit', class: 'btn primary'}, 'Create index');
  const form = h('form', {class: 'create-index', novalidate: true, 'aria-label': `New index on ${collection}`},
    h('h3', null, 'New index'), box.el, fieldsField.el, h('div', {class: 'field'}, uniqueLabel), h('div', {class: 'actions left'}, submit));
  input.addEventListener('input', () => fieldsField.setError(''));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    box.clear();
    status.textContent = '';
    const {fields, problem} = parseFields(input.value);
    fieldsField.setError(problem || '');
    if (problem) {
      input.focus();
      return;
    }
    submit.disabled = true;
    try {
      const created = await api.post(path(), {fields, unique: unique.checked}, {signal: tab.signal});
      input.value = '';
      unique.checked = false;
      status.textContent = `Created index ${created.name}.`;
      refresh();
    } catch (e) {
      if (api.isAbort(e)) return;
      if (e instanceof api.ApiError && e.code === 'invalid_index') {
        fieldsField.setError(describeIndexError(e));
        input.focus();
      } else {
        box.show(describeIndexError(e));
      }
    } finally {
      submit.disabled = false;
    }
  });

  const el = h('section', {class: 'card indexes-card', 'aria-labelledby': title.id},
    h('div', {class: 'title-row'}, title), listBox.el, listEl, status, form);
  refresh();
  return {el, refresh};
}
