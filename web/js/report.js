// Reports (issue 27): the Report action under someone else's message (rich.js) and the header's
// Report button of a one-to-one chat open a small dialog: a reason (spam, abuse, other), some
// optional words, then `POST /report` with `{message: <id>}` or `{user: <id>}`. The server keeps
// the message as it was stored then, so an edit or a delete afterwards takes nothing away.
// Its refusals show as they come: one's own messages, a message deleted for everyone, more than
// the hourly limit. The free text is at most 500 characters and none a control character (the
// server refuses them), so line breaks become spaces.

import { $, showMessage } from './ui.js';
import { snippetOf } from './rich.js';

const MAX_TEXT = 500;

let state = null;
let target = null; // what the open dialog reports: {user} or {message}

/** Once, at boot. */
export function initReport(appState) {
  state = appState;
  $('#report-user').addEventListener('click', reportUser);
  $('#report-form').addEventListener('submit', (e) => {
    if (!e.submitter || e.submitter.value !== 'send') return; // Cancel / Close
    e.preventDefault(); // the dialog stays open for the outcome
    send();
  });
}

/** Log out: forget everything. */
export function resetReport() {
  target = null;
  if ($('#report').open) $('#report').close();
}

function nameOf(id) {
  const friend = state.friends.get(id);
  return (friend && friend.name) || state.names.get(id) || `User ${id}`;
}

/** Report another's message (rich.js's Report action). */
export function reportMessage(conv, entry) {
  const quoted = snippetOf(entry) || 'a message';
  openDialog({ message: entry.id }, `Report a message from ${nameOf(entry.from)}`, `“${quoted}”`);
}

/** Report the other user of the open one-to-one chat (the header's button). */
function reportUser() {
  const conv = state.current && state.convs.get(state.current);
  if (!conv || !conv.peer.user) return;
  const name = nameOf(conv.peer.user);
  openDialog({ user: conv.peer.user }, `Report ${name}`, `The account of ${name} (id ${conv.peer.user}) will be reviewed.`);
}

function openDialog(what, title, detail) {
  target = what;
  $('#report-title').textContent = title;
  $('#report-what').textContent = detail;
  $('#report-reason').value = 'spam';
  $('#report-text').value = '';
  setSent(false);
  showMessage($('#report-message'), '');
  $('#report').showModal();
  $('#report-reason').focus();
}

/** After a report is sent the form stays shown, read-only, with its confirmation. */
function setSent(sent) {
  $('#report-reason').disabled = sent;
  $('#report-text').disabled = sent;
  $('#report-send').hidden = sent;
  $('#report-close').textContent = sent ? 'Close' : 'Cancel';
}

function clean(text) {
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return Array.from(flat).slice(0, MAX_TEXT).join('');
}

async function send() {
  const api = state.api;
  const out = $('#report-message');
  if (!api || !target) return;
  const button = $('#report-send');
  button.disabled = true;
  showMessage(out, 'Sending…');
  try {
    await api.report(target, $('#report-reason').value, clean($('#report-text').value));
    if (api !== state.api) return;
    setSent(true);
    showMessage(out, 'Report sent. Thank you: it will be reviewed.', 'ok');
  } catch (err) {
    showMessage(out, `Report not sent: ${err.message}`, 'error');
  } finally {
    button.disabled = false;
  }
}
