// The operator's settings: who may register, the invites handed out, and the developers with
// an account on this server.
import {h, replace, field, errorBox, table, when, copyButton, confirmDialog, choice} from '../dom.js';
import * as api from '../api.js';

const modes = [
  {value: 'open', label: 'Open', text: 'Anyone who can reach this server may create an account.'},
  {value: 'invite', label: 'Invite only', text: 'People need an invite from you (made below) to create an account.'},
  {value: 'closed', label: 'Closed', text: 'Nobody can create an account. Existing accounts keep working.'},
];

/** registrationSection lets the operator choose the registration mode. */
function registrationSection(ctx) {
  const radios = modes.map((m) => {
    const r = choice('registration', m.value, m.label, m.text);
    r.input.disabled = true;
    return r;
  });
  const save = h('button', {type: 'submit', class: 'btn primary', disabled: true}, 'Save');
  const status = h('p', {class: 'hint', role: 'status'});
  const box = errorBox();
  const form = h('form', {class: 'registration', novalidate: true},
    box.el,
    h('fieldset', null, h('legend', null, 'Who may create an account'), radios.map((r) => r.el)),
    h('div', {class: 'actions left'}, save), status);
  for (const r of radios) r.input.addEventListener('change', () => { status.textContent = ''; });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    box.clear();
    const chosen = radios.find((r) => r.input.checked);
    if (!chosen) return;
    save.disabled = true;
    try {
      const res = await api.patch('/api/settings', {registration: chosen.input.value}, {signal: ctx.signal});
      const mode = modes.find((m) => m.value === res.registration);
      status.textContent = `Saved. Registration is now ${mode ? mode.label.toLowerCase() : res.registration}.`;
    } catch (e) {
      if (api.isAbort(e)) return;
      box.show(api.describe(e));
    } finally {
      save.disabled = false;
    }
  });

  (async () => {
    try {
      const settings = await api.get('/api/settings', {signal: ctx.signal});
      for (const r of radios) {
        r.input.disabled = false;
        r.input.checked = r.input.value === settings.registration;
      }
      save.disabled = false;
    } catch (e) {
      if (!api.isAbort(e)) box.show(api.describe(e));
    }
  })();
  return h('section', {class: 'card'}, h('h2', null, 'Registration'), form);
}

/** inviteStatus says whether an invite can still be used. */
function inviteStatus(inv) {
  if (inv.usedAt) return 'used';
  if (new Date(inv.expiresAt) <= new Date()) return 'expired';
  return 'active';
}

