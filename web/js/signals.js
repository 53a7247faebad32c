// Signals (docs/API.md §4.6c): ticks on the user's own messages, `READ` for a group's messages,
// `TYPING` from the composer and “… is typing” from `NOTIFY_TYPING`.
//
// - Ticks: ✓ stored (it has a seq), ✓✓ delivered (seq ≤ the other's delivered position), ✓✓ in
//   the accent colour when read (seq ≤ their read position). The positions come from
//   `GET /message/receipts` when a conversation opens (and after a reconnect), then from
//   `NOTIFY_DELIVERED` / `NOTIFY_READ`, keeping the highest per user and conversation. In a
//   group, a message of the user's shows how many members read it.
// - Read: a one-to-one conversation keeps seed 003's `CHAT_WITH` (app.js: a read up to the
//   head); a group on screen gets `READ {g_id, upto}` with the highest seq shown from the
//   others, when it grows.
// - Typing: `TYPING start` at most every 3 s while the user types (the server relays one per 3 s
//   anyway), `stop` when the composer is cleared, a message is sent, the user switches
//   conversations or has not typed for 5 s. A heard `start` expires after 6 s.

import { $, h } from './ui.js';

const TYPING_EVERY_MS = 3000;
const TYPING_IDLE_MS = 5000;
const TYPING_EXPIRES_MS = 6000;

let state = null;
let rerender = () => {};
const positions = new Map(); // conversation key -> Map(user id -> {delivered, read})
const readSent = new Map(); // group conversation key -> the highest `upto` sent in a READ
const typers = new Map(); // conversation key -> Map(user id -> expiry timer)
let typing = null; // while the user types: {key, peer, last (ms of the last start sent), idle}

/** Once, at boot: `render()` redraws the open conversation (its ticks). */
export function initSignals(appState, { render }) {
  state = appState;
  rerender = render;
  $('#composer').addEventListener('input', onInput);
  $('#composer-form').addEventListener('submit', () => stopTyping());
  document.addEventListener('visibilitychange', () => {
    const conv = current();
    if (conv) noteShown(conv);
  });
}

/** Each new socket: its signals, its entries (a message ends its sender's typing), its reconnects. */
export function watchSocket(socket) {
  socket.addEventListener('signal', (e) => onSignal(e.detail));
  socket.addEventListener('entry', (e) => onEntry(e.detail));
  socket.addEventListener('ready', () => {
    const conv = current();
    if (!conv) return;
    loadReceipts(conv); // what was signalled while the socket was down is lost
    noteShown(conv);
  });
}

/** Log out: forget everything. */
export function resetSignals() {
  for (const who of typers.values()) for (const timer of who.values()) clearTimeout(timer);
  typers.clear();
  positions.clear();
  readSent.clear();
  if (typing) clearTimeout(typing.idle);
  typing = null;
  renderTyping();
}

/** A conversation opens: stop typing in the one left, show who types here, load the positions. */
export function conversationOpened(conv) {
  if (typing && typing.key !== conv.key) stopTyping();
  renderTyping();
  loadReceipts(conv);
}

function current() {
  return state && state.current ? state.convs.get(state.current) : null;
}

function peerFields(peer) {
  return peer.group ? { g_id: peer.group } : { with: peer.user };
}

function nameOf(id) {
  const friend = state.friends.get(id);
  return (friend && friend.name) || state.names.get(id) || `User ${id}`;
}

// ---------------------------------------------------------------- receipts and ticks

const position = (value) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/** Raise a user's positions in a conversation (never lower them): whether anything moved. */
function raise(key, user, { delivered, read }) {
  const id = Number(user);
  if (!Number.isFinite(id) || id === state.me.id) return false;
  let users = positions.get(key);
  if (!users) positions.set(key, (users = new Map()));
  const now = users.get(id) || { delivered: 0, read: 0 };
  const next = { delivered: Math.max(now.delivered, position(delivered)), read: Math.max(now.read, position(read)) };
  if (next.delivered === now.delivered && next.read === now.read) return false;
  users.set(id, next);
  return true;
}

async function loadReceipts(conv) {
  const api = state.api;
  if (!api || !state.me) return;
  let list;
  try {
    list = await api.receipts(conv.peer);
  } catch {
    return; // the ticks wait for the next signal
  }
  if (api !== state.api || !Array.isArray(list)) return;
  let moved = false;
  for (const r of list) if (r && raise(conv.key, r.user, r)) moved = true;
  if (moved && conv.key === state.current) rerender();
}

function mark(kind, text, title) {
  return h('span.tick', { 'data-testid': 'tick', 'data-state': kind, title, 'aria-label': title }, text);
}

