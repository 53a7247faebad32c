// Push settings and mutes (docs/API.md §4.6b): the mute button of the open conversation and the
// crossed-out bells of the sidebar (`state.mutes`, from GET /mute), and the push preview, read
// receipts and presence checkboxes of the settings dialog (GET / PUT /user/settings). They belong
// to the user, not to this device: they decide what the phone apps' pushes say, which
// conversations get none, whether the others hear NOTIFY_READ and whether friends see the user
// online (NOTIFY_PRESENCE, "last seen").

import { $, showMessage, isMuted } from './ui.js';

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

export function wireSettings(state, render) {
  $('#mute').addEventListener('click', () => toggleMute(state, render));
  for (const s of SWITCHES) $(s.check).addEventListener('change', () => saveSwitch(state, s));
}
