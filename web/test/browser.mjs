// The web client in headless Chromium, two users in two browser contexts: sign up and log in
// through the page, a friend request by phone, accepted live, B's presence dot, a live chat both ways, the
// history after a reload, read ticks and the typing line, a voice note, then a mute and the push
// preview setting (both checked through the HTTP API), the inbox (last line, unread badge), a
// new name and picture reaching the other side, My devices, a report, an export of A's data, and
// last, in a fresh logged-out page, a forgotten password reset with the code from the local
// stack's SMS outbox, and B's account deleted from the settings (a wrong password first).
// Prints one line per step; exit 0 when all pass, 1 (with what failed, the pages' console errors
// and failure screenshots) otherwise.
//
//   IM_WEB_URL=http://127.0.0.1:3000/app/ node web/test/browser.mjs
//
// Env: IM_WEB_URL (the page, default http://127.0.0.1:3000/app/), IM_SCREENSHOT (default
// web/test-artifacts/chat.png), CHROMIUM (default /usr/bin/chromium).

import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = resolve(here, '..', 'test-artifacts');
const url = process.env.IM_WEB_URL || 'http://127.0.0.1:3000/app/';
const screenshot = resolve(process.env.IM_SCREENSHOT || join(artifacts, 'chat.png'));
const WAIT = 15_000; // every wait is bounded by this
const WATCHDOG = 180_000; // and the whole run by this

const stamp = String(Date.now()).slice(-9);
const users = {
  A: { name: 'Ada Lovelace', phone: `86${stamp}1`, password: 'analytical-engine' },
  B: { name: 'Grace Hopper', phone: `86${stamp}2`, password: 'compiler-1952' },
};
const hello = 'hello from A';
const answer = 'Hi Ada! Grace here, got your message.';
const afterReload = 'Welcome back, Grace. Shall we meet at the Analytical Engine at three?';
const replyText = 'Lovely, see you soon.';
const editedText = 'Lovely, see you at three.';
const inboxText = 'Is this in your inbox?';
const unreadText = 'One more, unread.';
const newName = 'Ada King';
const resetPassword = 'mark-ii-moth-1947';
// A 2x2 PNG: a photo, then a profile picture.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);

let browser;
const pages = {};
const consoleErrors = [];

function log(line) {
  process.stdout.write(`${line}\n`);
}

async function step(name, fn) {
  const started = Date.now();
  try {
    const result = await fn();
    log(`ok   ${name} (${Date.now() - started} ms)`);
    return result;
  } catch (err) {
    log(`FAIL ${name} (${Date.now() - started} ms)`);
    throw Object.assign(err, { step: name });
  }
}

async function openUser(key) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, deviceScaleFactor: 1, locale: 'en-US' });
  context.setDefaultTimeout(WAIT);
  context.setDefaultNavigationTimeout(WAIT);
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(`[${key}] console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`[${key}] page error: ${err.message}`));
  pages[key] = page;
  return page;
}

async function signUpAndLogIn(key) {
  const user = users[key];
  const page = pages[key];
  await step(`${key}: open ${url}`, async () => {
    await page.goto(url);
    await page.locator('#phone').waitFor({ state: 'visible' });
  });
  await step(`${key}: sign up as ${user.name} (${user.phone})`, async () => {
    await page.fill('#phone', user.phone);
    await page.fill('#name', user.name);
    await page.fill('#password', user.password);
    await page.click('#signup');
    await page.locator('#auth-message', { hasText: 'Account created' }).waitFor();
  });
  await step(`${key}: log in`, async () => {
    await page.fill('#password', user.password);
    await page.click('#login');
    await page.locator('#app-view').waitFor({ state: 'visible' });
    await page.locator('#me-name', { hasText: user.name }).waitFor();
    user.id = Number(await page.locator('#me-id').textContent());
    if (!Number.isInteger(user.id) || user.id <= 0) throw new Error(`no user id shown (#me-id = ${user.id})`);
  });
  await step(`${key}: socket online (user id ${user.id})`, () => page.locator('#conn[data-state="online"]').waitFor());
}

