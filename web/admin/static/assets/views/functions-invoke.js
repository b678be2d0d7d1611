// Trying a function from the panel: its onRequest runs on the backend as the operator (ctx.user
// is null) with the method, path and JSON body given here, and the page shows what it answered.
import {h, replace, field, errorBox} from '../dom.js';
import * as api from '../api.js';

const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** bodyProblem explains why the body text cannot be sent, or returns ''. Empty means no body. */
function bodyProblem(text, method) {
  if (text.trim() === '') return '';
  if (method === 'GET') return 'A GET request has no body: choose another method, or empty the body.';
  try {
    JSON.parse(text);
  } catch (e) {
    return `This is not valid JSON (${e.message}).`;
  }
  return '';
}

/** shown is an answer's body as text: strings as they are, anything else as indented JSON. */
function shown(body) {
  if (typeof body === 'string') return body;
  return JSON.stringify(body === undefined ? null : body, null, 2);
}

/** functionInvoke draws the Invoke section of one function. Returns {el}. */
export function functionInvoke({backend, name, signal}) {
  const method = h('select', {name: 'method'}, methods.map((m) => h('option', {value: m}, m)));
  method.value = 'POST';
  const path = h('input', {type: 'text', name: 'path', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', placeholder: 'orders/42'});
  const body = h('textarea', {name: 'body', spellcheck: 'false', autocapitalize: 'none', autocomplete: 'off', rows: 5, class: 'fn-body'});
  body.value = '{}';
  const pathField = field('Path', path, `After /fn/${name}/ (req.path); leave empty for /fn/${name}.`);
  const bodyField = field('Body (JSON)', body, 'req.body. Empty sends no body.');
  const box = errorBox();
  const run = h('button', {type: 'submit', class: 'btn primary'}, 'Invoke');
  const result = h('div', {class: 'fn-result', role: 'status', 'aria-live': 'polite'});
  const title = h('h2', {id: 'fn-invoke-title'}, 'Invoke');

  const check = () => {
    const problem = bodyProblem(body.value, method.value);
    bodyField.setError(problem);
    return problem === '';
  };
  body.addEventListener('input', check);
  method.addEventListener('change', () => {
    // An empty object is only the form's default: a GET simply has no body.
    if (method.value === 'GET' && body.value.trim() === '{}') body.value = '';
    check();
  });

  const showAnswer = ({status, durationMs, headers, body: answer, code, message}) => {
    const failed = code !== undefined;
    const headerList = Object.entries(headers || {});
    replace(result,
      h('dl', {class: 'facts'},
        h('dt', null, 'Status'), h('dd', {class: status >= 400 ? 'fn-status bad' : 'fn-status'}, String(status), failed ? ` · ${code}` : null),
        durationMs !== undefined ? [h('dt', null, 'Duration'), h('dd', {class: 'fn-duration'}, `${durationMs} ms`)] : null),
      headerList.length ? h('details', {class: 'fn-headers'}, h('summary', null, `Headers (${headerList.length})`),
        h('pre', null, headerList.map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('\n'))) : null,
      h('pre', {class: failed ? 'fn-answer bad' : 'fn-answer'}, failed ? message : shown(answer)));
  };

  const form = h('form', {class: 'fn-invoke', novalidate: true},
    h('div', {class: 'inline'}, field('Method', method).el, pathField.el),
    bodyField.el, box.el, h('div', {class: 'actions left'}, run));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    box.clear();
    if (!check()) {
      body.focus();
      return;
    }
    const payload = {method: method.value, path: path.value.replace(/^\/+/, '')};
    if (body.value.trim() !== '') payload.body = JSON.parse(body.value);
    run.disabled = true;
    replace(result, h('p', {class: 'hint'}, 'Running…'));
    try {
      const res = await api.send('POST', api.adminPath(backend, `/functions/${encodeURIComponent(name)}/invoke`), payload, {signal});
      if (!res.ok && api.fromBackend(res)) {
        // The function failed (threw, ran too long, or threw an HttpError): its answer, not the panel's problem.
        const e = await res.json().then((d) => d.error || {}, () => ({}));
        showAnswer({status: res.status, code: e.code || `http_${res.status}`, message: e.message || res.statusText});
        return;
      }
      showAnswer((await api.parse(res)).data);
    } catch (e) {
      if (api.isAbort(e)) return;
      replace(result);
      box.show(api.describe(e));
    } finally {
      run.disabled = false;
    }
  });

  return {
    el: h('section', {class: 'card fn-invoke-card', 'aria-labelledby': title.id}, title,
      h('p', {class: 'hint'}, 'Runs the deployed version\'s onRequest now, as the operator: ctx.user is null.'),
      form, result),
  };
}
