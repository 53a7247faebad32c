// The WebSocket (docs/API.md §3), JSON dialect. One object per logged-in page:
//
// - connects without anything in the URL and logs in with the first frame
//   `{"event":"LOGIN","data":{"token":...,"device":"web"}}` (§3.5), so the token stays out of
//   URLs and access logs;
// - on every (re)connect runs the safe loop of §3.7: SYNC, hand the entries over, ACK their ids,
//   again while `more`;
// - acks what arrives live, dedups by id (delivery is at-least-once), keeps the highest `seq`
//   per stream and syncs on a gap;
// - reconnects with exponential backoff and jitter when the socket closes, pings when idle.
//
// Events (EventTarget): `state` {state: 'connecting'|'online'|'offline', retryIn, reason},
// `entry` {kind: 'm'|'gm'|'n', data, live} for each new message / notification / group event,
// `unread` {counts: {key: n}, partial} for LIST_CONTACTS_UNREAD and NOTIFY_UPDATE_UNREAD,
// `ready` after each (re)connect's sync, `keys` {key, id} when a push tells which contact key
// belongs to which user, `signal` {event, data} for NOTIFY_TYPING, NOTIFY_READ and
// NOTIFY_DELIVERED (signals.js; never stored, never acked), `presence` {user, online, last_seen}
// for NOTIFY_PRESENCE (presence.js), `reaction` {with | g_id, user, id, emoji, on, count} for
// NOTIFY_REACTION (rich.js; a signal too).

const REQUEST_TIMEOUT_MS = 10_000;
const PING_EVERY_MS = 4 * 60_000; // API Gateway closes sockets idle for 10 minutes
const MAX_BACKOFF_MS = 30_000;
const SEEN_LIMIT = 5000;

export class SocketError extends Error {
  /** `transport`: the frame may not have arrived (not connected, no answer, closed), as
   * opposed to a refusal (FAIL / ERROR) by the server. */
  constructor(event, msg, transport = false) {
    super(msg || event);
    this.event = event;
    this.transport = transport;
  }
}

/** The stream an entry id belongs to: `dm#1#2`, `group#9`, or `feed` for `n:12`. */
export function streamOf(id) {
  const text = String(id);
  if (text.startsWith('n:') || /^\d+$/.test(text)) return 'feed';
  const colon = text.lastIndexOf(':');
  return colon > 0 ? text.slice(0, colon) : text;
}

