// Photos, videos and files (issue 26): the composer's attach button, and how such messages show.
//
// - Sending: `POST /media/upload {kind, type}` answers a presigned POST form (`url`, `fields`,
//   `max_bytes` and the `key` to send); the file goes to S3 as multipart, every field first and
//   the file last; then the message goes out as any other, with `t` = the kind, `content` = the
//   key and, for a file, its `name`. Kinds: image (JPEG, PNG, WebP, GIF), video (MP4,
//   QuickTime), else file. A file over `max_bytes` is refused here.
// - Showing: a message's `c` (and an image's `thumb`) is a stable server path whose route
//   answers 302 to a freshly signed S3 URL, fetched like a voice note's (api.js `file`). A
//   photo shows its thumbnail, made a few seconds after the send (a 404 is tried again a couple
//   of times, then the photo itself stands in), and opens at full size in the viewer; a video
//   plays in the viewer; a file downloads from its signed URL.
//
// A message is drawn again whenever the conversation re-renders, so what was loaded lives here,
// by path, and every element showing that path is updated when it arrives (as audio.js does).

import { $, h, showMessage } from './ui.js';

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'];
const VIDEO_TYPES = ['video/mp4', 'video/quicktime'];
const THUMB_TRIES = 3;
const THUMB_RETRY_MS = 2000;
const THUMB_WIDTH = 240; // px: the widest a photo shows in the conversation

let state = null;
let post = async () => {};
const blobs = new Map(); // server path -> Promise of an object URL of its bytes
const thumbs = new Map(); // a photo's `c` -> what its bubble shows: an object URL, '' while loading, null when none loads
let viewing = 0; // the viewer's latest opening: a slower, older load is dropped

/** Once, at boot: `send(conv, {t, c, name})` sends a message (app.js). */
export function initMedia(appState, { send }) {
  state = appState;
  post = send;
  $('#media-file').addEventListener('change', onChosen);
  const viewer = $('#viewer');
  viewer.addEventListener('click', (e) => {
    if (e.target === viewer) viewer.close(); // a click on the backdrop
  });
  viewer.addEventListener('close', () => {
    viewing += 1;
    $('#viewer-body').replaceChildren(); // stops a video
  });
}

/** Log out: forget everything. */
export function resetMedia() {
  for (const url of blobs.values()) url.then((u) => URL.revokeObjectURL(u), () => {});
  blobs.clear();
  thumbs.clear();
  if ($('#viewer').open) $('#viewer').close();
}

function kindOf(type) {
  if (IMAGE_TYPES.includes(type)) return 'image';
  if (VIDEO_TYPES.includes(type)) return 'video';
  return 'file';
}

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

// ---------------------------------------------------------------- sending

async function onChosen() {
  const input = $('#media-file');
  const file = input.files && input.files[0];
  input.value = '';
  const conv = state.current && state.convs.get(state.current);
  if (!file || !conv) return;
  const out = $('#chat-message');
  const kind = kindOf(file.type);
  try {
    const upload = await state.api.presignMedia(kind, file.type || 'application/octet-stream');
    if (file.size > upload.max_bytes) {
      showMessage(out, `${file.name} is too big (${formatSize(file.size)}): at most ${formatSize(upload.max_bytes)}.`, 'error');
      return;
    }
    showMessage(out, `Uploading ${file.name}…`);
    await state.api.uploadFile(upload, file);
    showMessage(out, '');
    await post(conv, kind === 'file' ? { t: kind, c: upload.key, name: file.name } : { t: kind, c: upload.key });
  } catch (err) {
    showMessage(out, `${file.name} not sent: ${err.message}`, 'error');
  }
}

// ---------------------------------------------------------------- loading

/** An object URL of the bytes at `path`, fetched once; a 404 is tried again up to `tries` times in all. */
function objectUrl(path, tries = 1) {
  let url = blobs.get(path);
  if (!url) {
    url = fetchBlob(path, tries).then((blob) => URL.createObjectURL(blob));
    url.catch(() => blobs.delete(path)); // tried again at the next look
    blobs.set(path, url);
  }
  return url;
}

async function fetchBlob(path, tries) {
  const api = state.api;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await api.fileBlob(path);
    } catch (err) {
      if (err.status !== 404 || attempt >= tries) throw err;
      await new Promise((resolve) => setTimeout(resolve, THUMB_RETRY_MS));
    }
  }
}