/** invitesSection makes invites, shows a new one's code once, and lists and revokes them. */
function invitesSection(ctx) {
  const emailInput = h('input', {type: 'email', name: 'invite-email', autocomplete: 'off', spellcheck: 'false'});
  const email = field('Email (optional)', emailInput, 'Only this address can use the invite. Leave it empty for an invite anyone can use once.');
  const create = h('button', {type: 'submit', class: 'btn primary'}, 'Create invite');
  const box = errorBox();
  const form = h('form', {class: 'invite-form', novalidate: true}, box.el, email.el, h('div', {class: 'actions left'}, create));
  const fresh = h('div', {class: 'invite-new', hidden: true});
  const list = h('div', {class: 'invite-list'}, h('p', {class: 'muted'}, 'Loading the invites…'));
  const listBox = errorBox();
  const listStatus = h('p', {class: 'hint invite-list-status', role: 'status'});
  let shown = null;

  const showFresh = (inv) => {
    shown = inv.id;
    const link = `${location.origin}/signup?invite=${encodeURIComponent(inv.code)}`;
    fresh.dataset.invite = inv.id;
    replace(fresh,
      h('p', {role: 'status'}, h('strong', null, 'Invite created. '),
        'Copy it now: the code is shown only this once. Send the link (or the code) to the person who should register.'),
      h('dl', {class: 'facts'},
        h('dt', null, 'Sign-up link'), h('dd', null, h('code', {class: 'invite-link'}, link), ' ', copyButton('Copy link', () => link)),
        h('dt', null, 'Code'), h('dd', null, h('code', {class: 'invite-code'}, inv.code), ' ', copyButton('Copy code', () => inv.code)),
        h('dt', null, 'For'), h('dd', null, inv.email || 'anyone (one use)'),
        h('dt', null, 'Expires'), h('dd', null, when(inv.expiresAt))));
    fresh.hidden = false;
  };

  const revoke = async (inv, button) => {
    listBox.clear();
    listStatus.textContent = '';
    const who = inv.email || 'anyone';
    const ok = await confirmDialog('Revoke this invite?', `The invite for ${who} stops working at once. You can make a new one later.`, 'Revoke');
    if (!ok) return;
    button.disabled = true;
    try {
      await api.del(`/api/invites/${encodeURIComponent(inv.id)}`, {signal: ctx.signal});
      listStatus.textContent = `Revoked the invite for ${who}.`;
      if (shown === inv.id) {
        shown = null;
        replace(fresh);
        fresh.hidden = true;
      }
    } catch (e) {
      if (api.isAbort(e)) return;
      listBox.show(e instanceof api.ApiError && e.code === 'invite_not_found' ? 'That invite no longer exists.' : api.describe(e));
    }
    load();
  };

  const nextLoad = api.latestOnly(ctx.signal);
  const load = async () => {
    try {
      const {invites} = await api.get('/api/invites', {signal: nextLoad()});
      if (invites.length === 0) {
        replace(list, h('p', {class: 'muted'}, 'No invites yet.'));
        return;
      }
      replace(list, table('Invites, newest first', ['For', 'Status', 'Created', 'Expires', 'Action'], invites.map((inv) => {
        const status = inviteStatus(inv);
        return h('tr', {dataset: {invite: inv.id, status}},
          h('th', {scope: 'row'}, inv.email || h('span', {class: 'muted'}, 'anyone')),
          h('td', null, h('span', {class: `invite-status status-${status}`}, status),
            inv.usedAt ? h('span', {class: 'muted'}, ' ', when(inv.usedAt)) : null),
          h('td', null, when(inv.createdAt)),
          h('td', null, when(inv.expiresAt)),
          h('td', null, status === 'active'
            ? h('button', {type: 'button', class: 'btn small danger revoke', 'aria-label': `Revoke the invite for ${inv.email || 'anyone'}`,
              onclick: (ev) => revoke(inv, ev.currentTarget)}, 'Revoke')
            : ''));
      }), {class: 'invites'}));
    } catch (e) {
      if (!api.isAbort(e)) listBox.show(api.describe(e));
    }
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    box.clear();
    email.setError('');
    listStatus.textContent = '';
    const address = emailInput.value.trim();
    create.disabled = true;
    try {
      const inv = await api.post('/api/invites', address ? {email: address} : {}, {signal: ctx.signal});
      showFresh(inv);
      form.reset();
      load();
    } catch (e) {
      if (api.isAbort(e)) return;
      if (e instanceof api.ApiError && e.details.field === 'email') {
        email.setError(api.describe(e));
        emailInput.focus();
      } else {
        box.show(api.describe(e));
      }
    } finally {
      create.disabled = false;
    }
  });

  load();
  return h('section', {class: 'card invites-section'},
    h('h2', null, 'Invites'),
    h('p', null, 'While registration is invite only, an account needs an invite. Each invite works once and for 7 days.'),
    form, fresh,
    h('h3', null, 'Invites made'),
    listBox.el, listStatus, list);
}

/** developersSection lists every account on the server. */
function developersSection(ctx) {
  const body = h('div', null, h('p', {class: 'muted'}, 'Loading the developers…'));
  const box = errorBox();
  (async () => {
    try {
      const {developers} = await api.get('/api/developers', {signal: ctx.signal});
      replace(body, table('Developers, oldest first', ['Email', 'Role', 'Joined'], developers.map((d) =>
        h('tr', {dataset: {developer: d.id}},
          h('th', {scope: 'row'}, d.email),
          h('td', null, d.role === 'admin' ? 'operator' : 'developer'),
          h('td', null, when(d.createdAt)))), {class: 'developers'}));
    } catch (e) {
      if (api.isAbort(e)) return;
      replace(body);
      box.show(api.describe(e));
    }
  })();
  return h('section', {class: 'card'}, h('h2', null, 'Developers'), box.el, body);
}

/** settingsView is the operator's page for the server's registration, invites and accounts. */
export function settingsView(ctx) {
  ctx.main.append(
    h('h1', null, 'Settings'),
    registrationSection(ctx),
    invitesSection(ctx),
    developersSection(ctx));
}
