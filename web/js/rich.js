// Rich messages (docs/API.md, issue 26): what can be done to a message once it is sent, and
// how it shows.
//
// - Actions under each stored message: Reply, React, Edit (one's own text messages), Delete.
// - Edit: the composer takes the text, the bar above it says "Edit message", and the submit
//   sends `CHAT_EDIT {id, content}`, answered with the message as edited (`edited_at`: the
//   bubble says "(edited)"); a refusal is shown. The others get an `edit_message` notice
//   {msg_id, c, edited_at}.
// - Delete: `CHAT_DELETE {id}` for everyone (one's own messages: a "Message deleted" tombstone
//   stays in place) or `{id, for: "me"}` (any message: `hidden`, out of view). Notices:
//   `delete_message` (its sender deleted it), `hide_message` (another device of this user hid it).
// - React: a picker of six emoji and the message's chips (`reactions`: {emoji: {count, mine}});
//   a click toggles the user's own (`CHAT_REACT {id, emoji, on}`, answered with the message).
//   `NOTIFY_REACTION` brings the others' counts live.
// - Reply: the bar above the composer quotes the message; the next send carries `reply_to`.
//   A reply shows its `reply_snippet` ("" once the quoted message is deleted).
// - Report (someone else's messages): report.js's dialog, through the `report` hook.

import { $, h, showMessage } from './ui.js';

export const EMOJI = ['👍', '❤️', '😂', '😮', '😢', '🙏'];
const SNIPPET_CHARS = 100; // what a reply quotes, as the server cuts it

let state = null;
let rerender = () => {};
let mergeMessage = () => {};
let composerChanged = () => {};
let reportHook = null;
let menu = null; // the menu open under one message: {id, kind: 'react' | 'delete'}
let composing = null; // the bar above the composer: {key, mode: 'reply' | 'edit', entry, saving}

/**
 * Once, at boot. `render()` redraws the open conversation and the sidebar; `merge(conv, msg)`
 * stores a message as the server answered it; `resize()` fits the composer to its text;
 * `report(conv, entry)` reports someone else's message (report.js).
 */
export function initRich(appState, { render, merge, resize, report }) {
  state = appState;
  rerender = render;
  mergeMessage = merge;
  composerChanged = resize;
  reportHook = report || null;
  $('#compose-cancel').addEventListener('click', () => {
    stopComposing();
    $('#composer').focus();
  });
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    if (menu) closeMenu();
    else if (composing && document.activeElement === $('#composer')) stopComposing();
  });
}

/** Each new socket: the others' reactions. */
export function watchRich(socket) {
  socket.addEventListener('reaction', (e) => onReaction(e.detail));
}

/** Log out: forget everything. */
export function resetRich() {
  menu = null;
  composing = null;
  renderBar();
  say('');
}

/** Another conversation opens: menus close, and a reply or an edit of another conversation ends. */
export function conversationSwitched(conv) {
  menu = null;
  if (composing && composing.key !== conv.key) stopComposing();
  renderBar();
  say('');
}

function say(text, kind) {
  showMessage($('#chat-message'), text, kind);
}

function nameOf(id) {
  if (state.me && id === state.me.id) return 'You';
  const friend = state.friends.get(id);
  return (friend && friend.name) || state.names.get(id) || `User ${id}`;
}

/** A socket request; rejected at once without a socket. */
function request(event, data) {
  if (!state.socket) return Promise.reject(new Error('not connected'));
  return state.socket.request(event, data);
}

/** The message `id` names, with its conversation, or null when it is not loaded here. */
function find(id) {
  for (const conv of state.convs.values()) {
    const entry = conv.entries.get(id);
    if (entry) return { conv, entry };
  }
  return null;
}

/** What a reply quotes of `entry` (as the server does): "" once deleted, `[image]` for an attachment. */
export function snippetOf(entry) {
  if (!entry || entry.deleted) return '';
  if (entry.t === 'text') return Array.from(entry.c).slice(0, SNIPPET_CHARS).join('');
  return `[${entry.t}]`;
}

/** The replies to `quoted` loaded here quote it anew (the server requotes the stored ones). */
function requote(conv, quoted) {
  for (const e of conv.entries.values()) if (e.reply_to === quoted.id) e.reply_snippet = snippetOf(quoted);
}

function tombstone(entry) {
  entry.deleted = true;
  entry.c = '';
  entry.reactions = {};
}

function hide(entry) {
  entry.hidden = true;
  entry.c = '';
}

// ---------------------------------------------------------------- how a message shows

/**
 * What ui.js adds to a message: `quote` (in the bubble), `reactions` (under it), `tools` (the
 * actions, in the meta line) and `menu` (the emoji picker or the delete choices, when open).
 * A message not stored yet gets its quote only.
 */
