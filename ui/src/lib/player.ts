// Plays a call's recording (a WAV file from the database: G.711 µ-law as the phone records it) in an <audio> element, with the time
// and the length shown as text. One recording plays at a time: starting another stops it.
// In a browser the player reads the recording from the web in pieces, as it plays and seeks.
import { recording, recordingUrl } from "../api/appeals";
import { inBrowser, type CommandError } from "../api/core";
import { h } from "./h";
import { t } from "./i18n";
import { fmtDuration } from "./phone";

let current: { audio: HTMLAudioElement; url: string } | null = null;

function stopCurrent() {
  if (!current) return;
  current.audio.pause();
  if (current.url.startsWith("blob:")) URL.revokeObjectURL(current.url);
  current = null;
}

/** The bytes of a file the app returned (base64), as a Blob a page element can play. */
export function blobOf(mime: string, base64: string): Blob {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type: mime });
}

/**
 * A player for the call's recording (`.player` with `audio` and `.player-time`), starting at
 * once. `knownSeconds` (from the call's times) stands in until the file reports its length.
 */
export async function player(callId: string, knownSeconds: number | null): Promise<HTMLElement> {
  const box = h("div", { class: "player", dataset: { call: callId } });
  try {
    let url = recordingUrl(callId);
    if (!inBrowser) {
      const f = await recording(callId);
      url = URL.createObjectURL(blobOf(f.mime, f.base64));
    }
    stopCurrent();
    const audio = h("audio", { controls: true, preload: "auto", src: url });
    current = { audio, url };
    const time = h("span", { class: "player-time" }, `0:00 / ${fmtDuration(knownSeconds ?? NaN)}`);
    const show = () => {
      const total = Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : knownSeconds ?? NaN;
      time.textContent = `${fmtDuration(audio.currentTime)} / ${fmtDuration(total)}`;
    };
    for (const ev of ["timeupdate", "durationchange", "loadedmetadata", "ended"]) audio.addEventListener(ev, show);
    audio.addEventListener("error", () => {
      box.classList.add("failed");
      time.textContent = t.recordings.playerError;
    });
    box.append(audio, time);
    void audio.play().catch(() => undefined);
  } catch (e) {
    box.classList.add("failed");
    box.append(h("span", { class: "form-error" }, (e as CommandError).message || t.recordings.playerError));
  }
  return box;
}

/** Seconds of talk of a stored call, or null when unknown. */
export function callSeconds(c: { answeredAt: string | null; endedAt: string | null }): number | null {
  if (!c.answeredAt || !c.endedAt) return null;
  return Math.max(0, (Date.parse(c.endedAt) - Date.parse(c.answeredAt)) / 1000);
}
