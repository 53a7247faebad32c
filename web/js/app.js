// The web client: sign-up and login, contacts, friend requests, groups, one-to-one and group
// chat with history, voice notes, live over the WebSocket; mutes and the push settings are in
// settings.js, ticks, reads and typing in signals.js, who is online in presence.js, replies,
// reactions, edits and deletes in rich.js, photos, videos and files in media.js, the sidebar's
// conversation list in inbox.js, the profile in profile.js (pictures: avatars.js), the
// sessions in devices.js, reports in report.js, a forgotten password in reset.js, the export
// and deletion of the account in settings.js. See web/README.md.

import { Api, ApiError } from './api.js';
import { loadConfig, readOverrides, saveOverrides } from './config.js';
import { ImSocket } from './socket.js';
import { toggleVoiceNote } from './audio.js';
import { loadMutes, openPushSettings, wireSettings, resetAccount } from './settings.js';
import { initSignals, watchSocket, resetSignals, conversationOpened, tickFor, noteShown } from './signals.js';
import { initPresence, watchPresence, resetPresence, subscribeFriends } from './presence.js';
import {
  initRich,
  watchRich,
  resetRich,
  conversationSwitched,
  decorate,
  applyNotice,
  isEditing,
  submitEdit,
  takeReply,
  stopComposing,
} from './rich.js';
import { initMedia, resetMedia, attachment } from './media.js';
import { initAvatars, resetAvatars } from './avatars.js';
import { initInbox, resetInbox, refreshInbox, refreshInboxSoon, renderInbox } from './inbox.js';
import { initProfile, resetProfile, noteProfile, applyUserUpdate } from './profile.js';
import { initDevices, resetDevices } from './devices.js';
import { initReport, resetReport, reportMessage } from './report.js';
import { initReset } from './reset.js';
import {
  $,
  showMessage,
  renderMe,
  renderConnection,
  renderContacts,
  renderGroups,
  renderRequests,
  renderGroupMemberPicker,
  renderChatHeader,
  renderMessages,
} from './ui.js';

const SESSION = 'im.session';
const PAGE = 30;

const state = {
  config: null,
  api: null,
  socket: null,
  me: null,
  token: null,
  friends: new Map(), // user id -> {id, name, phone}
  requests: [], // GET /friends/request
  groups: new Map(), // g_id -> {g_id, name, creator}
  names: new Map(), // user id -> display name
  profiles: new Map(), // user id -> {name, nick_name, avatar}: others' profiles as last seen (profile.js)
  keyToId: new Map(), // LIST_CONTACTS_UNREAD key (email, else phone, else id) -> user id
  unread: new Map(), // conversation key -> count
  convs: new Map(), // 'u:<id>' | 'g:<id>' -> conversation
  mutes: new Map(), // 'u:<id>' | 'g:<id>' -> muted until (Unix seconds), GET /mute
  current: null,
};

// ---------------------------------------------------------------- start

async function boot() {
  state.config = await loadConfig();
  wireStatic();
  const session = readSession();
  if (session && session.httpUrl === state.config.httpUrl) await enter(session);
  else {
    if (session) localStorage.removeItem(SESSION); // a session of another backend
    showAuth();
  }
}

function readSession() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION) || 'null');
    return s && s.token && s.id ? s : null;
  } catch {
    return null;
  }
}

function makeApi(token) {
  return new Api(state.config.httpUrl, () => token, () => expired());
}

function showAuth(message, kind) {
  $('#app-view').hidden = true;
  $('#auth-view').hidden = false;
  document.title = 'IM · log in';
  if (message) showMessage($('#auth-message'), message, kind);
  $('#phone').focus();
}

async function enter(session) {
  state.token = session.token;
  state.api = makeApi(session.token);
  try {
    state.me = await state.api.user(session.id);
  } catch (err) {
    if (err.status === 401) return; // expired() has shown the login
    state.me = { id: session.id, name: `User ${session.id}` };
  }
  state.names.set(state.me.id, state.me.name);
  $('#auth-view').hidden = true;
  $('#app-view').hidden = false;
  document.title = `IM · ${state.me.name}`;
  renderMe(state.me);
  renderChatHeader(state);
  startSocket(session);
  await refreshAll();
}

