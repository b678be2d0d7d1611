// A backend's overview: where it answers, its API key, the SDK snippet, its services, and the
// deployment in progress (or the last one) streamed step by step.
import {h, replace, copyButton, confirmDialog, errorBox, table, when} from '../dom.js';
import * as api from '../api.js';
import {followOperation} from '../live.js';
import {scaleSection} from './scale.js';

/** snippet is what a developer pastes into their site to use this backend; key is shown as given. */
function snippet(b, key = b.apiKey) {
  return `<script src="${b.apiUrl}/sdk.js"></script>
<script>
  const backpack = createSdk(${JSON.stringify(b.apiUrl)}, ${JSON.stringify(key || 'API_KEY')});
  // e.g. await backpack.auth.login(email, password);
  //      const todos = await backpack.db.getCollection("todos");
</script>`;
}

function services(b) {
  if (!b.services || b.services.length === 0) {
    return h('p', {class: 'muted'}, b.state === 'deleted' ? 'Nothing runs: the backend is deleted.' : 'No services yet.');
  }
  return table('Services', ['Service', 'Tasks (running / wanted)', 'Node', 'Problem'], b.services.map((s) =>
    h('tr', {dataset: {service: s.name}},
      h('th', {scope: 'row'}, s.name),
      h('td', {class: s.running < s.desired ? 'warn' : null}, `${s.running} / ${s.desired}`),
      h('td', null, s.node || '—'),
      h('td', null, s.lastError || ''))), {class: 'services'});
}