/** The thumbnail of a photo (else the photo itself) into `thumbs`, then into every element showing it. */
async function loadThumbnail(entry) {
  const api = state.api;
  thumbs.set(entry.c, '');
  let src = null;
  if (entry.thumb) src = await objectUrl(entry.thumb, THUMB_TRIES).catch(() => null);
  if (!src) src = await objectUrl(entry.c).catch(() => null);
  if (api !== state.api) return;
  thumbs.set(entry.c, src);
  for (const el of document.querySelectorAll('[data-testid="image"]')) {
    if (el.dataset.path !== entry.c) continue;
    el.dataset.state = src ? 'ready' : 'error';
    if (src) el.querySelector('img').src = src;
    else el.replaceChildren(unavailable());
  }
}

function unavailable() {
  return h('span.image-note', {}, '⚠ Photo unavailable');
}

// ---------------------------------------------------------------- showing

function label(entry) {
  if (entry.t === 'image') return '🖼 Photo';
  if (entry.t === 'video') return '🎬 Video';
  return `📄 ${entry.name || 'File'}`;
}

/** The bubble's body for a photo, a video or a file, or null for another kind. */
export function attachment(entry) {
  if (!['image', 'video', 'file'].includes(entry.t)) return null;
  // Sending, or sent and not read back yet: its `c` is still the upload's key, not a server path.
  if (!String(entry.c).startsWith('file/')) return h('span.text', {}, label(entry));
  const size = entry.size ? formatSize(entry.size) : null;
  if (entry.t === 'image') return photo(entry);
  if (entry.t === 'video') {
    return h('button.play', { type: 'button', 'data-testid': 'video', title: 'Play', onclick: () => openVideo(entry) }, '▶ Video', size ? ` · ${size}` : '');
  }
  return h(
    'button.file',
    { type: 'button', 'data-testid': 'file', title: 'Download', onclick: () => download(entry) },
    h('span.file-icon', { 'aria-hidden': 'true' }, '📄'),
    h('span.file-name', {}, entry.name || 'File'),
    size ? h('span.file-size', {}, size) : null,
  );
}

function photo(entry) {
  if (!thumbs.has(entry.c)) loadThumbnail(entry);
  const src = thumbs.get(entry.c);
  const width = Math.min(THUMB_WIDTH, entry.w || THUMB_WIDTH);
  const ratio = entry.w && entry.h ? `${entry.w} / ${entry.h}` : '4 / 3';
  return h(
    'button.image',
    {
      type: 'button',
      'data-testid': 'image',
      'data-path': entry.c,
      'data-state': src ? 'ready' : src === null ? 'error' : 'loading',
      title: 'Open the photo',
      style: `width: ${width}px; aspect-ratio: ${ratio}`,
      onclick: () => openPhoto(entry),
    },
    src === null ? unavailable() : h('img', { alt: 'Photo', src: src || undefined }),
  );
}

/** The viewer opens with `text` while it loads: the opening's number. */
function openViewer(text) {
  viewing += 1;
  $('#viewer-body').replaceChildren(h('p.muted', {}, text));
  if (!$('#viewer').open) $('#viewer').showModal();
  return viewing;
}

function fillViewer(opening, node) {
  if (opening === viewing) $('#viewer-body').replaceChildren(node);
}

function failure(what, err) {
  const why =
    err.status === 0 ? "the browser could not fetch it (S3 must answer CORS for this page's origin)" : err.message;
  return h('p.message', { 'data-kind': 'error' }, `${what}: ${why}`);
}

async function openPhoto(entry) {
  const opening = openViewer('Loading the photo…');
  try {
    const src = await objectUrl(entry.c);
    fillViewer(opening, h('img', { src, alt: 'Photo', 'data-testid': 'viewer-image' }));
  } catch (err) {
    fillViewer(opening, failure('The photo cannot be loaded', err));
  }
}

async function openVideo(entry) {
  const opening = openViewer('Loading the video…');
  try {
    const src = await state.api.fileUrl(entry.c);
    fillViewer(opening, h('video', { src, controls: true, autoplay: true, playsinline: true, 'data-testid': 'viewer-video' }));
  } catch (err) {
    fillViewer(opening, failure('The video cannot be played', err));
  }
}

/** A file: its signed URL, opened (S3 sends it as a download, or the browser shows it in a tab). */
async function download(entry) {
  const out = $('#chat-message');
  showMessage(out, `Downloading ${entry.name || 'the file'}…`);
  try {
    const href = await state.api.fileUrl(entry.c);
    const link = h('a', { href, target: '_blank', rel: 'noopener', download: entry.name || '' });
    document.body.append(link);
    link.click();
    link.remove();
    showMessage(out, '');
  } catch (err) {
    showMessage(out, `Download: ${err.status === 0 ? 'the browser could not fetch the file' : err.message}`, 'error');
  }
}