function expired() {
  if (!state.token) return;
  leave();
  showAuth('Your session ended: log in again.', 'error');
}

/** Forget the session locally: the socket, the data, the stored token. */
function leave() {
  if (state.socket) state.socket.stop();
  state.socket = null;
  state.api = null;
  state.token = null;
  state.me = null;
  state.friends.clear();
  state.requests = [];
  state.groups.clear();
  state.names.clear();
  state.profiles.clear();
  state.keyToId.clear();
  state.unread.clear();
  state.convs.clear();
  state.mutes.clear();
  state.current = null;
  resetSignals();
  resetPresence();
  resetRich();
  resetMedia();
  resetInbox();
  resetProfile();
  resetDevices();
  resetReport();
  resetAvatars();
  resetAccount();
  localStorage.removeItem(SESSION);
  $('#messages').replaceChildren();
}

// ---------------------------------------------------------------- the socket

function startSocket(session) {
  const url = readOverrides().wsUrl || state.config.wsUrlFromFile || session.wsUrl || state.config.wsUrl;
  const socket = new ImSocket({ url, token: session.token, userId: session.id });
  state.socket = socket;
  socket.addEventListener('state', (e) => renderConnection(e.detail));
  socket.addEventListener('entry', (e) => onEntry(e.detail));
  socket.addEventListener('unread', (e) => onUnread(e.detail));
  socket.addEventListener('keys', (e) => state.keyToId.set(e.detail.key, e.detail.id));
  socket.addEventListener('friend-requests', () => refreshRequests());
  socket.addEventListener('expired', () => expired());
  // A refused handshake (401) looks like any other failure to a browser, and a close by the
  // server does not say whether the session ended: ask HTTP (a 401 there logs out).
  const checkSession = () => state.api && state.me && state.api.user(state.me.id).catch(() => {});
  socket.addEventListener('connect-failed', checkSession);
  socket.addEventListener('closed', checkSession);
  socket.addEventListener('ready', () => onReady());
  watchSocket(socket);
  watchPresence(socket);
  watchRich(socket);
  socket.start();
}

/** After each (re)connect and its SYNC: catch up with what may have changed meanwhile. */
async function onReady() {
  const socket = state.socket;
  if (!socket) return;
  socket.listUnread().catch(() => {});
  const conv = state.current && state.convs.get(state.current);
  if (conv) {
    if (conv.peer.user) markRead(conv);
    if (conv.loaded) loadLatest(conv).catch(() => {});
  }
  refreshAll().catch(() => {});
}

function onUnread({ counts, partial }) {
  for (const [key, count] of Object.entries(counts)) {
    const id = state.keyToId.get(key);
    if (id === undefined) continue; // a key this client cannot map (an email it may not see)
    const conv = `u:${id}`;
    if (conv === state.current && document.visibilityState === 'visible') {
      if (count > 0) markRead(state.convs.get(conv));
      state.unread.set(conv, 0);
    } else state.unread.set(conv, count);
  }
  // LIST_CONTACTS_UNREAD names every contact (0 included), so there is nothing to zero-fill
  // when `partial` is false.
  renderSidebar();
}

let unreadTimer = null;
function refreshUnreadSoon() {
  clearTimeout(unreadTimer);
  unreadTimer = setTimeout(() => state.socket && state.socket.listUnread().catch(() => {}), 400);
}

/**
 * A new message, notification or group event, live or from SYNC. What SYNC returns is what
 * this device has not confirmed (on a new login: the whole history), not what is unread, so
 * only live messages count as unread here; the server's counts come with LIST_CONTACTS_UNREAD
 * and the inbox (inbox.js), read again shortly after each entry.
 */
