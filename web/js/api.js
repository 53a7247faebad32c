// The HTTP API (docs/API.md §2, §4). Every call asks for JSON (routes answer TOML by default),
// sends the session token as `Authorization: Bearer`, and never uses cookies: the login's
// `Set-Cookie` is ignored (`credentials: 'omit'`), so nothing but the header authenticates.

export class ApiError extends Error {
  constructor(status, reason, code, retryAfter) {
    super(reason || `HTTP ${status}`);
    this.status = status;
    this.code = code || null;
    this.retryAfter = retryAfter || null;
  }
}

/** A login name as the routes take it: `{email}` when it has an `@`, else `{phone}` (as typed). */
function address(who) {
  return who.includes('@') ? { email: who } : { phone: who };
}

export class Api {
  /**
   * @param {string} baseUrl the HTTP API, without a trailing slash
   * @param {() => string|null} token the current session token
   * @param {() => void} onExpired called when a call made with a token answers 401
   */
  constructor(baseUrl, token, onExpired) {
    this.base = baseUrl;
    this.token = token;
    this.onExpired = onExpired;
  }

  /**
   * `wrongPassword`: the route checks a password again, so a 401 answers that password, not an
   * ended session, and must not log the page out.
   */
  async request(method, path, { query, json, form, raw = false, wrongPassword = false } = {}) {
    const url = new URL(this.base + path);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null) url.searchParams.append(key, String(value));
    }
    const headers = { Accept: 'application/json' };
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    let body;
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form; // FormData: the browser sets the multipart boundary
    }
    let res;
    try {
      res = await fetch(url, { method, headers, body, credentials: 'omit', cache: 'no-store' });
    } catch (err) {
      throw new ApiError(0, `cannot reach ${this.base} (${err.message})`);
    }
    if (raw && res.ok) return res;
    const text = await res.text();
    let doc = null;
    if (text) {
      try {
        doc = JSON.parse(text);
      } catch {
        doc = null;
      }
    }
    if (!res.ok) {
      // Route errors: {"response":[{"status":1,"reason":...,"code":...}]};
      // API Gateway's own: {"message": ...}.
      const entry = doc && Array.isArray(doc.response) ? doc.response[0] || {} : {};
      const reason = entry.reason || (doc && doc.message) || res.statusText || `HTTP ${res.status}`;
      if (res.status === 401 && token && !wrongPassword) this.onExpired();
      throw new ApiError(res.status, reason, entry.code, res.headers.get('Retry-After'));
    }
    return doc;
  }

  // --- users and sessions (§2.2, §2.3, §2.4, §2.5)

  async signUp({ phone, name, password }) {
    const doc = await this.request('POST', '/user', { json: { phone, name, password } });
    return doc.user[0];
  }

  /** `{id, token, wsUrl}`; `who` is a phone, or an email when it has an `@`. */
  async logIn(who, password) {
    const doc = await this.request('POST', '/server/login', { json: { ...address(who), password, device: 'web' } });
    const answer = doc.response[0];
    return { id: answer.user.id, token: answer.user.token, wsUrl: answer.ws_url };
  }

  /**
   * Asks for a password reset code at `who` (a phone, or an email when it has an `@`; no token).
   * The answer is 202 whether or not an account has the address, so it tells nothing; 429 past
   * 5 requests an hour for the address.
   */
  async askPasswordReset(who) {
    await this.request('POST', '/user/password/reset', { json: address(who) });
  }

  /**
   * Sets a new password with the code sent to `who` (no token). Every session of the account
   * ends. A wrong, expired or blocked code, or a password the rules refuse, is a 400 whose
   * reason says which.
   */
  async confirmPasswordReset(who, code, password) {
    await this.request('POST', '/user/password/reset/confirm', { json: { ...address(who), code, password } });
  }

  async logOut() {
    await this.request('POST', '/server/logout');
  }

  async user(id) {
    return (await this.request('GET', `/user/id/${encodeURIComponent(id)}`)).user[0];
  }

  async userByPhone(phone) {
    return (await this.request('GET', `/user/phone/${encodeURIComponent(phone)}`)).user[0];
  }

  /** A partial update of one's own profile (`PUT /user`: `name`, `nick_name`, `show_*`, …): the profile after it. */
  async updateProfile(fields) {
    return (await this.request('PUT', '/user', { json: fields })).user[0];
  }

  /** One's avatar from an image uploaded with `presignMedia('image', …)`: the profile, `avatar` = `file/avatar/<hex>.jpg`. */
  async setAvatar(key) {
    return (await this.request('PUT', '/user/avatar', { json: { key } })).user[0];
  }

  /**
   * One's data (`GET /user/export`, issue 28): `{export}`, the archive itself, or, when it is
   * more than one answer holds, `{export_url, bytes}`, a signed link to it (valid a while).
   * A 429 past 5 exports an hour.
   */
  async exportData() {
    return this.request('GET', '/user/export');
  }

  /**
   * Deletes one's account for good (`DELETE /user`, issue 28): 204, and every session has
   * ended. The password is asked again: a wrong one is a 401 that leaves the session alone
   * (and counts as a failed login, so many of them are a 429).
   */
  async deleteAccount(password) {
    await this.request('DELETE', '/user', { json: { password }, wrongPassword: true });
  }

  /** The sessions of one's account, newest first: a bare array of `{id, device, platform?, created, last_seen, current}`. */
  async sessions() {
    return this.request('GET', '/user/sessions');
  }

  /** Ends one session (204), the current one included: its token answers 401 from then on. */
  async endSession(id) {
    await this.request('DELETE', `/user/sessions/${encodeURIComponent(id)}`);
  }

  /**
   * A report (`POST /report`): `{user}` or `{message}` (a message id), a `reason` (spam, abuse,
   * other) and an optional `text`: the report's id.
   */
  async report(what, reason, text) {
    const json = { ...what, reason };
    if (text) json.text = text;
    return (await this.request('POST', '/report', { json })).report[0].id;
  }

  // --- the inbox (§4.6d)

  /** A page of one's conversations, latest activity first: `{conversation: [...], next?}`. */
  async conversations({ limit = 20, after } = {}) {
    const doc = await this.request('GET', '/conversations', { query: { limit, after } });
    return { conversation: doc.conversation || [], next: doc.next || null };
  }

  /** The contact list as of version 0: profiles (with phones) and pending requests (§2.6). */
  async contactsVersion(version = 0) {
    return this.request('GET', `/contact/version/${version}`);
  }

  // --- seed 004 friends (§4.6): lists are bare JSON arrays

  async friends() {
    return this.list('/friends');
  }

  async friendRequests() {
    return this.list('/friends/request');
  }

  /** A list route, following its `?after=` pages (1000 users each). */
  async list(path) {
    const all = [];
    let after;
    for (;;) {
      const page = await this.request('GET', path, { query: { after, limit: 1000 } });
      all.push(...page);
      if (page.length < 1000) return all;
      const last = page[page.length - 1];
      after = last.friend_id ?? last.request_user_id ?? last.requested_user_id ?? last.user_id;
      if (after === undefined) return all;
    }
  }

  async requestFriend(userId) {
    return this.request('POST', '/friends/request', { json: { requested_user_id: userId } });
  }

  async acceptFriend(friendRequestId) {
    return this.request('POST', '/friends/accept', { json: { friend_request_id: friendRequestId } });
  }

  async ignoreFriend(friendRequestId) {
    return this.request('POST', '/friends/ignore', { json: { friend_request_id: friendRequestId } });
  }

  // --- groups (§4.4)

  async groups() {
    return (await this.request('GET', '/group')).group || [];
  }

  async createGroup(name, members, clientId) {
    return (await this.request('POST', '/group', { json: { name, members, id: clientId } })).group[0];
  }

  async groupMembers(groupId) {
    return (await this.request('GET', `/group/${groupId}/member`)).member || [];
  }

  // --- push settings and mutes (§4.6b): JSON answers

  /** `{push_preview, read_receipts}`: the defaults (true) until changed. */
  async settings() {
    return (await this.request('GET', '/user/settings')).settings[0];
  }

  /** A partial update (`{push_preview}`, `{read_receipts}`, `{presence: "friends" | "nobody"}`); answers the settings after it. */
  async updateSettings(fields) {
    return (await this.request('PUT', '/user/settings', { json: fields })).settings[0];
  }

  /** The mutes in force, all at once: a bare array of `{with | g_id, until}`. */
  async mutes() {
    return this.request('GET', '/mute');
  }

  /** Mute a conversation (`peer` is `{user}` or `{group}`) until `until`, Unix seconds; 0 unmutes. */
  async mute(peer, until) {
    const json = peer.group ? { g_id: peer.group, until } : { with: peer.user, until };
    return (await this.request('PUT', '/mute', { json })).mute || [];
  }

  // --- messages (§4.1)

  /**
   * One page of a conversation, oldest first: `[[m]]` / `[[gm]]` and, for a group, its events
   * (`[[n]]`), merged in sequence order. `peer` is `{user}` or `{group}`.
   */
  async history(peer, { before, limit = 30 } = {}) {
    const query = peer.group ? { g_id: peer.group } : { with: peer.user };
    const doc = await this.request('GET', '/message/history', { query: { ...query, before, limit } });
    const entries = [...(doc.m || []), ...(doc.gm || []), ...(doc.n || []).map((n) => ({ ...n, event: true }))];
    entries.sort((a, b) => a.seq - b.seq);
    return entries;
  }

  /** The others' positions in a conversation: a bare array of `{user, delivered, read}`
   * (`read` absent when that user hides it). */
  async receipts(peer) {
    const query = peer.group ? { g_id: peer.group } : { with: peer.user };
    return this.request('GET', '/message/receipts', { query });
  }

  /** The HTTP fallback of a send: idempotent on the client id, like the socket's. */
  async sendMessage(peer, clientId, content, { t = 'text', reply_to } = {}) {
    const json = peer.group ? { g_id: peer.group, id: clientId, c: content } : { to: peer.user, id: clientId, c: content };
    if (t !== 'text') json.t = t;
    if (reply_to) json.reply_to = reply_to;
    return (await this.request('POST', '/message', { json })).message[0].sid;
  }

  /** An AMR file as a voice note (`POST /m/audio`, `/gm/audio`): the message's `sid`. */
  async sendAudio(peer, clientId, file) {
    const form = new FormData();
    form.append('file', file, file.name || 'voice.amr');
    if (peer.group) form.append('g_id', String(peer.group));
    else form.append('to', String(peer.user));
    form.append('id', clientId);
    const path = peer.group ? '/gm/audio' : '/m/audio';
    return (await this.request('POST', path, { form })).message[0].sid;
  }

  // --- attachments: voice notes, photos, videos, files

  /**
   * An attachment's stable path (a message's `c`: `file/audio/<hex>.amr`, `file/image/<hex>`;
   * an image's `thumb`: `file/media/<hex>.jpg`). The route answers 302 to a presigned S3 URL,
   * which fetch follows (S3 must answer CORS for this page's origin, or the browser refuses to
   * hand over the body). A 404 is an ApiError with that status.
   */
  async file(path) {
    return this.request('GET', '/' + path.replace(/^\/+/, ''), { raw: true });
  }

  /** The bytes of an audio message. */
  async audio(path) {
    return (await this.file(path)).arrayBuffer();
  }

  /** The bytes of a photo or a thumbnail. */
  async fileBlob(path) {
    return (await this.file(path)).blob();
  }

  /** The presigned URL an attachment's route redirects to (for a video or a download): the body is not read. */
  async fileUrl(path) {
    const res = await this.file(path);
    if (res.body) res.body.cancel().catch(() => {});
    return res.url;
  }

  /**
   * A presigned POST form for one attachment (`POST /media/upload`; `kind`: image, video or
   * file; `type`: its MIME type): `{key, url, method, content_type, max_bytes, fields}`.
   */
  async presignMedia(kind, type) {
    return (await this.request('POST', '/media/upload', { json: { kind, type } })).upload[0];
  }

  /** The file to S3 through a presigned form: every field as given, then the file, last. */
  async uploadFile(upload, file) {
    const form = new FormData();
    for (const [key, value] of Object.entries(upload.fields || {})) form.append(key, value);
    form.append('file', file);
    let res;
    try {
      res = await fetch(upload.url, { method: 'POST', body: form, credentials: 'omit' });
    } catch (err) {
      throw new ApiError(0, `cannot reach the storage (${err.message})`);
    }
    if (!res.ok) {
      // S3 explains itself in XML: <Error><Code>…</Code><Message>…</Message></Error>.
      const text = await res.text().catch(() => '');
      const reason = (/<Message>([^<]*)<\/Message>/.exec(text) || [])[1];
      throw new ApiError(res.status, reason || `the storage answered ${res.status}`);
    }
  }
}