export function decorate(conv, entry, mine) {
  const stored = Boolean(entry.id) && !entry.pending;
  return {
    quote: quote(conv, entry),
    reactions: stored ? chips(conv, entry) : null,
    tools: stored ? tools(conv, entry, mine) : null,
    menu: stored && menu && menu.id === entry.id ? openMenu(conv, entry, mine) : null,
  };
}

function quote(conv, entry) {
  if (!entry.reply_to || entry.deleted) return null;
  const quoted = conv.entries.get(entry.reply_to);
  return h(
    'button.quote',
    { type: 'button', 'data-testid': 'quote', title: 'Show the message', onclick: () => reveal(entry.reply_to) },
    quoted ? h('span.quote-name', {}, nameOf(quoted.from)) : null,
    h('span.quote-text', {}, entry.reply_snippet || 'Message deleted'),
  );
}

/** Scroll to a message, if it is loaded. */
function reveal(id) {
  const node = [...document.querySelectorAll('[data-testid="message"]')].find((m) => m.dataset.id === id);
  if (node) node.scrollIntoView({ block: 'center', behavior: 'smooth' });
}

function chips(conv, entry) {
  const list = Object.entries(entry.reactions || {}).filter(([, r]) => r && r.count > 0);
  if (entry.deleted || !list.length) return null;
  return h(
    'div.reactions',
    {},
    list.map(([emoji, r]) =>
      h(
        'button.chip',
        {
          type: 'button',
          'data-testid': 'reaction',
          'data-emoji': emoji,
          'data-mine': String(Boolean(r.mine)),
          'aria-pressed': String(Boolean(r.mine)),
          title: r.mine ? 'Take your reaction back' : `React ${emoji}`,
          onclick: () => react(conv, entry, emoji, !r.mine),
        },
        `${emoji} ${r.count}`,
      ),
    ),
  );
}

function tools(conv, entry, mine) {
  const live = !entry.deleted;
  const action = (label, testid, onclick) => h('button.link.action', { type: 'button', 'data-testid': testid, onclick }, label);
  return h(
    'span.actions',
    {},
    live ? action('Reply', 'reply', () => startComposing(conv, entry, 'reply')) : null,
    live ? action('React', 'react', () => toggleMenu(entry, 'react')) : null,
    live && mine && entry.t === 'text' ? action('Edit', 'edit', () => startComposing(conv, entry, 'edit')) : null,
    action('Delete', 'delete', () => toggleMenu(entry, 'delete')),
    live && !mine && reportHook ? action('Report', 'report', () => reportHook(conv, entry)) : null,
  );
}

function openMenu(conv, entry, mine) {
  if (menu.kind === 'react') {
    const isMine = (emoji) => Boolean(entry.reactions && entry.reactions[emoji] && entry.reactions[emoji].mine);
    return h(
      'div.picker',
      { 'data-testid': 'emoji-picker', role: 'group', 'aria-label': 'React' },
      EMOJI.map((emoji) =>
        h(
          'button.emoji',
          { type: 'button', 'data-testid': 'emoji', 'aria-pressed': String(isMine(emoji)), onclick: () => react(conv, entry, emoji, !isMine(emoji)) },
          emoji,
        ),
      ),
    );
  }
  return h(
    'div.picker',
    { 'data-testid': 'delete-menu', role: 'group', 'aria-label': 'Delete' },
    mine && !entry.deleted
      ? h('button.small', { type: 'button', 'data-testid': 'delete-everyone', onclick: () => remove(conv, entry, 'everyone') }, 'Delete for everyone')
      : null,
    h('button.small', { type: 'button', 'data-testid': 'delete-me', onclick: () => remove(conv, entry, 'me') }, 'Delete for me'),
    h('button.link.small', { type: 'button', onclick: closeMenu }, 'Cancel'),
  );
}

function toggleMenu(entry, kind) {
  const same = menu && menu.id === entry.id && menu.kind === kind;
  menu = same ? null : { id: entry.id, kind };
  rerender();
}

function closeMenu() {
  menu = null;
  rerender();
}

// ---------------------------------------------------------------- react, delete

async function react(conv, entry, emoji, on) {
  menu = null;
  say('');
  rerender();
  try {
    const answer = await request('CHAT_REACT', { id: entry.id, emoji, on });
    if (answer && answer.msg) mergeMessage(conv, answer.msg);
  } catch (err) {
    say(`Reaction not saved: ${err.message}`, 'error');
  }
  rerender();
}