/** The tick of one of the user's own stored messages, or null. */
export function tickFor(conv, entry) {
  if (!entry.id || !Number.isFinite(entry.seq) || entry.event) return null;
  const users = positions.get(conv.key);
  if (conv.peer.user) {
    const p = (users && users.get(conv.peer.user)) || { delivered: 0, read: 0 };
    if (entry.seq <= p.read) return mark('read', '✓✓', 'Read');
    if (entry.seq <= p.delivered) return mark('delivered', '✓✓', 'Delivered');
    return mark('sent', '✓', 'Sent');
  }
  const readers = users ? [...users.values()].filter((p) => entry.seq <= p.read).length : 0;
  return readers ? mark('read', `✓✓ ${readers}`, `Read by ${readers}`) : mark('sent', '✓', 'Sent');
}

/** After each render of a group conversation: READ up to the highest seq shown from the others. */
export function noteShown(conv) {
  if (!state || !state.me || !conv.peer.group || conv.key !== state.current || document.visibilityState !== 'visible') return;
  let upto = 0;
  for (const e of conv.entries.values()) if (e.from !== state.me.id && Number.isFinite(e.seq) && e.seq > upto) upto = e.seq;
  const before = readSent.get(conv.key) || 0;
  const socket = state.socket;
  if (upto <= before || !socket || !socket.loggedIn) return;
  readSent.set(conv.key, upto);
  socket.request('READ', { g_id: conv.peer.group, upto }).catch(() => {
    if (readSent.get(conv.key) === upto) readSent.set(conv.key, before); // again at the next render
  });
}

// ---------------------------------------------------------------- frames from the server

function keyOf(data) {
  if (data.g_id !== undefined && data.g_id !== null) return `g:${data.g_id}`;
  if (data.with !== undefined && data.with !== null) return `u:${data.with}`;
  return null;
}

function onSignal({ event, data }) {
  if (!state || !state.me || !data) return;
  const key = keyOf(data);
  const user = Number(data.user);
  if (!key || !Number.isFinite(user) || user === state.me.id) return;
  let moved = false;
  if (event === 'NOTIFY_TYPING') heardTyping(key, user, data.state === 'start');
  else if (event === 'NOTIFY_READ') moved = raise(key, user, { read: data.upto });
  else if (event === 'NOTIFY_DELIVERED') moved = raise(key, user, { delivered: data.upto });
  if (moved && key === state.current) rerender();
}

/** A message from someone who was typing: they stopped (their `stop` may have been dropped). */
function onEntry({ kind, data }) {
  if ((kind !== 'm' && kind !== 'gm') || !state || !state.me || data.from === state.me.id) return;
  const key = kind === 'gm' ? `g:${data.g_id}` : `u:${data.from}`;
  const who = typers.get(key);
  if (who && who.has(data.from)) heardTyping(key, data.from, false);
}

// ---------------------------------------------------------------- typing

function heardTyping(key, user, on) {
  let who = typers.get(key);
  if (!who) typers.set(key, (who = new Map()));
  clearTimeout(who.get(user));
  if (on) who.set(user, setTimeout(() => heardTyping(key, user, false), TYPING_EXPIRES_MS));
  else who.delete(user);
  if (!who.size) typers.delete(key);
  if (key === state.current) renderTyping();
}

/** The line under the conversation header (a text node: names are user text). */
function renderTyping() {
  const line = $('#chat-typing');
  const who = state && state.current ? typers.get(state.current) : null;
  const names = who ? [...who.keys()].map(nameOf) : [];
  line.hidden = names.length === 0;
  if (names.length === 0) line.textContent = '';
  else if (names.length === 1) line.textContent = `${names[0]} is typing…`;
  else if (names.length === 2) line.textContent = `${names[0]} and ${names[1]} are typing…`;
  else line.textContent = `${names.length} people are typing…`;
}

function sendTyping(peer, what) {
  const socket = state.socket;
  return Boolean(socket && socket.fire('TYPING', { ...peerFields(peer), state: what }));
}

function onInput() {
  const conv = current();
  if (!conv || !$('#composer').value.trim()) {
    stopTyping();
    return;
  }
  if (typing && typing.key !== conv.key) stopTyping();
  if (!typing) typing = { key: conv.key, peer: conv.peer, last: 0, idle: null };
  const now = Date.now();
  if (now - typing.last >= TYPING_EVERY_MS && sendTyping(typing.peer, 'start')) typing.last = now;
  clearTimeout(typing.idle);
  typing.idle = setTimeout(stopTyping, TYPING_IDLE_MS);
}

/** The user stopped typing: `stop`, if a `start` went out. */
function stopTyping() {
  if (!typing) return;
  clearTimeout(typing.idle);
  const { peer, last } = typing;
  typing = null;
  if (last) sendTyping(peer, 'stop');
}
