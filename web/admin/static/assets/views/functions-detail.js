// One function in the Functions tab: its code and settings to edit and deploy, a way to delete
// it, and beside them Invoke and the followed logs.
import {h, replace, field, errorBox, confirmDialog, when} from '../dom.js';
import * as api from '../api.js';
import {collectionNameProblem} from '../names.js';
import {codeEditor} from './functions-code.js';
import {functionInvoke} from './functions-invoke.js';
import {functionLogs} from './functions-logs.js';

/** parseCollections reads "orders, items" into names: {value} or {problem}. */
function parseCollections(text) {
  const value = text.split(/[\s,]+/).filter(Boolean);
  for (const c of value) {
    const problem = collectionNameProblem(c);
    if (problem) return {problem: `"${c}": ${problem}`};
  }
  if (new Set(value).size !== value.length) return {problem: 'A collection is listed twice.'};
  return {value};
}

/** parseEnv reads NAME=value lines (blank lines and # comments skipped): {value} or {problem}. */
function parseEnv(text) {
  const value = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq === -1 ? '' : line.slice(0, eq).trim();
    if (key === '') return {problem: `Line ${i + 1}: write NAME=value.`};
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(key)) return {problem: `Line ${i + 1}: ${key} must be letters, digits and _, not starting with a digit.`};
    if (Object.hasOwn(value, key)) return {problem: `Line ${i + 1}: ${key} is set twice.`};
    value[key] = line.slice(eq + 1);
  }
  return {value};
}

// The time limits the server takes, in ms.
const minTimeout = 10;
const maxTimeout = 60000;

/** parseTimeout reads the time limit in ms; empty keeps the server's default. */
function parseTimeout(text) {
  const t = text.trim();
  if (t === '') return {value: undefined};
  if (!/^\d+$/.test(t) || Number(t) < minTimeout || Number(t) > maxTimeout) {
    return {problem: `Enter a whole number of milliseconds from ${minTimeout} to ${maxTimeout} (5000 is 5 seconds).`};
  }
  return {value: Number(t)};
}

/** envText writes env as NAME=value lines. */
function envText(env) {
  return Object.entries(env || {}).map(([k, v]) => `${k}=${v}`).join('\n');
}

/**
 * functionDetail draws one function, loaded from the admin port, until signal aborts.
 * deployed(fn) and deleted(name) let the tab refresh its list. Returns {el, dirty()}: dirty
 * says whether the page holds changes not deployed.
 */
