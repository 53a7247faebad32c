// Presence (who is online): `PRESENCE_SUBSCRIBE {users}` with the first 100 friends after the
// friend list loads and after each (re)connect (a subscription ends with its socket, and a new
// one replaces the old), then `NOTIFY_PRESENCE {user, online, last_seen}` when a watched
// friend's first socket opens or last one closes. Only friends who show their presence are in
// the answer; the others have no entry here, so no dot and no "last seen". ui.js draws the
// green dot (sidebar and conversation header) and the header's "last seen …" from here.

const MAX_WATCHED = 100;
const REFRESH_MS = 60_000; // "last seen 5 min ago" ages

let state = null;
let rerender = () => {};
const known = new Map(); // user id -> {online, last_seen}
let subscribed = null; // the ids (joined) subscribed on this connection, or null
let run = 0; // the latest subscribe: older answers are dropped
let timer = null;

/** Once, at boot: `render()` redraws the sidebar and the conversation header. */
export function initPresence(appState, { render }) {
  state = appState;
  rerender = render;
  clearInterval(timer);
  timer = setInterval(() => {
    const p = currentPeer();
    if (p && !p.online && p.last_seen > 0) rerender();
  }, REFRESH_MS);
}

/** Each new socket: subscribe after each (re)connect, follow its NOTIFY_PRESENCE. */
export function watchPresence(socket) {
  socket.addEventListener('ready', () => {
    subscribed = null; // the server forgot the watch with the old socket
    subscribeFriends();
  });
  socket.addEventListener('state', (e) => {
    if (e.detail.state !== 'online') subscribed = null;
  });
  socket.addEventListener('presence', (e) => onNotify(e.detail));
}

/** Log out: forget everything. */
export function resetPresence() {
  known.clear();
  subscribed = null;
  run += 1;
}

/** The friend list changed (loaded, a friend added or removed): watch its first 100. */
export function subscribeFriends() {
  const socket = state && state.socket;
  if (!socket || !socket.loggedIn) return; // `ready` subscribes
  const users = [...state.friends.keys()].slice(0, MAX_WATCHED);
  const key = users.join(',');
  if (key === subscribed) return;
  if (!key && subscribed === null) {
    // No friends, nothing watched on this socket: nothing to send, nothing to show.
    if (known.size) {
      known.clear();
      rerender();
    }
    return;
  }
  subscribed = key;
  const mine = (run += 1);
  socket
    .request('PRESENCE_SUBSCRIBE', { users })
    .then((answer) => {
      if (mine !== run || state.socket !== socket) return;
      known.clear();
      for (const p of (answer && answer.users) || []) note(p);
      rerender();
    })
    .catch(() => {
      if (mine === run && subscribed === key) subscribed = null; // again at the next trigger
    });
}

function note(p) {
  const user = Number(p && p.user);
  if (!Number.isFinite(user)) return false;
  known.set(user, { online: p.online === true, last_seen: Number(p.last_seen) || 0 });
  return true;
}

function onNotify(data) {
  if (state && state.me && note(data)) rerender();
}

function currentPeer() {
  const conv = state && state.current ? state.convs.get(state.current) : null;
  return conv && conv.peer.user ? presenceOf(conv.peer.user) : null;
}

/** {online, last_seen} of a friend who shows presence, or null. */
export function presenceOf(user) {
  return known.get(Number(user)) || null;
}

/** "last seen just now / 5 min ago / today at 14:05 / yesterday at 09:12 / Mar 3 (, 2024)". */
export function lastSeenLabel(ts, now = Date.now()) {
  const d = new Date(ts * 1000);
  const ago = Math.max(0, now - d.getTime());
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (ago < 60_000) return 'last seen just now';
  if (ago < 3_600_000) return `last seen ${Math.floor(ago / 60_000)} min ago`;
  const today = new Date(now);
  if (d.toDateString() === today.toDateString()) return `last seen today at ${time}`;
  if (d.toDateString() === new Date(now - 86_400_000).toDateString()) return `last seen yesterday at ${time}`;
  const date = { month: 'short', day: 'numeric' };
  if (d.getFullYear() !== today.getFullYear()) date.year = 'numeric';
  return `last seen ${d.toLocaleDateString([], date)}`;
}