function onEntry({ kind, data, live }) {
  refreshInboxSoon(); // its order, last lines and counts
  if (kind === 'm' || kind === 'gm') {
    const key = kind === 'gm' ? `g:${data.g_id}` : `u:${data.from === state.me.id ? data.to : data.from}`;
    const conv = conversation(key);
    merge(conv, data);
    if (data.from !== state.me.id) {
      if (key === state.current && document.visibilityState === 'visible') {
        if (conv.peer.user) markReadSoon(conv);
      } else if (live) {
        state.unread.set(key, (state.unread.get(key) || 0) + 1);
        if (kind === 'm') refreshUnreadSoon(); // the server's count wins where it can be mapped
      }
    }
    if (key === state.current) renderCurrent('auto');
    renderSidebar();
    return;
  }
  // A notification (feed, `n:<seq>`) or a group event (`group#<id>:<seq>`).
  switch (data.t) {
    case 'add_contact':
    case 'accept_contact':
    case 'delete_contact':
    case 'ignore_contact':
    case 'withdraw_contact':
    case 'block':
    case 'unblock':
      refreshContacts();
      break;
    case 'create_group':
    case 'create_group_member':
    case 'delete_group_member':
    case 'delete_group': {
      refreshGroups();
      const gid = data.g_id ?? data.to;
      if (String(data.id).startsWith('group#')) {
        const conv = conversation(`g:${gid}`);
        merge(conv, { ...data, event: true });
        conv.members = null; // membership changed: reload the names
        if (conv.key === state.current) {
          loadMembers(conv);
          renderCurrent('auto');
        }
      }
      if (data.t === 'delete_group' && state.current === `g:${gid}`) {
        stopComposing();
        state.current = null;
        renderChatHeader(state);
        $('#messages').replaceChildren();
      }
      break;
    }
    case 'delete_message':
    case 'edit_message':
    case 'hide_message':
      applyNotice(data); // rich.js: the message changes in place
      break;
    case 'update_user':
      applyUserUpdate(data, live); // profile.js: the name and picture shown
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------- lists

async function refreshAll() {
  await Promise.allSettled([refreshContacts(), refreshGroups(), refreshMutes(), refreshInbox()]);
}

async function refreshMutes() {
  if (await loadMutes(state)) renderMuted();
}

function renderMuted() {
  renderSidebar();
  renderChatHeader(state);
}

let contactsRun = null;
async function refreshContacts() {
  // Coalesce bursts (a notification and a sync often come together).
  if (contactsRun) return contactsRun;
  contactsRun = (async () => {
    try {
      const api = state.api;
      if (!api) return;
      const [friends, version] = await Promise.all([api.friends(), api.contactsVersion(0).catch(() => null)]);
      if (api !== state.api) return;
      // GET /friends has no phone; /contact/version/0 has the profiles, which give the keys
      // LIST_CONTACTS_UNREAD uses (email, else phone, else id).
      const profiles = new Map((version && version.user ? version.user : []).map((u) => [u.id, u]));
      state.friends = new Map(
        friends.map((f) => {
          const p = profiles.get(f.friend_id) || {};
          const name = f.friend_user_name || f.friend_user_nick_name || p.name || p.nick_name || `User ${f.friend_id}`;
          state.names.set(f.friend_id, name);
          state.keyToId.set(p.email || p.phone || String(f.friend_id), f.friend_id);
          return [f.friend_id, { id: f.friend_id, name, phone: p.phone || null }];
        }),
      );
      for (const p of profiles.values()) if (state.friends.has(p.id)) noteProfile(p); // their pictures
      subscribeFriends();
      await refreshRequests();
      renderSidebar();
      renderGroupMemberPicker(state);
      if (state.current) renderChatHeader(state);
      if (state.socket && state.socket.loggedIn) state.socket.listUnread().catch(() => {});
    } finally {
      contactsRun = null;
    }
  })();
  return contactsRun;
}

async function refreshRequests() {
  const api = state.api;
  if (!api) return;
  const requests = await api.friendRequests();
  if (api !== state.api) return;
  state.requests = requests;
  for (const r of requests) if (r.request_user_name) state.names.set(r.request_user_id, r.request_user_name);
  renderRequests(state, { onAccept: acceptRequest, onIgnore: ignoreRequest });
}

async function refreshGroups() {
  const api = state.api;
  if (!api) return;
  const groups = await api.groups();
  if (api !== state.api) return;
  state.groups = new Map(groups.map((g) => [g.g_id, g]));
  renderSidebar();
  if (state.current && state.current.startsWith('g:')) renderChatHeader(state);
}

function renderSidebar() {
  if (!state.me) return;
  renderInbox();
  renderContacts(state, openConversation);
  renderGroups(state, openConversation);
}

async function acceptRequest(request, button) {
  button.disabled = true;
  try {
    await state.api.acceptFriend(request.friend_request_id);
    showMessage($('#friend-message'), `You and ${request.request_user_name || `user ${request.request_user_id}`} are now friends.`, 'ok');
  } catch (err) {
    showMessage($('#friend-message'), err.message, 'error');
  }
  await refreshContacts();
}

async function ignoreRequest(request, button) {
  button.disabled = true;
  try {
    await state.api.ignoreFriend(request.friend_request_id);
  } catch (err) {
    showMessage($('#friend-message'), err.message, 'error');
  }
  await refreshContacts();
}

/** A phone (5–20 digits, optional +) or a user id: look the phone up first, then the id. */
async function findUser(query) {
  const text = query.trim();
  if (/^\+?\d{5,20}$/.test(text)) {
    try {
      return await state.api.userByPhone(text);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404 && /^\d+$/.test(text))) throw err;
    }
  }
  if (/^#?\d+$/.test(text)) return state.api.user(text.replace('#', ''));
  throw new Error('Enter a phone number (5 to 20 digits) or a user id.');
}

async function addFriend(event) {
  event.preventDefault();
  const input = $('#friend-query');
  const out = $('#friend-message');
  if (!input.value.trim()) return;
  const button = $('#friend-add');
  button.disabled = true;
  try {
    const user = await findUser(input.value);
    if (user.id === state.me.id) throw new Error('That is you.');
    if (user.is_friend) throw new Error(`${user.name || `User ${user.id}`} is already your friend.`);
    await state.api.requestFriend(user.id);
    showMessage(out, `Friend request sent to ${user.name || `user ${user.id}`} (id ${user.id}).`, 'ok');
    input.value = '';
  } catch (err) {
    showMessage(out, err.status === 404 ? 'No user with that phone or id.' : err.message, 'error');
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- conversations

function conversation(key) {
  let conv = state.convs.get(key);
  if (!conv) {
    const [kind, id] = key.split(':');
    conv = {
      key,
      peer: kind === 'g' ? { group: Number(id) } : { user: Number(id) },
      entries: new Map(), // id -> entry, stored (with seq)
      pending: [], // my sends without an answer yet
      loaded: false,
      loadingOlder: false,
      hasMore: true,
      last: null,
      members: null,
    };
    state.convs.set(key, conv);
  }
  return conv;
}

function normalize(data) {
  return {
    id: data.id,
    seq: typeof data.seq === 'number' ? data.seq : Number(String(data.id).split(':').pop()),
    client_id: data.client_id,
    t: data.t || 'text',
    c: data.c ?? data.content ?? '',
    from: data.from,
    to: data.to,
    g_id: data.g_id,
    ts: data.ts || Math.floor(Date.now() / 1000),
    deleted: Boolean(data.deleted),
    event: Boolean(data.event),
    name: data.name, // a group event's group name, or a file's name
    member_id: data.member_id,
    gm_id: data.gm_id,
    // What a message gathers after it is sent (rich.js) and an attachment's facts (media.js).
    edited_at: data.edited_at,
    reply_to: data.reply_to,
    reply_snippet: data.reply_snippet,
    reactions: { ...data.reactions }, // {emoji: {count, mine}}
    hidden: Boolean(data.hidden),
    size: data.size,
    w: data.w,
    h: data.h,
    thumb: data.thumb,
  };
}

function merge(conv, data) {
  const entry = normalize(data);
  if (!entry.id) return;
  conv.entries.set(entry.id, entry);
  if (entry.client_id && entry.from === state.me.id) {
    conv.pending = conv.pending.filter((p) => p.client_id !== entry.client_id);
  }
  if (!conv.last || entry.seq >= conv.last.seq) conv.last = entry;
}

async function openConversation(key) {
  const conv = conversation(key);
  state.current = key;
  state.unread.set(key, 0);
  renderSidebar();
  renderChatHeader(state);
  conversationSwitched(conv);
  renderCurrent('bottom');
  if (conv.peer.user) markRead(conv);
  else loadMembers(conv);
  conversationOpened(conv);
  refreshMutes().catch(() => {}); // another device may have changed them
  $('#composer').focus();
  if (!conv.loaded) {
    try {
      await loadLatest(conv);
    } catch (err) {
      showMessage($('#friend-message'), `History: ${err.message}`, 'error');
    }
    if (state.current === key) {
      renderCurrent('bottom');
      fillViewport(conv);
    }
  }
}

/** The newest page, merged into what is known (new, and after a reconnect). */
async function loadLatest(conv) {
  const entries = await state.api.history(conv.peer, { limit: PAGE });
  const first = !conv.loaded;
  for (const e of entries) merge(conv, e);
  if (first) conv.hasMore = entries.length === PAGE;
  conv.loaded = true;
  if (conv.key === state.current) renderCurrent(first ? 'bottom' : 'auto');
  renderSidebar();
}

async function loadOlder(conv) {
  if (conv.loadingOlder || !conv.hasMore || !conv.loaded) return;
  const oldest = [...conv.entries.values()].sort((a, b) => a.seq - b.seq)[0];
  if (!oldest) {
    conv.hasMore = false;
    return;
  }
  conv.loadingOlder = true;
  renderCurrent('keep');
  try {
    const entries = await state.api.history(conv.peer, { before: oldest.id, limit: PAGE });
    for (const e of entries) merge(conv, e);
    conv.hasMore = entries.length === PAGE;
  } catch (err) {
    showMessage($('#friend-message'), `History: ${err.message}`, 'error');
  } finally {
    conv.loadingOlder = false;
  }
  if (conv.key === state.current) renderCurrent('keep');
}

/** Load older pages until the list scrolls (or the start is reached). */
async function fillViewport(conv) {
  const box = $('#messages');
  for (let i = 0; i < 10 && conv.key === state.current && conv.hasMore && box.scrollHeight <= box.clientHeight + 10; i += 1) {
    await loadOlder(conv);
  }
}

async function loadMembers(conv) {
  if (conv.members || !conv.peer.group) return;
  try {
    conv.members = await state.api.groupMembers(conv.peer.group);
    for (const m of conv.members) state.names.set(m.id, m.name || m.nick_name || `User ${m.id}`);
    if (conv.key === state.current) {
      renderChatHeader(state);
      renderCurrent('keep');
    }
  } catch {
    // not a member any more: the header says less
  }
}

/** Everything in this one-to-one conversation is read (`CHAT_WITH`, §4.1). */
function markRead(conv) {
  state.unread.set(conv.key, 0);
  if (state.socket && state.socket.loggedIn) state.socket.request('CHAT_WITH', { user: conv.peer.user }).catch(() => {});
}

let readTimer = null;
function markReadSoon(conv) {
  clearTimeout(readTimer);
  readTimer = setTimeout(() => markRead(conv), 300);
}

function renderCurrent(mode) {
  const conv = state.current && state.convs.get(state.current);
  if (!conv) return;
  renderMessages(state, conv, mode, {
    onPlay: playVoiceNote,
    onRetry: retrySend,
    tick: (entry) => tickFor(conv, entry),
    attachment,
    decorate: (entry, mine) => decorate(conv, entry, mine),
  });
  noteShown(conv);
}

function playVoiceNote(entry) {
  toggleVoiceNote(state.api, entry.c);
}

// ---------------------------------------------------------------- sending

function clientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return `w-${Date.now().toString(36)}-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

async function send(event) {
  event.preventDefault();
  const box = $('#composer');
  const text = box.value.trim();
  const conv = state.current && state.convs.get(state.current);
  if (!text || !conv) return;
  if (isEditing(conv)) {
    await submitEdit(conv, text); // rich.js: CHAT_EDIT, and the composer empties once saved
    return;
  }
  box.value = '';
  autoGrow();
  await post(conv, { t: 'text', c: text });
}

/**
 * A new message, shown at once as pending, then delivered: a text, or an uploaded attachment
 * (`t` = its kind, `c` = its key, a file's `name`). It answers the message being replied to,
 * if any (`reply_to`).
 */
async function post(conv, { t, c, name }) {
  const pending = {
    id: null,
    client_id: clientId(),
    t,
    c,
    name,
    ...takeReply(conv), // {reply_to, reply_snippet} or nothing
    from: state.me.id,
    ts: Math.floor(Date.now() / 1000),
    pending: true,
    failed: null,
    conv: conv.key,
  };
  conv.pending.push(pending);
  renderCurrent('bottom');
  await deliver(conv, pending);
}

/** CHAT_SEND_MSG over the socket; POST /message (same client id, so no double) without one. */
async function deliver(conv, pending) {
  const { client_id, t, c, name, reply_to, reply_snippet, ts } = pending;
  const data = { ...(conv.peer.group ? { g_id: conv.peer.group } : { user: conv.peer.user }), content: c, t, id: client_id };
  if (reply_to) data.reply_to = reply_to;
  if (name) data.name = name;
  let sid;
  try {
    try {
      if (!state.socket) throw Object.assign(new Error('not connected'), { transport: true });
      sid = (await state.socket.request('CHAT_SEND_MSG', data)).id;
    } catch (err) {
      if (!err.transport) throw err;
      sid = await state.api.sendMessage(conv.peer, client_id, c, { t, reply_to });
    }
  } catch (err) {
    pending.failed = err.message;
    if (conv.key === state.current) renderCurrent('auto');
    return;
  }
  conv.pending = conv.pending.filter((p) => p !== pending);
  merge(conv, { id: sid, client_id, t, c, name, reply_to, reply_snippet, from: state.me.id, to: conv.peer.user, g_id: conv.peer.group, ts });
  if (conv.peer.user) state.unread.set(conv.key, 0);
  if (conv.key === state.current) renderCurrent('bottom');
  renderSidebar();
  refreshInboxSoon(); // a first message adds the conversation
  // An attachment is stored under its server path (a photo with its size and thumbnail), which
  // the answer does not give: read the newest page, as after a voice note.
  if (t !== 'text') loadLatest(conv).catch(() => {});
}

function retrySend(pending) {
  const conv = state.convs.get(pending.conv);
  if (!conv) return;
  pending.failed = null;
  renderCurrent('auto');
  deliver(conv, pending);
}

async function sendVoiceNote() {
  const input = $('#audio-file');
  const file = input.files && input.files[0];
  input.value = '';
  const conv = state.current && state.convs.get(state.current);
  if (!file || !conv) return;
  try {
    await state.api.sendAudio(conv.peer, clientId(), file);
    // The answer holds the message id, not its stored path: read the newest page.
    await loadLatest(conv);
    renderCurrent('bottom');
  } catch (err) {
    showMessage($('#friend-message'), `Voice note not sent: ${err.message}`, 'error');
  }
}

function autoGrow() {
  const box = $('#composer');
  box.style.height = 'auto';
  box.style.height = `${Math.min(box.scrollHeight, 160)}px`;
}

// ---------------------------------------------------------------- groups

async function createGroup(event) {
  event.preventDefault();
  const name = $('#group-name').value.trim();
  const out = $('#group-message');
  if (!name) {
    showMessage(out, 'Give the group a name.', 'error');
    return;
  }
  const members = [...document.querySelectorAll('#group-members input:checked')].map((c) => Number(c.value));
  $('#group-create').disabled = true;
  try {
    const group = await state.api.createGroup(name, members, clientId());
    $('#group-name').value = '';
    showMessage(out, '');
    toggleGroupForm(false);
    await refreshGroups();
    openConversation(`g:${group.g_id}`);
  } catch (err) {
    showMessage(out, err.message, 'error');
  } finally {
    $('#group-create').disabled = false;
  }
}

function toggleGroupForm(show) {
  const form = $('#group-form');
  form.hidden = show === undefined ? !form.hidden : !show;
  $('#group-new').setAttribute('aria-expanded', String(!form.hidden));
  if (!form.hidden) {
    renderGroupMemberPicker(state);
    $('#group-name').focus();
  }
}

// ---------------------------------------------------------------- sign up, log in, settings

function credentials() {
  return { phone: $('#phone').value.trim(), name: $('#name').value.trim(), password: $('#password').value };
}

async function signUp() {
  const out = $('#auth-message');
  const { phone, name, password } = credentials();
  if (!phone || !name || !password) {
    showMessage(out, 'To sign up, fill in phone, name and password.', 'error');
    return;
  }
  $('#signup').disabled = true;
  try {
    const user = await makeApi(null).signUp({ phone, name, password });
    showMessage(out, `Account created for ${user.name} (id ${user.id}). Log in.`, 'ok');
  } catch (err) {
    showMessage(out, err.message, 'error');
  } finally {
    $('#signup').disabled = false;
  }
}

async function logIn(event) {
  event.preventDefault();
  const out = $('#auth-message');
  const { phone, password } = credentials();
  if (!phone || !password) {
    showMessage(out, 'Enter your phone (or email) and password.', 'error');
    return;
  }
  $('#login').disabled = true;
  try {
    const login = await makeApi(null).logIn(phone, password);
    const session = { id: login.id, token: login.token, wsUrl: login.wsUrl, httpUrl: state.config.httpUrl };
    localStorage.setItem(SESSION, JSON.stringify(session));
    $('#password').value = '';
    showMessage(out, '');
    await enter(session);
  } catch (err) {
    showMessage(out, err.message, 'error');
  } finally {
    $('#login').disabled = false;
  }
}

async function logOut() {
  const api = state.api;
  leave();
  showAuth('Logged out.', 'info');
  try {
    await api.logOut(); // ends the session and closes its sockets
  } catch {
    // the session is forgotten here either way
  }
}

function openSettings() {
  const saved = readOverrides();
  $('#settings-http').value = saved.httpUrl;
  $('#settings-ws').value = saved.wsUrl;
  $('#settings-http').placeholder = state.config.httpUrl;
  $('#settings-ws').placeholder = state.config.wsUrl;
  $('#settings-effective').textContent = `Now: HTTP ${state.config.httpUrl} · socket ${state.socket ? state.socket.url : state.config.wsUrl}`;
  openPushSettings(state); // shows its section (logged in only) before the dialog opens
  $('#settings').showModal();
}

function wireStatic() {
  $('#auth-form').addEventListener('submit', logIn);
  $('#signup').addEventListener('click', signUp);
  $('#logout').addEventListener('click', logOut);
  $('#friend-form').addEventListener('submit', addFriend);
  $('#composer-form').addEventListener('submit', send);
  $('#composer').addEventListener('input', autoGrow);
  $('#composer').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $('#composer-form').requestSubmit();
    }
  });
  $('#audio-file').addEventListener('change', sendVoiceNote);
  $('#group-new').addEventListener('click', () => toggleGroupForm());
  $('#group-form').addEventListener('submit', createGroup);
  $('#conn').addEventListener('click', () => state.socket && state.socket.retryNow());
  $('#messages').addEventListener('scroll', () => {
    const conv = state.current && state.convs.get(state.current);
    if (conv && $('#messages').scrollTop < 60) loadOlder(conv);
  });
  document.addEventListener('visibilitychange', () => {
    const conv = state.current && state.convs.get(state.current);
    if (document.visibilityState === 'visible' && conv && conv.peer.user && state.unread.get(conv.key)) {
      markRead(conv);
      renderSidebar();
    }
  });
  for (const button of document.querySelectorAll('.open-settings')) button.addEventListener('click', openSettings);
  wireSettings(state, renderMuted, {
    // DELETE /user ended every session: forget this one as a logout does (no POST /server/logout).
    onDeleted: () => {
      leave();
      showAuth('Your account was deleted.', 'info');
    },
  });
  initSignals(state, { render: () => renderCurrent('auto') });
  initPresence(state, { render: renderMuted });
  initRich(state, {
    render: () => {
      renderCurrent('auto');
      renderSidebar();
    },
    merge,
    resize: autoGrow,
    report: reportMessage,
  });
  initMedia(state, { send: post });
  initAvatars(state);
  initInbox(state, { open: openConversation, render: renderMuted });
  initProfile(state, { render: renderMuted });
  initDevices(state, {
    onEnded: () => {
      leave();
      showAuth('This device was logged out (My devices).', 'info');
    },
  });
  initReport(state);
  initReset({ makeApi: () => makeApi(null) });
  $('#settings-form').addEventListener('submit', (e) => {
    const action = e.submitter && e.submitter.value;
    if (action !== 'save') return;
    saveOverrides({ httpUrl: $('#settings-http').value, wsUrl: $('#settings-ws').value });
    location.reload();
  });
  $('#settings-reset').addEventListener('click', () => {
    saveOverrides({ httpUrl: '', wsUrl: '' });
    location.reload();
  });
}

boot();