export function functionDetail({backend, name, signal, deployed, deleted, listUrl}) {
  const fnPath = (rest = '') => api.adminPath(backend, `/functions/${encodeURIComponent(name)}${rest}`);
  const el = h('div', {class: 'fn-detail'}, h('p', {class: 'muted'}, 'Loading…'));
  let saved = null; // what the form held when last loaded or deployed
  let read = () => null;

  const drawMissing = () => replace(el, h('div', {class: 'card notice'},
    h('p', null, `There is no function named "${name}" (any more).`),
    h('p', null, h('a', {href: listUrl}, 'See all functions'))));

  const draw = (fn) => {
    const title = h('h2', {id: 'fn-title', class: 'fn-name'}, name);
    const facts = h('dl', {class: 'facts fn-facts'});
    const showFacts = (f) => replace(facts,
      h('dt', null, 'Version'), h('dd', {class: 'fn-version'}, String(f.version)),
      h('dt', null, 'Deployed'), h('dd', null, when(f.updatedAt)),
      h('dt', null, 'Handlers'), h('dd', {class: 'fn-handlers'}, f.handlers && f.handlers.length
        ? f.handlers.join(', ') : h('span', {class: 'warn'}, 'none: define onRequest or a hook for it to do anything')),
      h('dt', null, 'Address'), h('dd', null, h('code', null, `/fn/${name}`)));
    const editor = codeEditor('Code', 'Enter keeps the indentation; Tab indents by two spaces, Shift+Tab dedents. Press Esc, then Tab, to leave the editor.');
    const collections = h('input', {type: 'text', name: 'collections', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', placeholder: 'orders, items'});
    const collectionsField = field('Collections', collections, 'The collections whose writes run its hooks (beforeCreate, afterUpdate, …), separated by commas.');
    const timeout = h('input', {type: 'text', name: 'timeoutMs', inputmode: 'numeric', autocomplete: 'off', placeholder: '5000'});
    const timeoutField = field('Time limit (ms)', timeout, `Longer runs end with 504 function_timeout. Empty: 5000; at most ${maxTimeout}.`);
    const env = h('textarea', {name: 'env', spellcheck: 'false', autocapitalize: 'none', autocomplete: 'off', rows: 3, class: 'fn-env'});
    const envField = field('Settings (ctx.env)', env, 'One NAME=value a line. Anyone who can deploy can read them.');
    const box = errorBox();
    const status = h('p', {class: 'hint fn-status-line', role: 'status'});
    const deploy = h('button', {type: 'submit', class: 'btn primary deploy'}, 'Deploy');
    const remove = h('button', {type: 'button', class: 'btn danger delete'}, 'Delete');
    const form = h('form', {class: 'card fn-editor', 'aria-labelledby': title.id, novalidate: true},
      h('div', {class: 'title-row'}, title), facts, editor.el,
      h('div', {class: 'fn-settings'}, collectionsField.el, timeoutField.el), envField.el,
      box.el, status, h('div', {class: 'actions'}, remove, deploy));

    read = () => ({source: editor.value(), collections: collections.value, env: env.value, timeout: timeout.value});
    const load = (f) => {
      editor.setValue(f.source || '');
      collections.value = (f.collections || []).join(', ');
      env.value = envText(f.env);
      timeout.value = f.timeoutMs ? String(f.timeoutMs) : '';
      saved = read();
      showFacts(f);
    };
    load(fn);
    let version = fn.version;
    const markDirty = () => {
      const dirty = JSON.stringify(read()) !== JSON.stringify(saved);
      status.textContent = dirty ? 'You have changes that are not deployed.' : '';
    };
    form.addEventListener('input', markDirty);

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      box.clear();
      const parsed = [[collectionsField, collections, parseCollections(collections.value)],
        [timeoutField, timeout, parseTimeout(timeout.value)], [envField, env, parseEnv(env.value)]];
      let firstBad = null;
      for (const [f, input, r] of parsed) {
        f.setError(r.problem || '');
        if (r.problem && !firstBad) firstBad = input;
      }
      if (firstBad) {
        firstBad.focus();
        return;
      }
      const [c, t, e] = parsed.map(([, , r]) => r.value);
      const body = {source: editor.value(), collections: c, env: e};
      if (t !== undefined) body.timeoutMs = t;
      const sent = read();
      deploy.disabled = true;
      status.textContent = 'Deploying…';
      try {
        const result = await api.put(fnPath(), body, {signal});
        editor.clearError();
        version = result.version;
        showFacts({...fn, ...result});
        saved = sent;
        markDirty();
        if (!status.textContent) status.textContent = `Deployed version ${result.version}. Every replica runs it within 2 seconds.`;
        deployed(result);
      } catch (err) {
        if (api.isAbort(err)) return;
        status.textContent = '';
        if (err instanceof api.ApiError && err.code === 'syntax_error') {
          const {line, column} = err.details;
          // The server's message may start with the position the page gives anyway.
          const why = err.message.replace(/^line \d+(, column \d+)?:\s*/i, '');
          editor.markError(line, column, `Syntax error at line ${line}, column ${column}: ${why}`);
          status.textContent = `Nothing was deployed: version ${version} still runs.`;
        } else {
          box.show(api.describe(err));
        }
      } finally {
        deploy.disabled = false;
      }
    });

    remove.addEventListener('click', async () => {
      const ok = await confirmDialog(`Delete ${name}?`,
        `Its code, settings and logs go, and /fn/${name} answers 404 function_not_found at once. This cannot be undone.`, 'Delete function');
      if (!ok) return;
      box.clear();
      remove.disabled = true;
      try {
        await api.del(fnPath(), {signal});
        saved = null;
        deleted(name);
      } catch (err) {
        if (api.isAbort(err)) return;
        if (err instanceof api.ApiError && err.code === 'function_not_found') deleted(name);
        else box.show(api.describe(err));
      } finally {
        remove.disabled = false;
      }
    });

    replace(el, form, h('div', {class: 'fn-tools'},
      functionInvoke({backend, name, signal}).el,
      functionLogs({backend, name, signal}).el));
  };

  (async () => {
    try {
      draw(await api.get(fnPath(), {signal}));
    } catch (e) {
      if (api.isAbort(e)) return;
      if (e instanceof api.ApiError && e.code === 'function_not_found') drawMissing();
      else replace(el, h('div', {class: 'error', role: 'alert'}, api.describe(e)));
    }
  })();

  return {
    el,
    dirty: () => saved !== null && JSON.stringify(read()) !== JSON.stringify(saved),
  };
}