/** `whom`: 'everyone' (a tombstone for all) or 'me' (out of this user's view only). */
async function remove(conv, entry, whom) {
  menu = null;
  say('');
  rerender();
  try {
    await request('CHAT_DELETE', whom === 'me' ? { id: entry.id, for: 'me' } : { id: entry.id });
  } catch (err) {
    say(`Not deleted: ${err.message}`, 'error');
    return;
  }
  const now = conv.entries.get(entry.id) || entry; // an answer may have replaced it meanwhile
  if (whom === 'me') hide(now);
  else {
    tombstone(now);
    requote(conv, now);
  }
  if (composing && composing.entry.id === entry.id) stopComposing();
  rerender();
}

/** The others' reaction changed: its count (the user's own `mine` stays as it is). */
function onReaction(data) {
  if (!state || !state.me || !data) return;
  const found = find(String(data.id));
  if (!found) return; // not loaded here: history has the counts
  const { conv, entry } = found;
  const reactions = { ...entry.reactions };
  const before = reactions[data.emoji];
  const count = Number(data.count) || 0;
  // Another device of this very user reacted: then it is theirs.
  const mine = Number(data.user) === state.me.id ? data.on === true : Boolean(before && before.mine);
  if (count > 0) reactions[data.emoji] = { count, mine };
  else delete reactions[data.emoji];
  entry.reactions = reactions;
  if (conv.key === state.current) rerender();
}

/** A notice about a message already sent (`edit_message`, `delete_message`, `hide_message`): it changes in place. */
export function applyNotice(data) {
  const found = find(data.msg_id);
  if (!found) return; // not loaded here: its history will be right
  const { conv, entry } = found;
  if (data.t === 'edit_message') {
    entry.c = String(data.c ?? '');
    entry.edited_at = data.edited_at;
    requote(conv, entry);
  } else if (data.t === 'delete_message') {
    tombstone(entry);
    requote(conv, entry);
  } else hide(entry);
  if (composing && composing.entry.id === entry.id && (entry.deleted || entry.hidden)) stopComposing();
  rerender();
}

// ---------------------------------------------------------------- reply and edit: the bar above the composer

function startComposing(conv, entry, mode) {
  const box = $('#composer');
  if (composing && composing.mode === 'edit') box.value = ''; // the text of the edit left behind
  menu = null;
  composing = { key: conv.key, mode, entry, saving: false };
  if (mode === 'edit') box.value = entry.c;
  composerChanged();
  renderBar();
  rerender();
  box.focus();
  if (mode === 'edit') box.setSelectionRange(box.value.length, box.value.length);
}

/** End a reply or an edit; an edit's text leaves the composer. */
export function stopComposing() {
  if (!composing) return;
  if (composing.mode === 'edit') {
    $('#composer').value = '';
    composerChanged();
  }
  composing = null;
  renderBar();
}

function renderBar() {
  const on = Boolean(composing && state && composing.key === state.current);
  $('#compose-bar').hidden = !on;
  $('#send').textContent = on && composing.mode === 'edit' ? 'Save' : 'Send';
  if (!on) return;
  const { mode, entry } = composing;
  $('#compose-bar').dataset.mode = mode;
  $('#compose-label').textContent = mode === 'edit' ? 'Edit message' : `Reply to ${nameOf(entry.from)}`;
  $('#compose-text').textContent = snippetOf(entry) || 'Message deleted';
}

/** Whether the composer edits a message of `conv` (its submit is `submitEdit`, not a send). */
export function isEditing(conv) {
  return Boolean(composing && composing.mode === 'edit' && composing.key === conv.key);
}

/** The composer's text as the edited message's new content. Refused: the reason shows, the text stays. */
export async function submitEdit(conv, text) {
  if (composing.saving) return;
  const edit = composing;
  say('');
  if (text !== edit.entry.c) {
    edit.saving = true;
    try {
      const answer = await request('CHAT_EDIT', { id: edit.entry.id, content: text });
      if (answer && answer.msg) mergeMessage(conv, answer.msg);
      const now = conv.entries.get(edit.entry.id);
      if (now) requote(conv, now);
    } catch (err) {
      say(`Not edited: ${err.message}`, 'error');
      return;
    } finally {
      edit.saving = false;
    }
  }
  if (composing === edit) stopComposing();
  rerender();
}

/** The reply the next send carries, if one is being written here: `{reply_to, reply_snippet}`, once (the bar closes). */
export function takeReply(conv) {
  if (!composing || composing.mode !== 'reply' || composing.key !== conv.key) return {};
  const { entry } = composing;
  stopComposing();
  return { reply_to: entry.id, reply_snippet: snippetOf(conv.entries.get(entry.id) || entry) };
}
