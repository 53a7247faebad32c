// Push settings and mutes (docs/API.md §4.6b): the mute button of the open conversation and the
// crossed-out bells of the sidebar (`state.mutes`, from GET /mute), and the push preview, read
// receipts and presence checkboxes of the settings dialog (GET / PUT /user/settings). They belong
// to the user, not to this device: they decide what the phone apps' pushes say, which
// conversations get none, whether the others hear NOTIFY_READ and whether friends see the user
// online (NOTIFY_PRESENCE, "last seen"). Below them, the account itself (issue 28): "Export my
// data" (GET /user/export) and "Delete my account" (DELETE /user, the password again).

import { $, h, showMessage, isMuted } from './ui.js';
import { formatSize } from './media.js';

/**
 * A mute for good: 2100-01-01 UTC. The API's own far future value (18446744073709551615) is
 * more than a JavaScript number holds exactly; JSON.stringify would send one the API refuses.
 */
export const MUTE_FOREVER = 4102444800;

// Mute changes made here, and those still under way: a GET /mute that overlaps one may be stale.
let changes = 0;
let changing = 0;

function muteKey(m) {
  return m.g_id !== undefined && m.g_id !== null ? `g:${m.g_id}` : `u:${m.with}`;
}

/** GET /mute into `state.mutes`; false when the answer is dropped (the session or a mute changed meanwhile). */
export async function loadMutes(state) {
  const api = state.api;
  if (!api) return false;
  const before = changes;
  if (changing) return false;
  const list = await api.mutes();
  if (api !== state.api || before !== changes || changing) return false;
  state.mutes = new Map(list.map((m) => [muteKey(m), m.until]));
  return true;
}

/** The header's button: mute the open conversation for good, or unmute it; then `render()`. */
export async function toggleMute(state, render) {
  const conv = state.current && state.convs.get(state.current);
  const api = state.api;
  if (!conv || !api) return;
  const button = $('#mute');
  const until = isMuted(state, conv.key) ? 0 : MUTE_FOREVER;
  changes += 1;
  changing += 1;
  button.disabled = true;
  try {
    const answer = await api.mute(conv.peer, until); // `[]` after an unmute
    if (api !== state.api) return;
    if (answer.length) state.mutes.set(conv.key, answer[0].until);
    else state.mutes.delete(conv.key);
  } catch (err) {
    showMessage($('#friend-message'), `${until ? 'Mute' : 'Unmute'}: ${err.message}`, 'error');
  } finally {
    changing -= 1;
    button.disabled = false;
  }
  render();
}

// The account's switches in the settings dialog: a checkbox per `PUT /user/settings` field, a
// boolean, or one of two strings (`values`: [checked, unchecked]).
const SWITCHES = [
  {
    field: 'push_preview',
    check: '#push-preview',
    on: 'Saved: pushes show the message text.',
    off: 'Saved: pushes say only “New message”.',
  },
  {
    field: 'read_receipts',
    check: '#read-receipts',
    on: 'Saved: others see when you have read their messages.',
    off: 'Saved: read receipts off; others do not see when you read.',
  },
  {
    field: 'presence',
    check: '#presence',
    values: ['friends', 'nobody'],
    on: 'Saved: your friends see when you are online.',
    off: 'Saved: nobody sees when you are online or when you were last seen.',
  },
];

/** Whether a switch's saved value means checked (on until set). */
function isOn(s, value) {
  return s.values ? value !== s.values[1] : value !== false;
}

/** The settings dialog opens: the push and privacy section, for a logged-in user, with the saved settings. */
export async function openPushSettings(state) {
  const out = $('#push-message');
  const api = state.api;
  $('#push-settings').hidden = !api;
  $('#account-settings').hidden = !api; // export and deletion: logged in only too
  showMessage($('#account-message'), '');
  showMessage(out, '');
  if (!api) return;
  for (const s of SWITCHES) $(s.check).disabled = true; // until the saved values are known
  try {
    const settings = await api.settings();
    if (api !== state.api) return;
    for (const s of SWITCHES) {
      $(s.check).checked = isOn(s, settings[s.field]);
      $(s.check).disabled = false;
    }
  } catch (err) {
    showMessage(out, `Settings: ${err.message}`, 'error');
  }
}

/** A checkbox changed: save it at once (the dialog's Save is for the server URLs). */
async function saveSwitch(state, s) {
  const check = $(s.check);
  const out = $('#push-message');
  const api = state.api;
  if (!api) return;
  const wanted = check.checked;
  check.disabled = true;
  showMessage(out, 'Saving…');
  try {
    const settings = await api.updateSettings({ [s.field]: s.values ? s.values[wanted ? 0 : 1] : wanted });
    check.checked = isOn(s, settings[s.field]);
    showMessage(out, check.checked ? s.on : s.off, 'ok');
  } catch (err) {
    check.checked = !wanted;
    showMessage(out, err.message, 'error');
  } finally {
    check.disabled = false;
  }
}