async function expectMessage(page, text, mine) {
  const message = page.locator(`[data-testid="message"][data-mine="${mine}"]`, { hasText: text });
  await message.waitFor();
  // Stored on the server: it carries the server's id (dm#<a>#<b>:<seq>).
  const id = await message.getAttribute('data-id');
  if (!/^dm#\d+#\d+:\d+$/.test(id || '')) {
    await page.waitForFunction(
      (t) => [...document.querySelectorAll('[data-testid="message"]')].some((m) => m.textContent.includes(t) && /^dm#\d+#\d+:\d+$/.test(m.dataset.id)),
      text,
      { timeout: WAIT },
    );
  }
}

/**
 * Clicks a message's action (`testid`) until `shown` appears: the conversation redraws on every
 * receipt and presence change, and a redraw between press and release loses a click (a user
 * clicks again).
 */
async function act(message, testid, shown) {
  await until(shown, async () => {
    await message.hover();
    await message.getByTestId(testid).click();
  });
}

/** Does `attempt` until `shown` is there (at most three tries; none once it is there). */
async function until(shown, attempt) {
  for (let tries = 1; ; tries++) {
    if (await shown.count()) return;
    await attempt();
    try {
      await shown.first().waitFor({ timeout: 3000 });
      return;
    } catch (err) {
      if (tries === 3) throw err;
    }
  }
}

/** Waits until the image `selector` names has loaded (it has pixels). */
async function imageLoaded(page, selector) {
  await page.waitForFunction(
    (sel) => {
      const img = document.querySelector(sel);
      return img && img.complete && img.naturalWidth > 0;
    },
    selector,
    { timeout: WAIT },
  );
}

/**
 * The number the stack texts a phone at, as the functions make it (functions/src/domain/reset.rs
 * `sms_number`, local calling code 86): a phone with `+` as it is; one that already begins with
 * 86 (the test's, `86` + time digits) with a `+` in front; any other with `+86` in front.
 */
function smsNumber(phone) {
  if (phone.startsWith('+')) return phone;
  return phone.startsWith('86') ? `+${phone}` : `+86${phone.replace(/^0+/, '')}`;
}

/**
 * The six-digit code of the last SMS the local stack sent to `number` (`GET /_local/sms?to=`,
 * oldest first; loopback only). Read again every 200 ms until one is there (the send goes out
 * before the 202, so the first read finds it), for at most WAIT.
 */
async function smsCode(base, number) {
  const address = `${base}/_local/sms?to=${encodeURIComponent(number)}`; // + as %2B
  const deadline = Date.now() + WAIT;
  for (;;) {
    const res = await fetch(address, { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`GET ${address}: HTTP ${res.status} ${await res.text()}`);
    const received = await res.json();
    const last = received[received.length - 1];
    const code = last && (/\b(\d{6})\b/.exec(last.text) || [])[1];
    if (code) return code;
    if (Date.now() > deadline) throw new Error(`no code texted to ${number}: ${JSON.stringify(received)}`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

/** GET `path` from the page, as its user (the session it keeps in localStorage): the JSON answer. */
async function apiGet(page, path) {
  return page.evaluate(async (p) => {
    const session = JSON.parse(localStorage.getItem('im.session'));
    const res = await fetch(session.httpUrl + p, {
      headers: { Accept: 'application/json', Authorization: `Bearer ${session.token}` },
      credentials: 'omit',
      cache: 'no-store',
    });
    if (!res.ok) throw new Error(`GET ${p}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  }, path);
}

async function run() {
  mkdirSync(artifacts, { recursive: true });
  for (const old of readdirSync(artifacts)) if (old.startsWith('failure-')) rmSync(join(artifacts, old));
  await step('launch chromium', async () => {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: WAIT,
    });
  });
  await openUser('A');
  await openUser('B');
  await signUpAndLogIn('A');
  await signUpAndLogIn('B');
  const { A, B } = users;
  const a = pages.A;
  const b = pages.B;

  await step('A: send a friend request to B by phone', async () => {
    await a.fill('#friend-query', B.phone);
    await a.click('#friend-add');
    await a.locator('#friend-message', { hasText: 'Friend request sent' }).waitFor();
  });
  await step('B: sees the request live and accepts it', async () => {
    await b.getByTestId(`request-${A.id}`).waitFor();
    await b.getByTestId(`accept-${A.id}`).click();
    await b.getByTestId(`request-${A.id}`).waitFor({ state: 'detached' });
  });
  await step('B: has A in contacts', () => b.getByTestId(`contact-${A.id}`).waitFor());
  await step('A: has B in contacts (live, no reload)', () => a.getByTestId(`contact-${B.id}`).waitFor());
  await step('A: sees B online (a green dot by B in the sidebar: PRESENCE_SUBSCRIBE)', () =>
    a.getByTestId(`contact-${B.id}`).locator(`[data-testid="presence-${B.id}"][data-online="true"]`).waitFor(),
  );

  await step('both: open the conversation', async () => {
    await b.getByTestId(`contact-${A.id}`).click();
    await a.getByTestId(`contact-${B.id}`).click();
    await a.locator('#chat-title', { hasText: B.name }).waitFor();
    await b.locator('#chat-title', { hasText: A.name }).waitFor();
    await a.locator('#composer').waitFor({ state: 'visible' });
    await b.locator('#messages .placeholder', { hasText: 'No messages yet' }).waitFor();
  });
  await step(`A: sends "${hello}"`, async () => {
    await a.fill('#composer', hello);
    await a.click('#send');
    await expectMessage(a, hello, true);
  });
  await step('B: receives it live', () => expectMessage(b, hello, false));
  await step('B: answers', async () => {
    await b.fill('#composer', answer);
    await b.press('#composer', 'Enter');
    await expectMessage(b, answer, true);
  });
  await step('A: receives the answer live', () => expectMessage(a, answer, false));

  await step('B: reloads and still sees the history', async () => {
    await b.reload();
    await b.locator('#app-view').waitFor({ state: 'visible' });
    await b.locator('#conn[data-state="online"]').waitFor();
    await b.getByTestId(`contact-${A.id}`).click();
    await expectMessage(b, hello, false);
    await expectMessage(b, answer, true);
    const texts = await b.locator('[data-testid="message"] .bubble').allTextContents();
    const order = [texts.indexOf(hello), texts.indexOf(answer)];
    if (order[0] < 0 || order[1] < order[0]) throw new Error(`history out of order: ${JSON.stringify(texts)}`);
  });
  await step('A: sends again, B receives it live on its new socket', async () => {
    await a.fill('#composer', afterReload);
    await a.click('#send');
    await expectMessage(a, afterReload, true);
    await expectMessage(b, afterReload, false);
  });
  await step('A: its last message shows read (B has the conversation open)', async () => {
    const last = a.locator('[data-testid="message"][data-mine="true"]', { hasText: afterReload });
    await last.locator('[data-testid="tick"][data-state="read"]').waitFor();
  });
  await step('B: types, A sees "is typing" under the header', async () => {
    // Keys for about 5 s: a start goes out at once and every 3 s, so one lands outside the
    // server's 3 s relay window of B's earlier typing.
    const typing = b.locator('#composer').pressSequentially('Typing a long answer...', { delay: 250 });
    typing.catch(() => {}); // awaited below; not unhandled if the wait fails first
    await a.getByTestId('typing').filter({ hasText: `${B.name} is typing` }).waitFor();
    await typing;
    await b.fill('#composer', '');
  });
  await step('A: sends a voice note (AMR), B decodes and plays it in the browser', async () => {
    // Two seconds of AMR-NB 12.2 kbit/s: the magic line, then 100 frames (header 0x3C, 31 bytes).
    const frame = Buffer.concat([Buffer.from([0x3c]), Buffer.alloc(31)]);
    const amr = Buffer.concat([Buffer.from('#!AMR\n'), ...Array(100).fill(frame)]);
    await a.setInputFiles('#audio-file', { name: 'note.amr', mimeType: 'audio/amr', buffer: amr });
    const note = b.locator('[data-testid="audio-play"]').last();
    await note.waitFor();
    await note.click();
    // Decoded: the button shows the note's length (it plays, or has played, 0:02).
    await b.waitForFunction(
      () => {
        const buttons = document.querySelectorAll('[data-testid="audio-play"]');
        const button = buttons[buttons.length - 1];
        return button && ['playing', 'ready'].includes(button.dataset.state) && button.textContent.includes('0:02');
      },
      null,
      { timeout: WAIT },
    );
  });
  await step(`B: reacts 👍 to "${hello}", A sees the count live`, async () => {
    const mine = b.locator('[data-testid="message"][data-mine="false"]', { hasText: hello }).first();
    const chip = mine.locator('[data-testid="reaction"][data-emoji="👍"][data-mine="true"]');
    await act(mine, 'react', mine.getByTestId('emoji-picker'));
    await until(chip, () => mine.getByTestId('emoji').filter({ hasText: '👍' }).click());
    const theirs = a.locator('[data-testid="message"][data-mine="true"]', { hasText: hello }).first();
    await theirs.locator('[data-testid="reaction"][data-emoji="👍"]', { hasText: '1' }).waitFor();
  });
  await step(`A: replies to "${answer}" quoting it, B sees the quote`, async () => {
    const quoted = a.locator('[data-testid="message"][data-mine="false"]', { hasText: answer }).first();
    await act(quoted, 'reply', a.locator('#compose-bar[data-mode="reply"]'));
    await a.fill('#composer', replyText);
    await a.click('#send');
    await expectMessage(a, replyText, true);
    const reply = b.locator('[data-testid="message"][data-mine="false"]', { hasText: replyText }).first();
    await reply.getByTestId('quote').filter({ hasText: answer }).waitFor();
  });
  await step(`A: edits "${replyText}", B sees the new text marked edited`, async () => {
    const sent = a.locator('[data-testid="message"][data-mine="true"]', { hasText: replyText }).first();
    await act(sent, 'edit', a.locator('#compose-bar[data-mode="edit"]'));
    await a.fill('#composer', editedText);
    await a.click('#send');
    await b.locator('[data-testid="message"][data-mine="false"]', { hasText: editedText }).filter({ hasText: 'edited' }).waitFor();
  });
  await step(`A: deletes "${afterReload}" for everyone, B sees it deleted in place`, async () => {
    const sent = a.locator('[data-testid="message"][data-mine="true"]', { hasText: afterReload }).first();
    const id = await sent.getAttribute('data-id');
    const mineNow = a.locator(`[data-testid="message"][data-id="${id}"]`);
    await act(mineNow, 'delete', mineNow.getByTestId('delete-everyone'));
    await until(mineNow.filter({ hasText: 'Message deleted' }), () => mineNow.getByTestId('delete-everyone').click());
    await b.locator(`[data-testid="message"][data-id="${id}"]`, { hasText: 'Message deleted' }).waitFor();
  });
  await step('A: sends a photo, B sees its thumbnail (made by the thumbnail function)', async () => {
    await a.setInputFiles('#media-file', { name: 'dot.png', mimeType: 'image/png', buffer: PNG });
    await b.locator('[data-testid="image"]').last().waitFor();
    await b.waitForFunction(
      () => {
        const images = document.querySelectorAll('[data-testid="image"] img, img[data-testid="image"]');
        const img = images[images.length - 1];
        return img && img.complete && img.naturalWidth > 0;
      },
      null,
      { timeout: WAIT },
    );
  });
  await step('A: mutes the conversation with B, the sidebar marks it, GET /mute lists it', async () => {
    await a.locator('#mute[aria-pressed="false"]').click();
    await a.locator('#mute[aria-pressed="true"]', { hasText: 'Unmute' }).waitFor();
    await a.getByTestId(`muted-${B.id}`).waitFor();
    const mutes = await apiGet(a, '/mute');
    const mute = mutes.find((m) => m.with === B.id);
    if (!mute || !(mute.until > Date.now() / 1000)) throw new Error(`B not muted: GET /mute answered ${JSON.stringify(mutes)}`);
  });
  await step('A: unmutes it, GET /mute is empty', async () => {
    await a.locator('#mute[aria-pressed="true"]').click();
    await a.locator('#mute[aria-pressed="false"]').waitFor();
    await a.getByTestId(`muted-${B.id}`).waitFor({ state: 'detached' });
    const mutes = await apiGet(a, '/mute');
    if (mutes.length !== 0) throw new Error(`still muted: GET /mute answered ${JSON.stringify(mutes)}`);
  });
  await step('A: turns push previews off in the settings, GET /user/settings says push_preview false', async () => {
    await a.locator('.me-actions .open-settings').click();
    await a.locator('#push-preview').waitFor({ state: 'visible' });
    // Loaded from GET /user/settings: enabled, and on (the default).
    await a.waitForFunction(() => {
      const check = document.querySelector('#push-preview');
      return check && !check.disabled && check.checked;
    }, null, { timeout: WAIT });
    await a.locator('#push-preview').uncheck();
    await a.locator('#push-message', { hasText: 'Saved' }).waitFor();
    const doc = await apiGet(a, '/user/settings');
    if (doc.settings[0].push_preview !== false) throw new Error(`GET /user/settings answered ${JSON.stringify(doc)}`);
    await a.locator('#settings-form button[value="cancel"]').click();
    await a.locator('#settings').waitFor({ state: 'hidden' });
  });
  await step('A: "Export my data" in the settings downloads im-export.json: its profile and what it sent', async () => {
    await a.locator('.me-actions .open-settings').click();
    await a.getByTestId('export-data').waitFor({ state: 'visible' });
    // Small enough to come in the answer: the page saves it from an object URL.
    const [download] = await Promise.all([a.waitForEvent('download'), a.getByTestId('export-data').click()]);
    if (download.suggestedFilename() !== 'im-export.json') throw new Error(`downloaded as ${download.suggestedFilename()}`);
    const archive = JSON.parse(readFileSync(await download.path(), 'utf8'));
    const texts = (archive.messages || []).map((m) => m.c);
    if (!archive.profile || archive.profile.id !== A.id || !texts.includes(hello)) {
      throw new Error(`the export of A (${A.id}) holds ${JSON.stringify(archive).slice(0, 300)}`);
    }
    await a.getByTestId('account-message').filter({ hasText: 'Saved as im-export.json' }).waitFor();
    await a.locator('#settings-form button[value="cancel"]').click();
    await a.locator('#settings').waitFor({ state: 'hidden' });
  });
  await step(`B: reloads; its sidebar lists the chat with A from the inbox, last line "${inboxText}"`, async () => {
    await a.fill('#composer', inboxText);
    await a.click('#send');
    await expectMessage(b, inboxText, false);
    await b.reload();
    await b.locator('#app-view').waitFor({ state: 'visible' });
    await b.locator('#conn[data-state="online"]').waitFor();
    const row = b.getByTestId(`chat-u-${A.id}`);
    await row.getByTestId('chat-name').filter({ hasText: A.name }).waitFor();
    await row.getByTestId('chat-snippet').filter({ hasText: inboxText }).waitFor();
  });
  await step(`A: sends "${unreadText}"; B's row shows it with an unread badge (no chat open)`, async () => {
    await a.fill('#composer', unreadText);
    await a.click('#send');
    await expectMessage(a, unreadText, true);
    const row = b.getByTestId(`chat-u-${A.id}`);
    await row.getByTestId('chat-snippet').filter({ hasText: unreadText }).waitFor();
    await row.getByTestId(`unread-${A.id}`).filter({ hasText: /^[1-9]/ }).waitFor();
  });
  await step(`A: renames itself "${newName}" in its profile; B's sidebar shows the new name (update_user)`, async () => {
    await a.click('#open-profile');
    await a.locator('#profile').waitFor({ state: 'visible' });
    await a.fill('#profile-name', newName);
    await a.click('#profile-save');
    await a.locator('#profile-message', { hasText: 'Saved' }).waitFor();
    await a.locator('#me-name', { hasText: newName }).waitFor();
    await b.getByTestId(`chat-u-${A.id}`).getByTestId('chat-name').filter({ hasText: newName }).waitFor();
    await b.getByTestId(`contact-${A.id}`).filter({ hasText: newName }).waitFor();
  });
  await step('A: chooses a profile picture; it shows in its header and in B\'s sidebar', async () => {
    await a.setInputFiles('#profile-avatar-file', { name: 'me.png', mimeType: 'image/png', buffer: PNG });
    await a.locator('#profile-message', { hasText: 'Picture saved' }).waitFor();
    await imageLoaded(a, '#me-avatar img[data-avatar]');
    await imageLoaded(b, `[data-testid="chat-u-${A.id}"] img[data-avatar]`);
    await a.click('#profile-close');
    await a.locator('#profile').waitFor({ state: 'hidden' });
  });
  await step('A: My devices lists its sessions, this one marked "this device"', async () => {
    await a.click('#open-devices');
    const current = a.locator('#devices-list [data-testid="session"][data-current="true"]');
    await current.getByTestId('this-device').waitFor();
    if ((await current.count()) !== 1) throw new Error(`${await current.count()} sessions marked current`);
    await current.filter({ hasText: 'web' }).waitFor(); // the device name of the page's login
    await a.click('#devices-close');
    await a.locator('#devices').waitFor({ state: 'hidden' });
  });
  await step(`B: reports A's message "${hello}" as spam and sees the confirmation`, async () => {
    await b.getByTestId(`chat-u-${A.id}`).click();
    await b.locator('#chat-title', { hasText: newName }).waitFor();
    const message = b.locator('[data-testid="message"][data-mine="false"]', { hasText: hello }).first();
    await message.waitFor();
    await act(message, 'report', b.locator('#report[open]'));
    await b.selectOption('#report-reason', 'spam');
    await b.fill('#report-text', 'Only a test of the report form.');
    await b.click('#report-send');
    await b.locator('#report-message', { hasText: 'Report sent' }).waitFor();
    await b.click('#report-close');
    await b.locator('#report').waitFor({ state: 'hidden' });
  });
  await step(`screenshot ${screenshot}`, async () => {
    mkdirSync(dirname(screenshot), { recursive: true });
    await b.locator('#composer').blur();
    await b.screenshot({ path: screenshot });
  });

  // Last: it ends every session of B's account (B's page logs out). The outbox is on the stack's
  // HTTP port: the API's URL, as B's page has it.
  const base = await b.evaluate(() => JSON.parse(localStorage.getItem('im.session') || '{}').httpUrl || location.origin);
  const r = await openUser('R'); // a fresh context: logged out
  await step(`R (a fresh page): "Forgot password?" asks a code for B's phone (${B.phone})`, async () => {
    await r.goto(url);
    await r.locator('#phone').waitFor({ state: 'visible' });
    await until(r.locator('#reset-view:not([hidden])'), () => r.getByTestId('forgot-link').click());
    await r.getByTestId('reset-address').fill(B.phone);
    await r.getByTestId('reset-send').click();
    await r.getByTestId('reset-status').filter({ hasText: 'If an account has this address, a code is on its way' }).waitFor();
    await r.getByTestId('reset-code').waitFor({ state: 'visible' });
  });
  const code = await step(`R: reads the code texted to ${smsNumber(B.phone)} (GET /_local/sms)`, () => smsCode(base, smsNumber(B.phone)));
  await step('R: sets a new password with it, and is back at the login with the phone filled in', async () => {
    await r.getByTestId('reset-code').fill(code);
    await r.getByTestId('reset-password').fill(resetPassword);
    await r.getByTestId('reset-password2').fill(resetPassword);
    await r.getByTestId('reset-confirm').click();
    await r.locator('#auth-message', { hasText: 'Password changed: log in with the new one' }).waitFor();
    await r.locator('#auth-form').waitFor({ state: 'visible' });
    const phone = await r.inputValue('#phone');
    if (phone !== B.phone) throw new Error(`the login form holds "${phone}", not ${B.phone}`);
  });
  await step('R: logs in as B with the new password', async () => {
    await r.fill('#password', resetPassword);
    await r.click('#login');
    await r.locator('#app-view').waitFor({ state: 'visible' });
    await r.locator('#me-name', { hasText: B.name }).waitFor();
    const id = Number(await r.locator('#me-id').textContent());
    if (id !== B.id) throw new Error(`logged in as user ${id}, not B (${B.id})`);
  });
  await step('R: "Delete my account" with a wrong password says so and changes nothing', async () => {
    await r.locator('.me-actions .open-settings').click();
    await r.getByTestId('delete-account-open').click();
    await r.locator('#delete-account').waitFor({ state: 'visible' });
    await r.getByTestId('delete-account-password').fill('not-the-password');
    await r.getByTestId('delete-account-confirm').click();
    await r.getByTestId('delete-account-message').filter({ hasText: 'Wrong password' }).waitFor();
    if (!(await r.locator('#app-view').isVisible())) throw new Error('the page logged out on a wrong password');
  });
  await step('R: deletes the account of B with its password, and is back at the login, the session forgotten', async () => {
    await r.getByTestId('delete-account-password').fill(resetPassword);
    await r.getByTestId('delete-account-confirm').click();
    await r.locator('#auth-message', { hasText: 'Your account was deleted' }).waitFor();
    await r.locator('#auth-form').waitFor({ state: 'visible' });
    const session = await r.evaluate(() => localStorage.getItem('im.session'));
    if (session !== null) throw new Error(`the session is still stored: ${session}`);
  });
}

async function failureScreenshots() {
  mkdirSync(artifacts, { recursive: true });
  for (const [key, page] of Object.entries(pages)) {
    const path = join(artifacts, `failure-${key}.png`);
    try {
      await page.screenshot({ path, timeout: 5000 });
      log(`     failure screenshot: ${path}`);
    } catch {
      // the page is gone
    }
  }
}

const watchdog = setTimeout(() => {
  log(`FAIL the run took longer than ${WATCHDOG / 1000} s`);
  process.exit(1);
}, WATCHDOG);

let code = 0;
try {
  await run();
  log('PASS two users signed up, became friends, chatted live both ways, the history survived a reload, read ticks and typing showed, a reaction, a quoted reply, an edit, a delete and a photo reached the other side, mute and push preview settings reached the API, the inbox showed the last line and the unread count, a new name and picture reached the other side, My devices showed this session, a report was sent, A exported its data, a password reset by SMS code let B log in with the new password, and B deleted its account from the settings');
} catch (err) {
  code = 1;
  log(`FAIL ${err.step ? `${err.step}: ` : ''}${String(err.message || err).split('\n')[0]}`);
  await failureScreenshots();
  for (const line of consoleErrors) log(`     ${line}`);
} finally {
  clearTimeout(watchdog);
  if (browser) await browser.close().catch(() => {});
}
process.exit(code);