/** overviewTab draws the overview and keeps it current. */
export function overviewTab(tab) {
  const keyOut = h('code', {class: 'secret', id: 'api-key'});
  let revealed = false;
  const masked = '•'.repeat(24);
  // The key stays hidden on screen (and in the snippet) until asked for; copying takes the real one.
  const showKey = () => {
    keyOut.textContent = revealed ? tab.backend().apiKey : masked;
    code.textContent = snippet(tab.backend(), revealed ? tab.backend().apiKey : masked);
  };
  const reveal = h('button', {type: 'button', class: 'btn small', 'aria-controls': 'api-key', 'aria-pressed': 'false'}, 'Show');
  reveal.addEventListener('click', () => {
    revealed = !revealed;
    reveal.textContent = revealed ? 'Hide' : 'Show';
    reveal.setAttribute('aria-pressed', String(revealed));
    showKey();
  });
  const rotate = h('button', {type: 'button', class: 'btn small danger'}, 'Rotate key');
  const keyBox = errorBox();
  rotate.addEventListener('click', async () => {
    keyBox.clear();
    const ok = await confirmDialog('Rotate the API key?',
      'A new key is made and works at once; the current one keeps working for a few seconds (10 by default), so requests already sent succeed, then stops. Sites and apps using it must be updated with the new key.', 'Rotate key');
    if (!ok) return;
    rotate.disabled = true;
    try {
      const res = await api.post(api.backendPath(tab.name, '/api-key'), undefined, {signal: tab.signal});
      Object.assign(tab.backend(), {apiKey: res.apiKey});
      revealed = true;
      reveal.textContent = 'Hide';
      reveal.setAttribute('aria-pressed', 'true');
      showKey();
      keyBox.clear();
      keyNote.textContent = 'New key in place. The old one stops working in a few seconds.';
    } catch (e) {
      if (api.isAbort(e)) return;
      keyBox.show(api.describe(e));
    } finally {
      rotate.disabled = !api.reachable(tab.backend());
    }
  });
  const keyNote = h('p', {class: 'hint', role: 'status'});
  const code = h('code');
  const servicesEl = h('div');
  const facts = h('dl', {class: 'facts'});
  const steps = h('ol', {class: 'steps', 'aria-live': 'polite'});
  const outcome = h('p', {class: 'outcome', role: 'status'});
  const scale = scaleSection(tab);

  const drawFacts = () => {
    const b = tab.backend();
    replace(facts,
      h('dt', null, 'API'), h('dd', null, h('a', {href: b.apiUrl, target: '_blank', rel: 'noopener', class: 'api-url'}, b.apiUrl)),
      h('dt', null, 'Site'), h('dd', null, h('a', {href: b.siteUrl, target: '_blank', rel: 'noopener', class: 'site-url'}, b.siteUrl)),
      h('dt', null, 'Owner'), h('dd', null, b.owner),
      h('dt', null, 'Created'), h('dd', null, when(b.createdAt)),
      h('dt', null, 'Node'), h('dd', null, b.node || '—'));
    replace(servicesEl, services(b));
    rotate.disabled = !api.reachable(b);
    rotate.title = api.reachable(b) ? '' : 'The key can be rotated once the backend is running.';
  };

  let following = false;
  const follow = () => {
    if (following) return;
    following = true;
    replace(steps);
    outcome.textContent = 'Following…';
    outcome.className = 'outcome';
    followOperation(tab, api.backendPath(tab.name, '/events'), {
      // A copy's restore and the backups taken are steps of the operation too.
      kinds: ['progress', 'state', 'error', 'backup', 'restore'],
      each(ev) {
        steps.append(h('li', {class: `step step-${ev.kind}`, dataset: {kind: ev.kind}},
          h('time', {datetime: ev.at, title: ev.at}, new Date(ev.at).toLocaleTimeString()), ' ', ev.message));
      },
      end(res) {
        following = false;
        const b = tab.backend();
        const words = {
          running: 'Running. The API and the site answer at the addresses above.',
          failed: `Failed: ${b.lastError || 'see the errors above'}. Backpack keeps retrying; fix the cause or delete the backend.`,
          deleted: res.message === 'purged' ? 'Deleted, data purged.' : 'Deleted. Its data is kept: create the same name again to bring it back.',
          degraded: `Degraded: ${b.lastError || 'a health check failed'}. It recovers by itself when it can.`,
        };
        outcome.textContent = words[res.state] || `Now ${res.state}.`;
        outcome.className = `outcome outcome-${res.state}`;
        if (res.state === 'deleting' || res.state === 'creating') follow();
      },
    });
  };

  tab.el.append(
    h('div', {class: 'grid'},
      h('section', {class: 'card'}, h('h2', null, 'Addresses'), facts),
      h('section', {class: 'card'},
        h('h2', null, 'API key'),
        h('p', {class: 'key-row'}, keyOut),
        h('div', {class: 'actions left'}, reveal, copyButton('Copy key', () => tab.backend().apiKey), rotate),
        keyBox.el, keyNote)),
    h('section', {class: 'card'},
      h('h2', null, 'Use it from your site'),
      h('p', null, 'Paste this into a page of your site. See the SDK guide for every call.'),
      h('pre', {class: 'snippet'}, code),
      h('div', {class: 'actions left'}, copyButton('Copy snippet', () => snippet(tab.backend())))),
    h('section', {class: 'card'}, h('h2', null, 'Services'), servicesEl),
    scale.el,
    h('section', {class: 'card'}, h('h2', null, 'Deployment'), steps, outcome));
  showKey();
  drawFacts();
  follow();
  // A new state may come from a new operation (a delete) or from a retry that succeeded after
  // the stream ended (failed → running): either way the stream tells the whole story again.
  // A new count of API replicas or a new release rolls the API within the same operation: its
  // steps are told again from the start, with the new ones.
  const rollOf = (b) => `${(b.replicas && b.replicas.api) || 1} ${b.upgrading} ${b.apiImage || ''}`;
  let lastState = tab.backend().state;
  let lastRoll = rollOf(tab.backend());
  tab.onChange((b) => {
    drawFacts();
    scale.fill(b);
    showKey();
    if (b.state !== lastState || rollOf(b) !== lastRoll) follow();
    lastState = b.state;
    lastRoll = rollOf(b);
  });
}
