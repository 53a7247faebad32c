// Profiles (docs/API.md §2.5a): the user's own, edited in the Profile dialog, and what the page
// knows of the others' (`state.profiles`: a name to show and a picture, from the inbox, the
// contact list and `update_user` notices).
//
// - Name and nick name, and who sees the name, age, gender and phone: `PUT /user` with the
//   fields changed only (the server refuses an empty change). The profile view never says the
//   `show_*` flags, not even to their owner, so each is a select that starts at "Leave as it is"
//   (or what was saved from here since the login) and is sent only when set.
// - The picture: `POST /media/upload {kind: image}`, the file to S3 through the presigned form
//   (api.js `uploadFile`, as media.js sends photos), then `PUT /user/avatar {key}`; the server
//   cuts the centre square, scales and re-encodes it, and answers the profile with its new
//   `avatar` path (avatars.js shows it).
// - `update_user` {from, name?, nick_name, avatar}: a friend (or another device of the user)
//   changed a profile; names and pictures change at once (`name` is left out while hidden).

import { $, showMessage, renderMe, avatar } from './ui.js';

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'];
const FLAGS = [
  { field: 'show_user_name', select: '#profile-show-name' },
  { field: 'show_age', select: '#profile-show-age' },
  { field: 'show_gender', select: '#profile-show-gender' },
  { field: 'show_phone', select: '#profile-show-phone' },
];

let state = null;
let rerender = () => {};
const chosen = new Map(); // flag -> 'true' | 'false', as saved from here since the login

/** Once, at boot: `render()` redraws the sidebar and the conversation header. */
export function initProfile(appState, { render }) {
  state = appState;
  rerender = render;
  $('#open-profile').addEventListener('click', openProfile);
  $('#profile-avatar-file').addEventListener('change', onPicture);
  $('#profile-form').addEventListener('submit', (e) => {
    if (!e.submitter || e.submitter.value !== 'save') return; // Close: the dialog closes
    e.preventDefault(); // Save keeps it open, to show the outcome
    save();
  });
}

/** Log out: forget everything. */
export function resetProfile() {
  chosen.clear();
  if ($('#profile').open) $('#profile').close();
}

/** The name a profile shows: its name, else (hidden or unset) its nick name, else its id. */
export function displayName(user) {
  return user.name || user.nick_name || `User ${user.id}`;
}

/** Another user's profile as seen now (a profile view, or an `update_user` notice with `id`). */
export function noteProfile(user) {
  const id = Number(user && user.id);
  if (!state || !Number.isFinite(id)) return;
  state.profiles.set(id, { name: user.name || null, nick_name: user.nick_name || '', avatar: user.avatar || '' });
  const name = displayName({ ...user, id });
  state.names.set(id, name);
  const friend = state.friends.get(id);
  if (friend) friend.name = name;
}

/** An `update_user` notice. `live`: it just happened (SYNC also replays old ones). */
export async function applyUserUpdate(data, live) {
  const id = Number(data.from);
  if (!state || !state.me) return;
  if (id === state.me.id) {
    // Another device of this user: the notice holds what the others see, so read the profile.
    if (!live) return;
    const api = state.api;
    try {
      const me = await api.user(id);
      if (api === state.api) setMe(me);
    } catch {
      // the next login reads it
    }
    return;
  }
  noteProfile({ id, name: data.name, nick_name: data.nick_name, avatar: data.avatar });
  rerender();
}

/** The user's own profile changed (here or on another device). */
function setMe(me) {
  state.me = { ...state.me, ...me };
  state.names.set(state.me.id, state.me.name);
  document.title = `IM · ${state.me.name}`;
  renderMe(state.me);
  renderPicture();
  rerender();
}

function renderPicture() {
  const me = state.me;
  const slot = $('#profile-avatar');
  slot.replaceWith(Object.assign(avatar(me.name, me.id, '.big', me.avatar), { id: 'profile-avatar' }));
}

function openProfile() {
  if (!state.me) return;
  $('#profile-name').value = state.me.name || '';
  $('#profile-nick').value = state.me.nick_name || '';
  for (const f of FLAGS) $(f.select).value = chosen.get(f.field) || '';
  renderPicture();
  showMessage($('#profile-message'), '');
  $('#profile').showModal();
  $('#profile-name').focus();
}

/** What the form changes: `PUT /user`'s fields, or a reason it cannot be sent. */
function changes() {
  const name = $('#profile-name').value.trim();
  const nick = $('#profile-nick').value.trim();
  if (!name) return { error: 'Your name cannot be empty.' };
  const fields = {};
  if (name !== (state.me.name || '')) fields.name = name;
  if (nick !== (state.me.nick_name || '')) fields.nick_name = nick;
  for (const f of FLAGS) {
    const value = $(f.select).value;
    if (value && value !== chosen.get(f.field)) fields[f.field] = value === 'true';
  }
  return { fields };
}

async function save() {
  const out = $('#profile-message');
  const { error, fields } = changes();
  if (error) return showMessage(out, error, 'error');
  if (!Object.keys(fields).length) return showMessage(out, 'Nothing to change.');
  const api = state.api;
  const button = $('#profile-save');
  button.disabled = true;
  showMessage(out, 'Saving…');
  try {
    const me = await api.updateProfile(fields);
    if (api !== state.api) return;
    for (const f of FLAGS) if (f.field in fields) chosen.set(f.field, String(fields[f.field]));
    setMe(me);
    showMessage(out, 'Saved: your friends see the change.', 'ok');
  } catch (err) {
    showMessage(out, err.message, 'error');
  } finally {
    button.disabled = false;
  }
}

async function onPicture() {
  const input = $('#profile-avatar-file');
  const file = input.files && input.files[0];
  input.value = '';
  const out = $('#profile-message');
  if (!file) return;
  if (!IMAGE_TYPES.includes(file.type)) return showMessage(out, 'Choose a JPEG, PNG, WebP or GIF picture.', 'error');
  const api = state.api;
  showMessage(out, `Uploading ${file.name}…`);
  try {
    const upload = await api.presignMedia('image', file.type);
    if (file.size > upload.max_bytes) throw new Error(`the picture is too big: at most ${Math.floor(upload.max_bytes / 1048576)} MB`);
    await api.uploadFile(upload, file);
    const me = await api.setAvatar(upload.key); // checked, cut square, re-encoded by the server
    if (api !== state.api) return;
    setMe(me);
    showMessage(out, 'Picture saved.', 'ok');
  } catch (err) {
    if (api === state.api) showMessage(out, `Picture not saved: ${err.message}`, 'error');
  }
}
