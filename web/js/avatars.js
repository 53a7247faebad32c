// Profile pictures. A profile's `avatar` is a stable server path, `file/avatar/<32 hex>.jpg`
// (set by `PUT /user/avatar`), whose route answers 302 to a freshly signed S3 URL, as a photo's
// does. A browser cannot read the body of a redirect it is handed (nor its `Location`), so the
// page follows it, like media.js does, and keeps the bytes as an object URL: the signed URL
// expires within minutes, the object URL lives as long as the page. A new picture gets a new
// path, so a path's bytes never change and are fetched once.
//
// Nothing but `file/avatar/…` is loaded: an `avatar` given at sign-up is free text, and fetching
// whatever URL a stranger wrote there would tell them who looked at their profile.

const PREFIX = 'file/avatar/';

let state = null;
const urls = new Map(); // path -> object URL, '' while loading, null when it failed

/** Once, at boot. */
export function initAvatars(appState) {
  state = appState;
}

/** Log out: forget everything. */
export function resetAvatars() {
  for (const url of urls.values()) if (url) URL.revokeObjectURL(url);
  urls.clear();
}

/** Whether `path` is an avatar this page loads. */
export function isAvatar(path) {
  return typeof path === 'string' && path.startsWith(PREFIX) && /^[0-9A-Fa-f]{32}\.jpg$/.test(path.slice(PREFIX.length));
}

/**
 * The object URL of the avatar at `path`, or undefined while it loads (the load starts here;
 * every `img[data-avatar]` of that path gets its `src` when it arrives) or when it failed.
 */
export function avatarSrc(path) {
  if (!isAvatar(path) || !state || !state.api) return undefined;
  if (!urls.has(path)) load(path);
  return urls.get(path) || undefined;
}

async function load(path) {
  const api = state.api;
  urls.set(path, '');
  let url = null;
  try {
    url = URL.createObjectURL(await api.fileBlob(path));
  } catch {
    // a replaced avatar is deleted (404): the initial stands in until the profile is read again
  }
  if (api !== state.api) {
    if (url) URL.revokeObjectURL(url);
    return;
  }
  urls.set(path, url);
  if (!url) return;
  for (const img of document.querySelectorAll('img[data-avatar]')) {
    if (img.dataset.avatar === path) img.src = url;
  }
}
