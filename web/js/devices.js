// My devices (docs/API.md §2.4c): the sessions logged in to the account (`GET /user/sessions`,
// newest first), each with its device name, its push platform if it registered one, when it
// was opened and when a socket of it last logged in, this one marked; "End" logs one out
// (`DELETE /user/sessions/{id}`: its token answers 401 from then on and its sockets close).
// Ending this very session logs this page out at once, rather than waiting for the 401.

import { $, h, showMessage } from './ui.js';

const PLATFORMS = { apns: 'iOS push', fcm: 'Android push' };

let state = null;
let ended = () => {};
let run = 0; // the latest read: an older, slower answer is dropped

/** Once, at boot: `onEnded()` logs this page out (its own session was ended here). */
export function initDevices(appState, { onEnded }) {
  state = appState;
  ended = onEnded;
  $('#open-devices').addEventListener('click', openDevices);
  $('#devices-refresh').addEventListener('click', () => load());
}

/** Log out: forget everything. */
export function resetDevices() {
  run += 1;
  $('#devices-list').replaceChildren();
  if ($('#devices').open) $('#devices').close();
}

function openDevices() {
  if (!state.api) return;
  showMessage($('#devices-message'), '');
  $('#devices-list').replaceChildren(h('li.muted.small', {}, 'Loading…'));
  $('#devices').showModal();
  load();
}

async function load() {
  const api = state.api;
  const mine = (run += 1);
  if (!api) return;
  try {
    const sessions = await api.sessions();
    if (mine !== run || api !== state.api) return;
    render(sessions);
  } catch (err) {
    if (mine === run) showMessage($('#devices-message'), `My devices: ${err.message}`, 'error');
  }
}

/** Unix seconds as a date and time; 0 is "unknown" (`created` of sessions older than the list) or never (`last_seen`). */
function date(secs, zero) {
  if (!secs) return zero;
  return new Date(secs * 1000).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

function render(sessions) {
  const list = $('#devices-list');
  if (!sessions.length) {
    list.replaceChildren(h('li.muted.small', {}, 'No sessions.'));
    return;
  }
  list.replaceChildren(
    ...sessions.map((s) =>
      h(
        'li.session',
        { 'data-testid': 'session', 'data-id': s.id, 'data-current': String(Boolean(s.current)) },
        h(
          'span.item-text',
          {},
          h(
            'span.item-name',
            {},
            s.device || 'unnamed device',
            s.platform ? h('span.muted', {}, ` · ${PLATFORMS[s.platform] || s.platform}`) : null,
            s.current ? h('span.this-device', { 'data-testid': 'this-device' }, 'this device') : null,
          ),
          h('span.item-sub', {}, `Logged in ${date(s.created, 'at an unknown time')} · last online ${date(s.last_seen, 'never')}`),
        ),
        h(
          'button.small',
          {
            type: 'button',
            'data-testid': 'end-session',
            title: s.current ? 'Log out on this device' : 'Log that device out',
            onclick: (e) => end(s, e.currentTarget),
          },
          s.current ? 'End (log out)' : 'End',
        ),
      ),
    ),
  );
}

async function end(session, button) {
  const api = state.api;
  const out = $('#devices-message');
  if (!api) return;
  button.disabled = true;
  try {
    await api.endSession(session.id);
  } catch (err) {
    button.disabled = false;
    showMessage(out, `Not ended: ${err.message}`, 'error');
    return;
  }
  if (api !== state.api) return; // logged out meanwhile (the socket closed first)
  if (session.current) {
    $('#devices').close();
    ended();
    return;
  }
  showMessage(out, `Ended: ${session.device || 'that device'} is logged out.`, 'ok');
  load();
}
