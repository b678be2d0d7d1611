// Signing in and creating an account.
import {h, add, field, errorBox} from '../dom.js';
import * as api from '../api.js';

/** fieldErrors puts an API error next to the field it names (details.field), else in the form's box. */
function showError(err, fields, box) {
  const f = err instanceof api.ApiError && fields[err.details.field];
  if (f) {
    f.setError(api.describe(err));
    f.input.focus();
  } else {
    box.show(api.describe(err));
  }
}

function credentialsForm(ctx, {submitLabel, signup = false, invite: inviteCode = '', action}) {
  const email = field('Email', h('input', {type: 'email', name: 'email', autocomplete: 'email', required: true}));
  const password = field('Password', h('input', {
    type: 'password', name: 'password', required: true, minlength: signup ? 8 : null,
    autocomplete: signup ? 'new-password' : 'current-password',
  }), signup ? 'At least 8 characters.' : null);
  const invite = signup ? field('Invite code (if you were given one)',
    h('input', {type: 'text', name: 'invite', autocomplete: 'off', spellcheck: 'false', value: inviteCode})) : null;
  const box = errorBox();
  const submit = h('button', {type: 'submit', class: 'btn primary'}, submitLabel);
  const fields = {email, password, invite};
  const form = h('form', {class: 'card narrow', novalidate: true},
    box.el, email.el, password.el, invite && invite.el, h('div', {class: 'actions'}, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    box.clear();
    for (const f of Object.values(fields)) if (f) f.setError('');
    if (!email.input.value.trim()) { email.setError('Enter your email.'); email.input.focus(); return; }
    if (!password.input.value) { password.setError('Enter a password.'); password.input.focus(); return; }
    submit.disabled = true;
    try {
      const body = {email: email.input.value.trim(), password: password.input.value};
      if (invite && invite.input.value.trim()) body.invite = invite.input.value.trim();
      const res = await action(body);
      ctx.signedIn(res.developer, ctx.query.get('next'));
    } catch (e) {
      showError(e, fields, box);
      submit.disabled = false;
    }
  });
  return {form, email};
}

/** signinView is the sign-in page. */
export function signinView(ctx) {
  const {form, email} = credentialsForm(ctx, {submitLabel: 'Sign in', action: (b) => api.post('/api/auth/login', b)});
  add(ctx.main,
    h('h1', null, 'Sign in to Backpack'),
    ctx.query.get('expired') ? h('p', {class: 'notice', role: 'status'}, 'Your session ended. Sign in again to continue.') : null,
    form,
    h('p', {class: 'narrow'}, 'No account yet? ', h('a', {href: '/signup' + (ctx.query.get('next') ? `?next=${encodeURIComponent(ctx.query.get('next'))}` : '')}, 'Create one')));
  email.input.focus();
}

/** signupView is the registration page; an invite link fills in the code (/signup?invite=CODE). */
export function signupView(ctx) {
  const {form, email} = credentialsForm(ctx, {
    submitLabel: 'Create account', signup: true, invite: ctx.query.get('invite') || '',
    action: (b) => api.post('/api/auth/register', b),
  });
  ctx.main.append(
    h('h1', null, 'Create your Backpack account'),
    h('p', {class: 'narrow muted'}, 'The first account on a new server becomes its operator. After that, the operator decides whether anyone may register, only people with an invite, or nobody.'),
    form,
    h('p', {class: 'narrow'}, 'Already have an account? ', h('a', {href: '/signin'}, 'Sign in')));
  email.input.focus();
}
