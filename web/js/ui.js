// DOM helpers and the renderers of the page's parts. User text only ever goes in as text
// nodes (never innerHTML).

import { voiceNoteLook } from './audio.js';
import { presenceOf, lastSeenLabel } from './presence.js';
import { avatarSrc } from './avatars.js';

export const $ = (selector) => document.querySelector(selector);

/** h('div.a.b', {attrs}, ...children): an element; `on*` attributes become listeners. */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function showMessage(el, text, kind = 'info') {
  el.textContent = text || '';
  el.dataset.kind = kind;
}

const PALETTE = ['#3b82f6', '#10b981', '#f59e0b', '#ef4444', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16'];

/**
 * A round badge with the name's initial; with `path` (a profile's `avatar`), its picture over
 * the initial once loaded (avatars.js).
 */
export function avatar(name, seed, extra = '', path = null) {
  const initial = (String(name || '?').trim()[0] || '?').toUpperCase();
  const color = PALETTE[Math.abs(Number(seed) || 0) % PALETTE.length];
  const picture = path ? avatarSrc(path) : undefined; // undefined while it loads
  return h(
    `span.avatar${extra}`,
    { style: `background:${color}`, 'aria-hidden': 'true' },
    initial,
    path ? h('img', { alt: '', 'data-avatar': path, 'data-testid': 'avatar-img', src: picture }) : null,
  );
}

/** The avatar path known for a user (`state.profiles`: inbox, contacts, `update_user`), or null. */
export function avatarOf(state, id) {
  const p = state.profiles && state.profiles.get(id);
  return (p && p.avatar) || null;
}

export function clock(ts) {
  const d = new Date(ts * 1000);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function dayLabel(ts) {
  const d = new Date(ts * 1000);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86_400_000);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return d.toLocaleDateString([], { year: 'numeric', month: 'short', day: 'numeric' });
}

// --- the sidebar

export function renderMe(me) {
  $('#me-name').textContent = me.name || `User ${me.id}`;
  $('#me-id').textContent = String(me.id);
  const slot = $('#me-avatar');
  slot.replaceWith(Object.assign(avatar(me.name, me.id, '', me.avatar), { id: 'me-avatar' }));
}

export function renderConnection(detail) {
  const button = $('#conn');
  const label = $('#conn-label');
  button.dataset.state = detail.state;
  if (detail.state === 'online') {
    label.textContent = 'Online';
    button.title = 'Connected: live updates on';
  } else if (detail.state === 'connecting') {
    label.textContent = 'Connecting…';
    button.title = 'Connecting to the socket';
  } else if (detail.reason === 'replaced') {
    label.textContent = 'Paused';
    button.title = 'This account connected from another window; click to take the connection back';
  } else if (detail.retryIn) {
    label.textContent = `Offline · retry in ${Math.ceil(detail.retryIn / 1000)} s`;
    button.title = `${detail.reason || 'disconnected'}; click to retry now`;
  } else {
    label.textContent = 'Offline';
    button.title = detail.reason || 'disconnected';
  }
}

/** Whether a conversation ('u:<id>' | 'g:<id>') is muted now (`state.mutes`: key -> until). */
export function isMuted(state, key) {
  const until = state.mutes && state.mutes.get(key);
  return Boolean(until) && until > Date.now() / 1000;
}

const SVG = 'http://www.w3.org/2000/svg';

/** A crossed-out bell (Feather's bell-off, MIT), drawn inline: no emoji font needed. */
function bellOff() {
  const svg = document.createElementNS(SVG, 'svg');
  const look = { viewBox: '0 0 24 24', width: 15, height: 15, fill: 'none', stroke: 'currentColor', 'stroke-width': 2 };
  for (const [k, v] of Object.entries({ ...look, 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true' })) {
    svg.setAttribute(k, String(v));
  }
  const paths = ['M13.73 21a2 2 0 0 1-3.46 0', 'M18.63 13A17.89 17.89 0 0 1 18 8', 'M6.26 6.26A5.82 5.82 0 0 0 6 8c0 7-3 9-3 9h14'];
  for (const d of [...paths, 'M18 8a6 6 0 0 0-9.33-5', 'M1 1l22 22']) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

export function muteMark(state, key, testid) {
  return isMuted(state, key) ? h('span.mute-mark', { 'data-testid': testid, role: 'img', title: 'Muted', 'aria-label': 'muted' }, bellOff()) : null;
}

/** A friend's presence dot (green when online; drawn but not shown when offline), or null when
 * the friend does not show presence. */
export function presenceDot(id, testid) {
  const p = presenceOf(id);
  if (!p) return null;
  const label = p.online ? 'Online' : p.last_seen > 0 ? lastSeenLabel(p.last_seen) : 'Offline';
  return h('span.presence', { 'data-testid': testid, 'data-online': String(p.online), role: 'img', title: label, 'aria-label': label });
}

export function badge(count, testid) {
  return count > 0 ? h('span.badge', { 'data-testid': testid, 'aria-label': `${count} unread` }, count > 99 ? '99+' : String(count)) : null;
}

/**
 * Friends, by name: where a chat with someone not in the inbox yet starts (the inbox, inbox.js,
 * shows the conversations with their last line, mute mark and unread count).
 */
export function renderContacts(state, onOpen) {
  const list = $('#contacts');
  const friends = [...state.friends.values()].sort((a, b) => a.name.localeCompare(b.name));
  list.replaceChildren(
    ...friends.map((f) => {
      const key = `u:${f.id}`;
      return h(
        'li',
        {},
        h(
          `button.item.compact${state.current === key ? '.active' : ''}`,
          { type: 'button', 'data-testid': `contact-${f.id}`, onclick: () => onOpen(key) },
          h('span.avatar-wrap', {}, avatar(f.name, f.id, '.small', avatarOf(state, f.id)), presenceDot(f.id, `presence-${f.id}`)),
          h('span.item-text', {}, h('span.item-name', {}, f.name), h('span.item-sub', {}, `id ${f.id}`)),
        ),
      );
    }),
  );
  $('#contacts-empty').hidden = friends.length > 0;
}

/** The user's groups, by name (their conversations are in the inbox too). */
export function renderGroups(state, onOpen) {
  const list = $('#groups');
  const groups = [...state.groups.values()].sort((a, b) => a.name.localeCompare(b.name));
  list.replaceChildren(
    ...groups.map((g) => {
      const key = `g:${g.g_id}`;
      return h(
        'li',
        {},
        h(
          `button.item.compact${state.current === key ? '.active' : ''}`,
          { type: 'button', 'data-testid': `group-${g.g_id}`, onclick: () => onOpen(key) },
          avatar(g.name, g.g_id + 3, '.square.small'),
          h('span.item-text', {}, h('span.item-name', {}, g.name), h('span.item-sub', {}, `group ${g.g_id}`)),
        ),
      );
    }),
  );
  $('#groups-empty').hidden = groups.length > 0;
}

export function renderRequests(state, { onAccept, onIgnore }) {
  const list = $('#requests');
  list.replaceChildren(
    ...state.requests.map((r) => {
      const name = r.request_user_name || r.request_user_nick_name || `User ${r.request_user_id}`;
      return h(
        'li.request',
        { 'data-testid': `request-${r.request_user_id}` },
        avatar(name, r.request_user_id),
        h('span.item-text', {}, h('span.item-name', {}, name), h('span.item-sub', {}, `id ${r.request_user_id} wants to be your friend`)),
        h('span.request-actions', {},
          h('button.primary.small', { type: 'button', 'data-testid': `accept-${r.request_user_id}`, onclick: (e) => onAccept(r, e.currentTarget) }, 'Accept'),
          h('button.small', { type: 'button', 'data-testid': `ignore-${r.request_user_id}`, onclick: (e) => onIgnore(r, e.currentTarget) }, 'Ignore'),
        ),
      );
    }),
  );
  $('#requests-section').hidden = state.requests.length === 0;
}

export function renderGroupMemberPicker(state) {
  const box = $('#group-members');
  const friends = [...state.friends.values()].sort((a, b) => a.name.localeCompare(b.name));
  box.replaceChildren(
    ...(friends.length
      ? friends.map((f) => h('label.check', {}, h('input', { type: 'checkbox', value: f.id, 'data-testid': `member-${f.id}` }), ` ${f.name}`))
      : [h('span.muted.small', {}, 'Contacts you add appear here.')]),
  );
}

const KINDS = { audio: 'Voice note', image: 'Photo', video: 'Video' };

export function preview(entry, state) {
  if (entry.event) return describeEvent(entry, state);
  const mine = entry.from === state.me.id;
  let body;
  if (entry.deleted || entry.hidden) body = 'message deleted';
  else if (entry.t === 'text') body = entry.c;
  else if (entry.t === 'file') body = `File: ${entry.name || ''}`;
  else body = KINDS[entry.t] || `[${entry.t}]`;
  return mine ? `You: ${body}` : body;
}

export function describeEvent(e, state) {
  const who = (id) => (id === state.me.id ? 'You' : state.names.get(id) || `User ${id}`);
  switch (e.t) {
    case 'create_group':
      return `${who(e.from)} created the group “${e.name || ''}”`;
    case 'create_group_member':
      return e.member_id === e.from ? `${who(e.member_id)} joined` : `${who(e.from)} added ${who(e.member_id)}`;
    case 'delete_group_member':
      return `${who(e.gm_id)} left`;
    case 'delete_group':
      return `${who(e.from)} deleted the group`;
    default:
      return e.t;
  }
}

// --- the conversation

export function renderChatHeader(state) {
  const conv = state.current && state.convs.get(state.current);
  const title = $('#chat-title');
  const subtitle = $('#chat-subtitle');
  const mute = $('#mute');
  $('#report-user').hidden = !(conv && conv.peer.user); // report.js: one-to-one chats only
  if (!conv) {
    title.textContent = 'No conversation';
    subtitle.textContent = '';
    mute.hidden = true;
    $('#composer-form').hidden = true;
    return;
  }
  const muted = isMuted(state, conv.key);
  mute.hidden = false;
  mute.textContent = muted ? 'Unmute' : 'Mute';
  mute.setAttribute('aria-pressed', String(muted));
  mute.title = muted ? 'Muted: no push notifications from this conversation. Click to unmute.' : 'Mute: no push notifications from this conversation';
  if (conv.peer.user) {
    const f = state.friends.get(conv.peer.user);
    const p = presenceOf(conv.peer.user);
    const seen = p ? (p.online ? 'online · ' : p.last_seen > 0 ? `${lastSeenLabel(p.last_seen)} · ` : '') : '';
    title.replaceChildren((f && f.name) || state.names.get(conv.peer.user) || `User ${conv.peer.user}`);
    const dot = presenceDot(conv.peer.user, 'chat-presence');
    if (dot) title.append(' ', dot);
    subtitle.textContent = `${seen}id ${conv.peer.user}${f && f.phone ? ` · ${f.phone}` : ''}`;
  } else {
    const g = state.groups.get(conv.peer.group);
    title.textContent = (g && g.name) || `Group ${conv.peer.group}`;
    subtitle.textContent = conv.members ? `${conv.members.length} members · ${conv.members.map((m) => m.name || `User ${m.id}`).join(', ')}` : `group ${conv.peer.group}`;
  }
  $('#composer-form').hidden = false;
}

/**
 * The current conversation's entries. `mode`: 'bottom' scrolls to the newest, 'keep' keeps
 * the view where it was (older entries were prepended), 'auto' follows the newest only when
 * the reader was already at the bottom.
 */
export function renderMessages(state, conv, mode, actions) {
  const box = $('#messages');
  const fromBottom = box.scrollHeight - box.scrollTop;
  const atBottom = fromBottom - box.clientHeight < 80;
  const nodes = [];
  const entries = orderedEntries(conv).filter((e) => !e.hidden); // deleted for this user only: out of view
  if (conv.loadingOlder) nodes.push(h('div.loading.muted.small', {}, 'Loading older messages…'));
  else if (conv.loaded && !conv.hasMore && entries.length) nodes.push(h('div.start.muted.small', {}, 'Start of the conversation'));
  let lastDay = null;
  let lastFrom = null;
  for (const entry of entries) {
    const day = dayLabel(entry.ts);
    if (day !== lastDay) {
      nodes.push(h('div.day', {}, h('span', {}, day)));
      lastDay = day;
      lastFrom = null;
    }
    if (entry.event) {
      nodes.push(h('div.event', { 'data-testid': 'event' }, describeEvent(entry, state)));
      lastFrom = null;
      continue;
    }
    const mine = entry.from === state.me.id;
    const showSender = conv.peer.group && !mine && entry.from !== lastFrom;
    lastFrom = entry.from;
    nodes.push(messageNode(state, entry, mine, showSender, actions));
  }
  if (!nodes.length || (conv.loaded && entries.length === 0)) {
    nodes.push(h('div.placeholder.muted', {}, conv.loaded ? 'No messages yet: say hello.' : 'Loading…'));
  }
  box.replaceChildren(...nodes);
  if (mode === 'bottom' || (mode === 'auto' && atBottom)) box.scrollTop = box.scrollHeight;
  else if (mode === 'keep') box.scrollTop = box.scrollHeight - fromBottom;
}

export function orderedEntries(conv) {
  const stored = [...conv.entries.values()].sort((a, b) => a.seq - b.seq);
  return [...stored, ...conv.pending];
}

/**
 * `tick(entry)`: the delivered / read mark of one of the user's own stored messages, or null.
 * `attachment(entry)`: the body of a photo, video or file (media.js), or null.
 * `decorate(entry, mine)`: `{quote, reactions, tools, menu}` (rich.js), each a node or null.
 */
function messageNode(state, entry, mine, showSender, { onPlay, onRetry, tick, attachment, decorate }) {
  let body;
  if (entry.deleted) body = h('span.text.deleted', {}, 'Message deleted');
  else if (entry.t === 'audio') {
    const look = voiceNoteLook(entry.c);
    body = h(
      'button.play',
      { type: 'button', 'data-testid': 'audio-play', 'data-path': entry.c, 'data-state': look.state, title: look.title, onclick: () => onPlay(entry) },
      look.text,
    );
  } else if (entry.t === 'text') body = h('span.text', {}, entry.c);
  else body = attachment(entry) || h('span.text', {}, `[${entry.t}] ${entry.c}`);
  const { quote, reactions, tools, menu } = decorate(entry, mine);
  const edited =
    entry.edited_at && !entry.deleted
      ? h('span.edited', { 'data-testid': 'edited', title: `Edited ${new Date(entry.edited_at * 1000).toLocaleString()}` }, '(edited)')
      : null;
  const status = entry.failed
    ? h('button.link.failed', { type: 'button', title: entry.failed, onclick: () => onRetry(entry) }, `Not sent: ${entry.failed} · retry`)
    : entry.pending
      ? h('span', {}, 'sending…')
      : null;
  const mark = mine && !entry.pending && tick ? tick(entry) : null;
  return h(
    `div.msg${mine ? '.mine' : ''}${entry.pending ? '.pending' : ''}`,
    { 'data-testid': 'message', 'data-id': entry.id || '', 'data-mine': mine ? 'true' : 'false' },
    showSender ? h('div.sender', {}, state.names.get(entry.from) || `User ${entry.from}`) : null,
    h(`div.bubble${entry.t === 'image' && !entry.deleted ? '.media' : ''}`, {}, quote, body),
    reactions,
    h('div.meta', {}, clock(entry.ts), edited ? ' ' : '', edited, status ? ' · ' : '', status, mark ? ' ' : '', mark, tools),
    menu,
  );
}
