// Voice notes: AMR-NB, decoded and played by BenzAMRRecorder (the classic script of
// node_modules/benz-amr-recorder, loaded by index.html). The bytes come from the message's
// stable path, `GET /file/audio/<name>.amr`, which answers 302 to a presigned S3 URL.
//
// A note's button is drawn again whenever the conversation re-renders, so its state lives
// here, by audio path, and every button showing that path is updated.

const players = new Map(); // audio path -> initialised BenzAMRRecorder
const looks = new Map(); // audio path -> {text, state, title}
let playing = null; // audio path

const IDLE = { text: '▶ Voice note', state: 'idle', title: 'Play' };

/** How the button of `path` looks now. */
export function voiceNoteLook(path) {
  return looks.get(path) || IDLE;
}

function show(path, text, state, title = '') {
  looks.set(path, { text, state, title });
  for (const button of document.querySelectorAll('[data-testid="audio-play"]')) {
    if (button.dataset.path !== path) continue;
    button.textContent = text;
    button.dataset.state = state;
    button.title = title;
  }
}

function duration(player) {
  const seconds = Math.round(player.getDuration() || 0);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

function stopCurrent() {
  if (!playing) return;
  const path = playing;
  const player = players.get(path);
  playing = null;
  try {
    player.stop();
  } catch {
    // already stopped
  }
  show(path, `▶ Voice note · ${duration(player)}`, 'ready', 'Play');
}

/** Play (or stop) the voice note at `path` (a message's `c`), fetched through `api`. */
export async function toggleVoiceNote(api, path) {
  if (playing === path) {
    stopCurrent();
    return;
  }
  stopCurrent();
  const Recorder = window.BenzAMRRecorder;
  if (!Recorder) {
    show(path, '⚠ Player missing', 'error', 'benz-amr-recorder is not installed: run `npm ci` in web/');
    return;
  }
  let player = players.get(path);
  if (!player) {
    if (voiceNoteLook(path).state === 'loading') return;
    show(path, '… Loading', 'loading');
    try {
      const bytes = await api.audio(path);
      player = new Recorder();
      await player.initWithArrayBuffer(bytes);
      players.set(path, player);
    } catch (err) {
      const why =
        err.status === 0
          ? "The browser could not fetch the audio: the route redirects to S3, which must answer CORS for this page's origin."
          : `Cannot load the voice note: ${err.message}`;
      show(path, '⚠ Cannot play', 'error', why);
      return;
    }
  }
  player.onEnded(() => {
    if (playing === path) {
      playing = null;
      show(path, `▶ Voice note · ${duration(player)}`, 'ready', 'Play');
    }
  });
  playing = path;
  show(path, `■ Playing · ${duration(player)}`, 'playing', 'Stop');
  player.play();
}
