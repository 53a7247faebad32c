// The inbox (docs/API.md §4.6d): the sidebar's "Chats", every conversation of the user, one-to-one
// and group, latest activity first, each with the other side's name and picture (or the group's
// name), its last line, the mute mark and the unread count. A click opens it, as the contact
// list does.
//
// - Read with the socket's `CONVERSATIONS {limit}` when it is logged in, else (or when it cannot
//   answer) with `GET /conversations`; both answer `{conversation: [...], next?}`. "Show more"
//   asks one page more; a refresh reads again as many pages as are shown.
// - Read again at login, after each (re)connect, and shortly after any message or notice (a
//   burst, such as a SYNC, makes one read): the server's order, lines and counts win.
// - Meanwhile what happens here shows at once: a conversation's newest entry known to the page
//   (app.js `conv.last`, kept by sends, pushes and notices) stands for the server's when it is as
//   new, and moves the row up; a conversation the server has not listed yet shows from it too.
// - The unread counts go into `state.unread`, which the live pushes also bump; the open
//   conversation, on screen, counts 0 (it is being read).

import { $, h, avatar, avatarOf, badge, muteMark, presenceDot, preview, clock } from './ui.js';
import { noteProfile, displayName } from './profile.js';

const PAGE = 20;
const SOON_MS = 400;

// A group event as the last line (the inbox gives its kind, not who or whom).
const EVENTS = {
  create_group: 'Group created',
  create_group_member: 'New member',
  delete_group_member: 'A member left',
  update_group_key: 'Group key changed',
  delete_group: 'Group deleted',
};
const KINDS = { audio: 'Voice note', image: 'Photo', video: 'Video', file: 'File' };

let state = null;
let open = () => {};
let rerender = () => {};
let items = []; // the server's conversations, in its order
let next = null; // the cursor after the pages read
let pages = 1; // how many pages are shown
let loading = null;
let again = false;
let timer = null;
let run = 0; // bumped at logout: a read of the former session is dropped

/** Once, at boot: `open(key)` opens a conversation; `render()` redraws the sidebar and header. */
export function initInbox(appState, { open: onOpen, render }) {
  state = appState;
  open = onOpen;
  rerender = render;
  $('#inbox-more').addEventListener('click', () => {
    pages += 1;
    refreshInbox().catch(() => {});
  });
}

/** Log out: forget everything. */
export function resetInbox() {
  run += 1;
  clearTimeout(timer);
  items = [];
  next = null;
  pages = 1;
  renderInbox();
}

/** Read the inbox again shortly: many calls in a row make one read. */
export function refreshInboxSoon() {
  clearTimeout(timer);
  timer = setTimeout(() => refreshInbox().catch(() => {}), SOON_MS);
}

/** Read the inbox now (one read at a time; a call during one reads once more after it). */
export function refreshInbox() {
  if (loading) {
    again = true;
    return loading;
  }
  loading = (async () => {
    try {
      do {
        again = false;
        await load();
      } while (again);
    } finally {
      loading = null;
    }
  })();
  return loading;
}

async function load() {
  const api = state.api;
  const mine = run;
  if (!api) return;
  const all = [];
  let after;
  let cursor = null;
  for (let page = 0; page < pages; page += 1) {
    const answer = await fetchPage(after ? { limit: PAGE, after } : { limit: PAGE });
    if (mine !== run || api !== state.api) return;
    all.push(...answer.conversation);
    cursor = answer.next || null;
    if (!cursor) break;
    after = cursor;
  }
  // Pages are cut by activity: a conversation that moved meanwhile may be on two of them.
  const seen = new Set();
  items = all.filter((item) => !seen.has(item.id) && seen.add(item.id));
  next = cursor;
  for (const item of items) note(item);
  rerender();
}

async function fetchPage(query) {
  const socket = state.socket;
  if (socket && socket.loggedIn) {
    try {
      const answer = await socket.request('CONVERSATIONS', query);
      return { conversation: answer.conversation || [], next: answer.next || null };
    } catch (err) {
      if (!err.transport) throw err;
    }
  }
  return state.api.conversations(query);
}

