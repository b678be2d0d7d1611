// The Data tab: a backend's collections and their documents, to look at, fix by hand and watch
// change live through the backend's admin change stream.
import {h, replace, field, errorBox, confirmDialog, table, plainClick} from '../dom.js';
import * as api from '../api.js';
import {collectionNameProblem} from '../names.js';
import {documentEditor, managedFields} from './data-editor.js';
import {followChanges} from './data-live.js';
import {indexesSection} from './data-indexes.js';
import {pager, coalesce, plural} from './data-parts.js';

const pageSize = 20;
const maxColumns = 6;
const maxCell = 80;
const rules = {
  authenticated: 'Every signed-in user reads and writes every document.',
  owner: 'Each signed-in user reads and changes only the documents they created.',
  'public-read': 'Anyone with the API key reads; signed-in users write.',
};

/** columnsOf picks a page's columns after _id: its own fields first, the server's last. */
function columnsOf(docs) {
  const own = new Set();
  const server = new Set();
  for (const d of docs) {
    for (const k of Object.keys(d)) {
      if (k !== '_id') (managedFields.includes(k) ? server : own).add(k);
    }
  }
  const all = [...own, ...managedFields.filter((k) => server.has(k))];
  return {shown: all.slice(0, maxColumns), hidden: Math.max(0, all.length - maxColumns)};
}

/** cellText is a value as JSON, cut short for a table cell; '' when the field is absent. */
function cellText(value) {
  if (value === undefined) return '';
  const s = JSON.stringify(value);
  return s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s;
}

/** ruleField is a rule's select, its hint saying what the chosen rule lets end users do. */
function ruleField(value) {
  const select = h('select', {name: 'rule'}, Object.keys(rules).map((r) => h('option', {value: r, selected: r === value}, r)));
  const f = field('Rule', select, rules[value]);
  const explain = () => { f.hint.textContent = rules[select.value]; };
  select.addEventListener('change', explain);
  return {...f, explain};
}

