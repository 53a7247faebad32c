// Where the backend is. `config.json` (beside the page) names the stack's URLs; the local stack
// answers it with its own, the committed one is empty. Empty means: HTTP on the page's origin,
// the socket on ws://<page host>:3001/v1. The settings form stores overrides in localStorage.

const OVERRIDES = 'im.settings';

function defaultWsUrl() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.hostname}:3001/v1`;
}

function trimSlash(url) {
  return url.replace(/\/+$/, '');
}

export function readOverrides() {
  try {
    const saved = JSON.parse(localStorage.getItem(OVERRIDES) || '{}');
    return { httpUrl: String(saved.httpUrl || ''), wsUrl: String(saved.wsUrl || '') };
  } catch {
    return { httpUrl: '', wsUrl: '' };
  }
}

export function saveOverrides({ httpUrl, wsUrl }) {
  const clean = { httpUrl: trimSlash(httpUrl.trim()), wsUrl: wsUrl.trim() };
  if (!clean.httpUrl && !clean.wsUrl) localStorage.removeItem(OVERRIDES);
  else localStorage.setItem(OVERRIDES, JSON.stringify(clean));
}

/** The effective `{httpUrl, wsUrl}`: overrides, else config.json, else the defaults. */
export async function loadConfig() {
  let file = {};
  try {
    const res = await fetch(new URL('config.json', location.href), { cache: 'no-store', credentials: 'omit' });
    if (res.ok) file = await res.json();
  } catch {
    // No config.json: the defaults apply.
  }
  const saved = readOverrides();
  const httpUrl = trimSlash(saved.httpUrl || String(file.httpUrl || '') || location.origin);
  const wsUrlFromFile = String(file.wsUrl || '');
  const wsUrl = saved.wsUrl || wsUrlFromFile || defaultWsUrl();
  // `wsUrlFromFile` lets the login's own `ws_url` come before the guessed default.
  return { httpUrl, wsUrl, wsUrlFromFile };
}