/** 'u:<id>' | 'g:<id>', as app.js keys conversations. */
function keyOf(item) {
  return item.type === 'group' ? `g:${item.group.g_id}` : `u:${item.user.id}`;
}

function note(item) {
  const key = keyOf(item);
  if (item.type === 'user') noteProfile(item.user);
  const reading = key === state.current && document.visibilityState === 'visible';
  state.unread.set(key, reading ? 0 : Number(item.unread) || 0);
}

// ---------------------------------------------------------------- showing

/** A row's facts: from the server's item, or from what the page knows alone (`item` null). */
function describe(key, item) {
  const [kind, raw] = key.split(':');
  const id = Number(raw);
  const conv = state.convs.get(key);
  const local = conv && conv.last && !conv.last.hidden ? conv.last : null;
  const last = item && item.last;
  const fresher = local && (!last || local.seq >= last.seq);
  const at = Math.max(item ? Number(item.at) || 0 : 0, fresher ? local.ts * 1000 : 0);
  const group = kind === 'g';
  let name;
  if (group) {
    const g = state.groups.get(id);
    name = (g && g.name) || (item && item.group.name) || `Group ${id}`;
  } else name = state.names.get(id) || (item ? displayName(item.user) : `User ${id}`);
  const picture = group ? null : avatarOf(state, id); // noted from the item, or newer (`update_user`)
  const line = fresher ? localLine(local, group) : serverLine(last, group);
  return { key, kind, id, name, picture, at, line };
}

function sender(from) {
  return state.names.get(from) || `User ${from}`;
}

function localLine(entry, group) {
  const text = preview(entry, state);
  return group && !entry.event && entry.from !== state.me.id ? `${sender(entry.from)}: ${text}` : text;
}

function serverLine(last, group) {
  if (!last) return 'No messages yet';
  if (EVENTS[last.t]) return EVENTS[last.t];
  const body = last.deleted ? 'Message deleted' : last.snippet || KINDS[last.t] || '';
  if (last.from === state.me.id) return `You: ${body}`;
  return group ? `${sender(last.from)}: ${body}` : body;
}

/** Today: the time; before: the date. */
function when(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  if (d.toDateString() === new Date().toDateString()) return clock(ms / 1000);
  return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

export function renderInbox() {
  const list = $('#inbox');
  if (!state || !state.me) {
    list.replaceChildren();
    $('#inbox-more').hidden = true;
    return;
  }
  const rows = new Map(items.map((item) => [keyOf(item), describe(keyOf(item), item)]));
  // Conversations with an entry the server has not listed yet (a first message, just now).
  for (const [key, conv] of state.convs) {
    if (rows.has(key) || !conv.last || conv.last.hidden) continue;
    if (key.startsWith('g:') && !state.groups.has(conv.peer.group)) continue; // left or deleted
    rows.set(key, describe(key, null));
  }
  const sorted = [...rows.values()].sort((a, b) => b.at - a.at);
  list.replaceChildren(...sorted.map(row));
  $('#inbox-empty').hidden = sorted.length > 0;
  $('#inbox-more').hidden = !next;
}

function row(r) {
  const user = r.kind === 'u';
  return h(
    'li',
    {},
    h(
      `button.item${state.current === r.key ? '.active' : ''}`,
      { type: 'button', 'data-testid': `chat-${r.kind}-${r.id}`, 'data-key': r.key, onclick: () => open(r.key) },
      h(
        'span.avatar-wrap',
        {},
        avatar(r.name, user ? r.id : r.id + 3, user ? '' : '.square', r.picture),
        user ? presenceDot(r.id, `chat-presence-${r.id}`) : null,
      ),
      h(
        'span.item-text',
        {},
        h('span.item-top', {}, h('span.item-name', { 'data-testid': 'chat-name' }, r.name), h('span.item-time', {}, when(r.at))),
        h('span.item-sub', { 'data-testid': 'chat-snippet' }, r.line),
      ),
      muteMark(state, r.key, user ? `muted-${r.id}` : `muted-group-${r.id}`),
      badge(state.unread.get(r.key) || 0, user ? `unread-${r.id}` : `unread-group-${r.id}`),
    ),
  );
}