export class ImSocket extends EventTarget {
  constructor({ url, token, userId, device = 'web' }) {
    super();
    this.url = url;
    this.token = token;
    this.userId = userId;
    this.device = device;
    this.ws = null;
    this.state = 'offline';
    this.loggedIn = false;
    this.stopped = true;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.nextRef = 1;
    this.pending = new Map(); // ref -> {resolve, reject, timer, event}
    this.seen = new Set();
    this.highest = new Map(); // stream -> highest seq seen
    this.ackQueue = [];
    this.acked = new Set(); // ids acked on this connection (a push and a sync often repeat one)
    this.ackTimer = null;
    this.syncing = null;
    this.syncAgain = false;
    this.onOnline = () => this.retryNow();
    this.onVisible = () => {
      if (document.visibilityState === 'visible') this.retryNow();
    };
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    document.addEventListener('visibilitychange', this.onVisible);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    document.removeEventListener('visibilitychange', this.onVisible);
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, 'logged out');
    }
    this.teardown('stopped');
    this.setState('offline', { reason: 'stopped' });
  }

  /** Connect now if waiting to retry (the network came back, the tab became visible, a click). */
  retryNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  setState(state, detail = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, ...detail } }));
  }

  connect() {
    if (this.stopped) return;
    this.setState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this.scheduleRetry(`bad WebSocket URL: ${err.message}`);
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.login(ws);
    };
    ws.onmessage = (e) => {
      if (ws === this.ws) this.receive(e.data);
    };
    ws.onclose = (e) => {
      if (ws !== this.ws) return; // replaced or stopped on purpose
      this.ws = null;
      this.teardown('the socket closed');
      if (this.stopped) return;
      // 1000 from the server: this device logged in on another socket (another tab of this
      // account), or the session ended. Reconnecting would kick the other tab off in turn.
      if (e.code === 1000 && opened) {
        this.attempt = 0;
        this.setState('offline', { reason: 'replaced', detail: e.reason || 'closed by the server' });
        this.dispatchEvent(new CustomEvent('closed', { detail: { code: e.code, reason: e.reason } }));
        return;
      }
      this.scheduleRetry(opened ? `closed (${e.code})` : 'could not connect');
      if (!opened) this.dispatchEvent(new CustomEvent('connect-failed'));
    };
  }

  scheduleRetry(reason) {
    if (this.stopped) return;
    const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
    this.setState('offline', { reason, retryIn: delay });
  }

  teardown(why) {
    this.loggedIn = false;
    clearInterval(this.pingTimer);
    this.pingTimer = null;
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.ackQueue = [];
    this.acked.clear();
    for (const { reject, timer, event } of this.pending.values()) {
      clearTimeout(timer);
      reject(new SocketError(event, why, true));
    }
    this.pending.clear();
  }

  async login(ws) {
    try {
      let answer;
      try {
        answer = await this.request('LOGIN', { token: this.token, device: this.device }, { beforeLogin: true });
      } catch (err) {
        // A connection logged in at $connect (a token cookie set by some other client of this
        // host) refuses a login with credentials; `LOGIN {}` names its user.
        if (err.message !== 'already logged in') throw err;
        answer = await this.request('LOGIN', {}, { beforeLogin: true });
      }
      if (ws !== this.ws) return;
      if (this.userId && answer.id !== this.userId) throw new SocketError('LOGIN', 'the socket logged in as another user');
      this.loggedIn = true;
      this.attempt = 0;
      this.setState('online');
      this.pingTimer = setInterval(() => {
        if (this.loggedIn) this.request('PING', {}).catch(() => {});
      }, PING_EVERY_MS);
      await this.sync();
      this.dispatchEvent(new CustomEvent('ready'));
    } catch (err) {
      if (ws !== this.ws) return;
      if (/invalid|expired/.test(err.message)) {
        // The session is gone: no point in reconnecting.
        this.dispatchEvent(new CustomEvent('expired'));
        this.stop();
        return;
      }
      ws.close(4000, 'login failed'); // onclose schedules the retry
    }
  }

  /** Send a frame and wait for its answer (OK → its data; FAIL / ERROR → a SocketError). */
  request(event, data = {}, { beforeLogin = false, timeout = REQUEST_TIMEOUT_MS } = {}) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || (!beforeLogin && !this.loggedIn)) {
      return Promise.reject(new SocketError(event, 'not connected', true));
    }
    const ref = `r${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new SocketError(event, 'no answer', true));
      }, timeout);
      this.pending.set(ref, { resolve, reject, timer, event });
      ws.send(JSON.stringify({ event, data, ref }));
    }).then((answer) => {
      if (event === 'CHAT_SEND_MSG' && answer && answer.id) this.noteSeq(answer.id);
      return answer;
    });
  }

  /** Send a frame that gets no answer (`TYPING`): false when not connected. */
  fire(event, data = {}) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.loggedIn) return false;
    ws.send(JSON.stringify({ event, data }));
    return true;
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // not ours: this client only speaks JSON
    }
    if (!frame || typeof frame !== 'object') return;
    if (frame.message && !frame.event) {
      // API Gateway's own {"message":"Internal server error",...}: fails the oldest request.
      const first = this.pending.keys().next();
      if (!first.done) this.settle(first.value, null, frame.message);
      return;
    }
    const { event, data = {}, ref } = frame;
    if (ref !== undefined && this.pending.has(String(ref))) {
      if (event === 'OK' || event === 'PONG') this.settle(String(ref), data);
      else this.settle(String(ref), null, (data && data.msg) || event);
      return;
    }
    this.push(event, data || {});
  }

  settle(ref, data, error) {
    const entry = this.pending.get(ref);
    if (!entry) return;
    this.pending.delete(ref);
    clearTimeout(entry.timer);
    if (error) entry.reject(new SocketError(entry.event, error));
    else entry.resolve(data);
  }

  /** A frame the server sent on its own (§3.6). */
  push(event, data) {
    switch (event) {
      case 'NOTIFY_NEW_MSG': {
        const msg = data.msg || {};
        if (msg.more) return this.requestSync(); // too big for a frame: fetch it by SYNC
        this.deliver(msg.g_id !== undefined && msg.g_id !== null ? 'gm' : 'm', msg, true);
        return;
      }
      case 'NOTIFY_UPDATE_CONTACT':
      case 'NOTIFY_EDIT_MSG':
      case 'NOTIFY': {
        if (data.more) return this.requestSync();
        if (data.contacts && data.from !== undefined) {
          const other = data.from === this.userId ? data.to : data.from;
          for (const key of Object.keys(data.contacts)) {
            this.dispatchEvent(new CustomEvent('keys', { detail: { key, id: other } }));
          }
        }
        const { contacts, ...notification } = data;
        this.deliver('n', notification, true);
        return;
      }
      case 'NOTIFY_UPDATE_UNREAD':
        this.dispatchEvent(new CustomEvent('unread', { detail: { counts: data.unread_msg_count || {}, partial: true } }));
        return;
      case 'NOTIFY_TYPING':
      case 'NOTIFY_READ':
      case 'NOTIFY_DELIVERED':
        this.dispatchEvent(new CustomEvent('signal', { detail: { event, data } }));
        return;
      case 'NOTIFY_PRESENCE':
        this.dispatchEvent(new CustomEvent('presence', { detail: data }));
        return;
      case 'NOTIFY_REACTION':
        this.dispatchEvent(new CustomEvent('reaction', { detail: data }));
        return;
      case 'SYNC':
        if (data.more) this.requestSync();
        return;
      case 'ERROR':
        if (String(data.msg || '').includes('reconnect') && this.ws) this.ws.close(4001, 'reconnect');
        return;
      default:
        // Seed 002's `Contact` and anything newer: not needed by this client.
        return;
    }
  }

  /** Hand a new entry to the app once, ack it, watch its stream for gaps. */
  deliver(kind, data, live) {
    const id = data.id;
    if (id === undefined || id === null) return;
    const key = String(id);
    if (!this.seen.has(key)) {
      this.seen.add(key);
      if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value);
      this.dispatchEvent(new CustomEvent('entry', { detail: { kind, data, live } }));
    }
    this.ack(key);
    if (live && typeof data.seq === 'number') {
      const stream = streamOf(key);
      const before = this.highest.get(stream);
      if (before !== undefined && data.seq > before + 1) this.requestSync();
    }
    if (typeof data.seq === 'number') this.noteSeq(key, data.seq);
  }

  noteSeq(id, seq) {
    const value = seq ?? Number(String(id).slice(String(id).lastIndexOf(':') + 1));
    if (!Number.isFinite(value)) return;
    const stream = streamOf(id);
    if (!(this.highest.get(stream) >= value)) this.highest.set(stream, value);
  }

  ack(id) {
    if (this.acked.has(id)) return;
    this.ackQueue.push(id);
    if (this.ackTimer) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      this.flushAcks().catch(() => {});
    }, 50);
  }

  /** ACK what is queued, in one frame; what fails is acked again when it comes back. */
  async flushAcks() {
    const ids = [...new Set(this.ackQueue)];
    this.ackQueue = [];
    if (!ids.length || !this.loggedIn) return;
    for (const id of ids) this.acked.add(id);
    try {
      await this.request('ACK', { ids });
    } catch (err) {
      for (const id of ids) this.acked.delete(id);
      throw err;
    }
  }

  requestSync() {
    if (!this.loggedIn) return;
    this.sync().catch(() => {});
  }

  /** SYNC until `more` is false (§3.7 step 1); one loop at a time, re-run if asked meanwhile. */
  async sync() {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.syncAgain = false;
          for (let page = 0; page < 50; page += 1) {
            const answer = await this.request('SYNC', {});
            for (const gm of answer.gm || []) this.deliver('gm', gm, false);
            for (const m of answer.m || []) this.deliver('m', m, false);
            for (const n of answer.n || []) this.deliver('n', n, false);
            if (answer.friend_request) this.dispatchEvent(new CustomEvent('friend-requests', { detail: answer.friend_request }));
            // Acks must land before the next page, or it would hold the same entries.
            clearTimeout(this.ackTimer);
            this.ackTimer = null;
            await this.flushAcks();
            if (!answer.more) break;
          }
        } while (this.syncAgain);
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  /** `LIST_CONTACTS_UNREAD` → an `unread` event with every contact's count. */
  async listUnread() {
    const answer = await this.request('LIST_CONTACTS_UNREAD', {});
    this.dispatchEvent(new CustomEvent('unread', { detail: { counts: answer.contacts || {}, partial: false } }));
  }
}