/** dataTab draws the collections and the chosen one's documents (tab.sub), and keeps them live. */
export function dataTab(tab) {
  const adminPath = (rest) => api.adminPath(tab.name, rest);
  const collectionPath = (c, rest = '') => adminPath(`/collections/${encodeURIComponent(c)}${rest}`);
  const dataUrl = (c) => `${tab.base}/data${c ? `/${encodeURIComponent(c)}` : ''}`;

  let collections = null; // as last listed; null until the first answer
  let current = tab.sub || null; // the chosen collection's name
  let built = null; // the collection the right-hand side is drawn for
  let skip = 0;
  let editor = null;
  const fresh = new Set(); // ids of documents to highlight when the table is next drawn
  let docsLoad = null;
  let listLoad = null;
  // Parts of the chosen collection's side, made by buildDetail.
  let detailParts = null;
  let docsTitle = null;
  let indexes = null; // the chosen collection's Indexes section
  let docsEl = null;
  let editorSlot = null;
  let pages = null;

  const live = h('p', {class: 'live', role: 'status'}, 'Connecting to live changes…');
  const listBox = errorBox();
  const listEl = h('ul', {class: 'list collections'});
  const listStatus = h('p', {class: 'hint', role: 'status'});
  const detail = h('div', {class: 'collection-detail'});
  const listTitle = h('h2', {id: 'collections-title', tabindex: '-1'}, 'Collections');
  const root = h('div', {class: 'data-tab'}, live,
    h('div', {class: 'split'},
      h('div', {class: 'data-side'}, h('section', {class: 'card', 'aria-labelledby': listTitle.id}, listTitle, listBox.el, listEl, listStatus), createForm()),
      detail));
  tab.el.append(root);

  // Choosing a collection updates the address without redrawing the page, so the change
  // stream stays connected; Back and reload open the same choice.
  function choose(name, {swap = false} = {}) {
    if (swap) history.replaceState(null, '', dataUrl(name));
    else history.pushState(null, '', dataUrl(name));
    current = name;
    sync();
  }

  function createForm() {
    const input = h('input', {type: 'text', name: 'collection', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: 80, placeholder: 'cars'});
    const nameField = field('Name', input, 'Letters, digits, "_" and "-", starting with a letter. Your app reaches it at /NAME.');
    const rule = ruleField('authenticated');
    const box = errorBox();
    const submit = h('button', {type: 'submit', class: 'btn primary', disabled: true}, 'Create collection');
    const check = () => {
      const problem = collectionNameProblem(input.value);
      nameField.setError(input.value === '' ? '' : problem);
      submit.disabled = problem !== '';
      return problem === '';
    };
    input.addEventListener('input', check);
    const form = h('form', {class: 'card create-collection', 'aria-labelledby': 'new-collection-title', novalidate: true},
      h('h2', {id: 'new-collection-title'}, 'New collection'), box.el, nameField.el, rule.el, h('div', {class: 'actions'}, submit));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      box.clear();
      if (!check()) {
        input.focus();
        return;
      }
      submit.disabled = true;
      try {
        const created = await api.post(adminPath('/collections'), {name: input.value, rule: rule.input.value}, {signal: tab.signal});
        input.value = '';
        listStatus.textContent = `Created ${created.name}.`;
        collections = [...(collections || []), created];
        choose(created.name);
        loadCollections();
      } catch (e) {
        if (api.isAbort(e)) return;
        if (e instanceof api.ApiError && (e.code === 'collection_exists' || e.code === 'invalid_name')) {
          nameField.setError(api.describe(e));
          input.focus();
        } else {
          box.show(api.describe(e));
        }
      } finally {
        check();
      }
    });
    return form;
  }

  async function loadCollections() {
    if (listLoad) listLoad.abort();
    const mine = listLoad = new AbortController();
    try {
      collections = await api.get(adminPath('/collections'), {signal: AbortSignal.any([tab.signal, mine.signal])});
      listBox.clear();
    } catch (e) {
      if (api.isAbort(e)) return;
      listBox.show(api.describe(e));
      return;
    }
    sync();
  }
  const refreshCollections = coalesce(loadCollections, 50);

  function drawList() {
    if (collections.length === 0) {
      replace(listEl, h('li', {class: 'empty-item muted'}, 'No collections yet. Create the first one below.'));
      return;
    }
    const byName = [...collections].sort((a, b) => a.name.localeCompare(b.name));
    replace(listEl, byName.map((c) => h('li', {dataset: {collection: c.name}},
      h('a', {
        href: dataUrl(c.name),
        'aria-current': c.name === current ? 'true' : null,
        onclick: (ev) => {
          if (!plainClick(ev)) return;
          ev.preventDefault();
          if (c.name !== current) choose(c.name);
        },
      }, h('span', {class: 'name'}, c.name), h('span', {class: 'muted count'}, `${plural(c.count, 'doc')} · ${c.rule}`)))));
  }

  // sync brings the right-hand side in line with the chosen collection and the listing.
  function sync() {
    if (!collections) return;
    drawList();
    const info = current && collections.find((c) => c.name === current);
    if (info && built === current) {
      detailParts.update(info);
      return;
    }
    if (info) {
      buildDetail(info);
      return;
    }
    built = null;
    editor = null;
    indexes = null;
    if (!current) {
      replace(detail, h('div', {class: 'card notice'},
        h('p', null, collections.length === 0
          ? 'A collection holds your app\'s documents. Create one, then add documents here or from your app.'
          : 'Pick a collection to see its documents.')));
      return;
    }
    replace(detail, h('div', {class: 'card notice'},
      h('p', null, `There is no collection named "${current}" (any more).`),
      h('p', null, h('a', {href: dataUrl(null)}, 'See all collections'))));
  }

  function buildDetail(info) {
    built = info.name;
    skip = 0;
    editor = null;
    fresh.clear();
    const name = info.name;
    const count = h('p', {class: 'muted collection-count'});
    let savedRule = info.rule;
    const rule = ruleField(info.rule);
    const ruleNote = h('p', {class: 'hint', role: 'status'});
    const ruleBox = errorBox();
    const saveRule = h('button', {type: 'submit', class: 'btn'}, 'Save rule');
    const ruleForm = h('form', {class: 'collection-rule', novalidate: true}, ruleBox.el, rule.el, ruleNote, h('div', {class: 'actions left'}, saveRule));
    ruleForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      ruleBox.clear();
      ruleNote.textContent = '';
      saveRule.disabled = true;
      try {
        const res = await api.patch(collectionPath(name), {rule: rule.input.value}, {signal: tab.signal});
        savedRule = res.rule;
        ruleNote.textContent = `Rule saved: ${res.rule}.`;
        refreshCollections();
      } catch (e) {
        if (api.isAbort(e)) return;
        ruleBox.show(api.describe(e));
      } finally {
        saveRule.disabled = false;
      }
    });
    const dropBox = errorBox();
    const drop = h('button', {type: 'button', class: 'btn danger delete-collection'}, 'Delete collection');
    drop.addEventListener('click', async () => {
      dropBox.clear();
      const known = collections.find((c) => c.name === name);
      const ok = await confirmDialog(`Delete ${name}?`,
        `This deletes the collection ${name} and all its documents (${plural(known ? known.count : 0, 'document')} now), for good. Your app's requests to /${name} will fail.`,
        'Delete collection');
      if (!ok) return;
      drop.disabled = true;
      try {
        await api.del(collectionPath(name), {signal: tab.signal});
        listStatus.textContent = `Deleted ${name}.`;
        collections = collections.filter((c) => c.name !== name);
        choose(null, {swap: true});
        listTitle.focus();
        loadCollections();
      } catch (e) {
        if (api.isAbort(e)) return;
        dropBox.show(api.describe(e));
        drop.disabled = false;
      }
    });

    const newDoc = h('button', {type: 'button', class: 'btn primary new-document'}, 'New document');
    newDoc.addEventListener('click', () => openEditor(null));
    editorSlot = h('div', {class: 'editor-slot'});
    docsEl = h('div', {class: 'docs'}, h('p', {class: 'muted'}, 'Loading documents…'));
    pages = pager(`Pages of ${name}`, pageSize, (at) => {
      skip = at;
      loadDocs();
    });
    pages.el.classList.add('docs-pager');
    docsTitle = h('h2', {id: 'documents-title', tabindex: '-1'}, 'Documents');
    indexes = indexesSection(tab, name);

    replace(detail,
      h('section', {class: 'card collection-head', 'aria-labelledby': 'collection-title'},
        h('div', {class: 'title-row'}, h('h2', {id: 'collection-title'}, name), drop),
        count, dropBox.el, ruleForm),
      h('section', {class: 'card documents-card', 'aria-labelledby': docsTitle.id},
        h('div', {class: 'title-row'}, docsTitle, newDoc),
        editorSlot, docsEl, pages.el),
      indexes.el);
    detailParts = {
      update(next) {
        count.textContent = `${plural(next.count, 'document')} · rule ${next.rule}`;
        // A rule changed elsewhere is shown, unless the developer is choosing another one.
        if (rule.input.value === savedRule) {
          rule.input.value = next.rule;
          rule.explain();
        }
        savedRule = next.rule;
      },
    };
    detailParts.update(info);
    loadDocs();
  }

  async function loadDocs() {
    const name = built;
    if (!name) return;
    if (docsLoad) docsLoad.abort();
    const mine = docsLoad = new AbortController();
    let res;
    try {
      // Newest first; _id breaks ties between documents made in the same millisecond, so the
      // pages neither repeat nor skip any.
      res = await api.request('GET', collectionPath(name, `/docs?limit=${pageSize}&skip=${skip}&count=true&sort=-_createdAt,-_id`), undefined,
        {signal: AbortSignal.any([tab.signal, mine.signal])});
    } catch (e) {
      if (api.isAbort(e)) return;
      replace(docsEl, h('div', {class: 'error', role: 'alert'}, api.describe(e)));
      return;
    }
    if (name !== built) return;
    const docs = res.data || [];
    const total = Number(res.headers.get('X-Total-Count')) || 0;
    if (docs.length === 0 && skip > 0) {
      // The page emptied (documents deleted): show the last one that has any.
      skip = pages.lastStart(total);
      loadDocs();
      return;
    }
    pages.show(skip, docs.length, total);
    drawDocs(name, docs);
  }
  const refreshDocs = coalesce(loadDocs, 50);

  function drawDocs(name, docs) {
    if (docs.length === 0) {
      fresh.clear();
      replace(docsEl, h('p', {class: 'empty muted'},
        `No documents in ${name} yet. Add one with New document, or from your app with POST /${name}.`));
      return;
    }
    const {shown, hidden} = columnsOf(docs);
    const rows = docs.map((d) => h('tr', {dataset: {id: d._id}, class: fresh.has(d._id) ? 'fresh' : null},
      h('th', {scope: 'row'}, h('button', {
        type: 'button', class: 'link mono open-doc', 'aria-label': `Open document ${d._id}`,
        onclick: () => openEditor(d),
      }, d._id)),
      shown.map((k) => h('td', {class: 'cell', title: d[k] === undefined ? null : JSON.stringify(d[k]).slice(0, 2000)}, cellText(d[k])))));
    fresh.clear();
    replace(docsEl,
      table(`Documents of ${name}, newest first`, ['_id', ...shown], rows, {class: 'documents'}),
      hidden > 0 ? h('p', {class: 'hint'}, `${plural(hidden, 'more field')} not shown here; open a document to see all of it.`) : null);
  }

  function openEditor(doc) {
    const name = built;
    editor = documentEditor({
      name: tab.name, collection: name, doc, signal: tab.signal,
      saved(savedDoc, created) {
        fresh.add(savedDoc._id);
        if (created) skip = 0;
        loadDocs();
      },
      deleted() {
        closeEditor();
        loadDocs();
      },
      close: closeEditor,
    });
    replace(editorSlot, editor.el);
    editor.focus();
  }

  function closeEditor() {
    editor = null;
    replace(editorSlot);
    docsTitle.focus();
  }

  followChanges(tab, root, {
    message(msg) {
      if (msg.kind === 'index' && msg.collection === built && indexes) indexes.refresh();
      if (msg.kind !== 'document' && msg.kind !== 'collection') return;
      refreshCollections();
      if (msg.kind !== 'document' || msg.collection !== built) return;
      const doc = msg.response || {};
      if (msg.action !== 'delete' && doc._id) fresh.add(doc._id);
      if (editor && doc._id && editor.id() === doc._id) editor.changed(doc, msg.action);
      refreshDocs();
    },
    status(online) {
      live.textContent = online ? 'Live: changes show here as they happen.' : 'Reconnecting to live changes…';
      live.classList.toggle('offline', !online);
      // What changed while the stream was down (or before it opened) was not sent.
      if (online) {
        refreshCollections();
        refreshDocs();
        if (indexes) indexes.refresh();
      }
    },
  });
  loadCollections();
}
