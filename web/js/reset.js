// A forgotten password (docs/API.md §2.4d): "Forgot password?" under the login form opens a
// small panel in its place. Step 1 takes the account's phone or email (one field: with an `@` it
// is an email, else a phone, as at login) and asks `POST /user/password/reset` for a code. The
// server answers 202 whether or not an account has the address, so the page says the same
// either way and never tells who has an account. Step 2 takes the six-digit code and the new
// password twice (checked equal here, the rules are the server's) and sends
// `POST /user/password/reset/confirm`; on success every session of the account has ended, and
// the login form comes back with the address filled in. Neither route needs a token: the user
// has none.

import { $, showMessage } from './ui.js';

const SENT = 'If an account has this address, a code is on its way.';
const TOO_MANY = 'Too many requests, try again later.';

let api = () => null;
let address = ''; // the address the code was asked for: step 2 confirms with the same
let run = 0; // the latest request: an answer that comes after Back or a new step is dropped

/** Once, at boot: `makeApi()` gives an Api without a token, for the current backend. */
export function initReset({ makeApi }) {
  api = makeApi;
  $('#forgot-link').addEventListener('click', open);
  $('#reset-back').addEventListener('click', () => close());
  $('#reset-again').addEventListener('click', () => stepOne());
  $('#reset-request').addEventListener('submit', (e) => {
    e.preventDefault();
    askCode();
  });
  $('#reset-confirm-form').addEventListener('submit', (e) => {
    e.preventDefault();
    setPassword();
  });
}

/** The panel in place of the login form, starting from what the login form holds. */
function open() {
  $('#reset-address').value = $('#phone').value.trim();
  $('#auth-form').hidden = true;
  $('#reset-view').hidden = false;
  document.title = 'IM · forgot password';
  showMessage($('#reset-status'), '');
  stepOne();
}

/** Back to the login form; `prefill` goes in its phone / email field. */
function close(prefill) {
  run += 1;
  clearStepTwo();
  $('#reset-view').hidden = true;
  $('#auth-form').hidden = false;
  document.title = 'IM · log in';
  if (prefill !== undefined) {
    $('#phone').value = prefill;
    $('#password').value = '';
    $('#password').focus();
  } else $('#phone').focus();
}

function stepOne() {
  run += 1;
  clearStepTwo();
  $('#reset-request').hidden = false;
  $('#reset-confirm-form').hidden = true;
  $('#reset-send').disabled = false;
  $('#reset-address').focus();
}

function clearStepTwo() {
  for (const id of ['#reset-code', '#reset-password', '#reset-password2']) $(id).value = '';
  $('#reset-confirm').disabled = false;
}

/** An error as the user should read it: a 429 of either route in words of its own. */
function reasonOf(err) {
  return err.status === 429 ? TOO_MANY : err.message;
}

async function askCode() {
  const out = $('#reset-status');
  const who = $('#reset-address').value.trim();
  if (!who) return showMessage(out, 'Enter the phone or email of your account.', 'error');
  const mine = (run += 1);
  const button = $('#reset-send');
  button.disabled = true;
  showMessage(out, 'Sending…');
  try {
    await api().askPasswordReset(who);
  } catch (err) {
    if (mine !== run) return;
    button.disabled = false;
    return showMessage(out, reasonOf(err), 'error');
  }
  if (mine !== run) return;
  address = who;
  button.disabled = false;
  $('#reset-for').textContent = `The code sent to ${who}, and a new password:`;
  $('#reset-request').hidden = true;
  $('#reset-confirm-form').hidden = false;
  showMessage(out, SENT, 'ok');
  $('#reset-code').focus();
}

async function setPassword() {
  const out = $('#reset-status');
  const code = $('#reset-code').value.trim();
  const password = $('#reset-password').value;
  if (!/^\d{6}$/.test(code)) return showMessage(out, 'The code is the 6 digits of the message.', 'error');
  if (!password) return showMessage(out, 'Choose a new password.', 'error');
  if (password !== $('#reset-password2').value) return showMessage(out, 'The two passwords differ: type the same one twice.', 'error');
  const mine = (run += 1);
  const button = $('#reset-confirm');
  button.disabled = true;
  showMessage(out, 'Setting the new password…');
  try {
    await api().confirmPasswordReset(address, code, password);
  } catch (err) {
    if (mine !== run) return;
    button.disabled = false;
    return showMessage(out, reasonOf(err), 'error');
  }
  if (mine !== run) return;
  close(address);
  showMessage($('#auth-message'), 'Password changed: log in with the new one.', 'ok');
}