// ---------------------------------------------------------------- the account (issue 28)

/** A temporary link, clicked and gone: how a page starts a download. */
function follow(attrs) {
  const link = h('a', attrs);
  document.body.append(link);
  link.click();
  link.remove();
}

/**
 * "Export my data": the archive in the answer becomes `im-export.json`; a larger one, written
 * to S3 by the server, comes as a signed link, opened as media.js opens a file (S3 sends it as
 * a download). That link is also left in the status line: the browser may refuse to open a tab
 * when the export took long after the click.
 */
async function exportData(state) {
  const api = state.api;
  const out = $('#account-message');
  const button = $('#export-data');
  if (!api) return;
  button.disabled = true;
  showMessage(out, 'Preparing your export…');
  try {
    const answer = await api.exportData();
    if (api !== state.api) return;
    if (answer && answer.export_url) {
      follow({ href: answer.export_url, target: '_blank', rel: 'noopener', download: 'im-export.json' });
      const size = Number.isFinite(answer.bytes) ? ` (${formatSize(answer.bytes)})` : '';
      showMessage(out, `Your export${size} is downloading. If it does not start, `, 'ok');
      out.append(h('a', { href: answer.export_url, target: '_blank', rel: 'noopener', 'data-testid': 'export-link' }, 'download it here'));
    } else if (answer && answer.export) {
      const blob = new Blob([JSON.stringify(answer.export, null, 2)], { type: 'application/json' });
      const href = URL.createObjectURL(blob);
      follow({ href, download: 'im-export.json' }); // same origin: the name is ours
      setTimeout(() => URL.revokeObjectURL(href), 60_000); // not at once: the download reads it first
      showMessage(out, `Saved as im-export.json (${formatSize(blob.size)}).`, 'ok');
    } else {
      throw new Error('the answer holds no export');
    }
  } catch (err) {
    showMessage(out, `Export: ${err.message}`, 'error'); // a 429 says when to try again
  } finally {
    button.disabled = false;
  }
}

/** "Delete my account…": the confirmation dialog over the settings, the password field empty. */
function openDelete(state) {
  if (!state.api) return;
  $('#delete-account-password').value = '';
  showMessage($('#delete-account-message'), '');
  $('#delete-account-confirm').disabled = false;
  $('#delete-account').showModal();
  $('#delete-account-password').focus();
}

/**
 * DELETE /user with the password typed again. 204: every session has ended, so the page forgets
 * its own as a logout does (`onDeleted`). 401: a wrong password, nothing changed; the session is
 * read once to tell a session that ended meanwhile (that 401 logs out as any other does).
 */
async function deleteAccount(state, onDeleted) {
  const api = state.api;
  const out = $('#delete-account-message');
  const input = $('#delete-account-password');
  const button = $('#delete-account-confirm');
  if (!api) return;
  if (!input.value) {
    showMessage(out, 'Enter your password to confirm.', 'error');
    input.focus();
    return;
  }
  button.disabled = true;
  showMessage(out, 'Deleting your account…');
  try {
    await api.deleteAccount(input.value);
  } catch (err) {
    if (api !== state.api) return; // logged out meanwhile
    button.disabled = false;
    if (err.status === 401) {
      showMessage(out, 'Wrong password: your account was not deleted.', 'error');
      input.select();
      if (state.me) api.user(state.me.id).catch(() => {});
    } else {
      showMessage(out, `Not deleted: ${err.message}`, 'error');
    }
    return;
  }
  // The server closes the sockets before it answers, so the page may have logged out already
  // ("session ended"): it still says why. Only another login since then drops the answer.
  if (state.api && api !== state.api) return;
  input.value = '';
  $('#delete-account').close();
  if ($('#settings').open) $('#settings').close();
  onDeleted();
}

/** Log out: the confirmation closes, the typed password forgotten. */
export function resetAccount() {
  $('#delete-account-password').value = '';
  if ($('#delete-account').open) $('#delete-account').close();
}

/** Once, at boot. `onDeleted()` logs the page out after its account was deleted. */
export function wireSettings(state, render, { onDeleted }) {
  $('#mute').addEventListener('click', () => toggleMute(state, render));
  for (const s of SWITCHES) $(s.check).addEventListener('change', () => saveSwitch(state, s));
  $('#export-data').addEventListener('click', () => exportData(state));
  $('#delete-account-open').addEventListener('click', () => openDelete(state));
  $('#delete-account-form').addEventListener('submit', (e) => {
    if (!e.submitter || e.submitter.value !== 'delete') return; // Cancel
    e.preventDefault(); // the dialog stays open for the outcome
    deleteAccount(state, onDeleted);
  });
}
