// The phone's state as the shell reports it ("phone-state" events), shared by every screen:
// the header, the call panels, the card's регламент bar and the call buttons.
import { inBrowser, type CommandError } from "../api/core";
import { onCallStored, onPhoneState, phoneCall, phoneStatus, type PhoneCall, type PhoneStatus } from "../api/phone";
import { DIALABLE } from "../generated/labels";
import { h } from "./h";
import { t } from "./i18n";

type Listener = (now: PhoneStatus, before: PhoneStatus) => void;

let status: PhoneStatus = { line: "off", message: t.header.lineOff, extension: null, calls: [], waiting: 0 };
const listeners = new Set<Listener>();
const storedListeners = new Set<(callId: string) => void>();
let report: (message: string) => void = () => {};
let events = 0;

/** The phone's state now. */
export function phone(): PhoneStatus {
  return status;
}

/** Calls `fn` when a finished call has been stored (screens that list calls reload). */
export function onCallSaved(fn: (callId: string) => void): () => void {
  storedListeners.add(fn);
  return () => storedListeners.delete(fn);
}

/** Calls `fn` on every change; returns the unsubscribe. */
export function onPhone(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function set(next: PhoneStatus) {
  const before = status;
  status = next;
  syncCallButtons();
  for (const fn of [...listeners]) fn(next, before);
}

/** Starts following the shell's phone; `onError` shows a failed action. Returns the stop. */
export async function startPhone(onError: (message: string) => void): Promise<() => void> {
  report = onError;
  const unlisten = await onPhoneState((s) => {
    events++;
    set(s);
  }).catch(() => () => {});
  const unlistenStored = await onCallStored((id) => storedListeners.forEach((fn) => fn(id))).catch(() => () => {});
  const seen = events;
  try {
    const s = await phoneStatus();
    // An event that came while we asked is newer than the answer.
    if (events === seen) set(s);
  } catch {
    // No phone in this shell yet: the line stays "off".
  }
  return () => {
    unlisten();
    unlistenStored();
    listeners.clear();
    storedListeners.clear();
    report = () => {};
  };
}

/** Calls that are not over. */
export const liveCalls = (s: PhoneStatus = status) => s.calls;
/** Incoming calls ringing, oldest first. */
export const ringing = (s: PhoneStatus = status) =>
  s.calls.filter((c) => c.direction === "in" && c.state === "ringing").sort((a, b) => a.startedAt.localeCompare(b.startedAt));
/** Calls in progress (dialing, talking, held). */
export const active = (s: PhoneStatus = status) => liveCalls(s).filter((c) => !(c.direction === "in" && c.state === "ringing"));

/** Seconds of talk so far (0 before the answer). */
export function talkSeconds(c: PhoneCall, now = Date.now()): number {
  return c.answeredAt ? Math.max(0, Math.floor((now - Date.parse(c.answeredAt)) / 1000)) : 0;
}

/** `m:ss`, or `h:mm:ss` past an hour. */
export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "–:––";
  const s = Math.floor(seconds);
  const p = (n: number) => String(n).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}` : `${Math.floor(s / 60)}:${p(s % 60)}`;
}

/** The регламент bar (the operator manual, «Карточка обращения»): fills over three minutes, orange after one, red after two. */
export function talkBar(labelId?: string): { el: HTMLElement; bar: HTMLElement; label: HTMLElement; set(seconds: number): void } {
  const bar = h("div", { class: "talk-bar", title: t.phone.talkTime }, h("div", { class: "talk-fill" }));
  const label = h("span", { class: "talk-time", id: labelId }, "0:00");
  const el = h("span", { class: "talk-meter" }, bar, label);
  return {
    el,
    bar,
    label,
    set(s: number) {
      label.textContent = fmtDuration(s);
      (bar.firstChild as HTMLElement).style.width = `${Math.min(100, (s / 180) * 100)}%`;
      bar.classList.toggle("orange", s >= 60 && s < 120);
      bar.classList.toggle("red", s >= 120);
    },
  };
}

/** Whether a number can be dialled: digits, maybe a leading +, * and # (the rule of dialog-sip). */
export function dialable(number: string | null | undefined): boolean {
  return !!number && DIALABLE.test(number.replace(/[\s()-]/g, ""));
}

/** Places a call; a failure is shown, never thrown. */
export async function dial(number: string, appealId?: string | null, executorId?: string | null): Promise<string | null> {
  try {
    return await phoneCall(number.replace(/[\s()-]/g, ""), appealId, executorId);
  } catch (e) {
    report((e as CommandError).message);
    return null;
  }
}

/** Brings one call button in line with the line state and its number. */
export function syncCallButton(b: HTMLButtonElement) {
  // A browser has no phone: its call buttons stay hidden.
  if (inBrowser) {
    b.hidden = true;
    return;
  }
  const number = b.dataset.number ?? "";
  const up = status.line === "registered";
  b.disabled = !up || !dialable(number);
  b.title = !dialable(number) ? t.phone.noNumber : up ? `${t.phone.call} ${number}` : t.phone.lineNotReady;
}

function syncCallButtons() {
  document.querySelectorAll<HTMLButtonElement>("button.call").forEach(syncCallButton);
}

/** A ☎ button that calls `number` about the appeal and/or the executor (class `call`). */
export function callButton(opts: {
  number: string;
  appealId?: string | null;
  executorId?: string | null;
  id?: string;
  class?: string;
  tabIndex?: number;
  /** Runs instead of the call (say, to save the card first and then call). */
  onCall?: () => void;
}): HTMLButtonElement {
  const b = h(
    "button",
    {
      type: "button",
      id: opts.id,
      class: `icon call ${opts.class ?? ""}`,
      tabIndex: opts.tabIndex,
      dataset: { number: opts.number, appealId: opts.appealId ?? "", executorId: opts.executorId ?? "" },
      "aria-label": t.phone.call,
    },
    t.phone.callIcon,
  );
  b.addEventListener("click", (e) => {
    e.stopPropagation();
    e.preventDefault();
    if (opts.onCall) opts.onCall();
    else void dial(b.dataset.number ?? "", b.dataset.appealId || null, b.dataset.executorId || null);
  });
  syncCallButton(b);
  return b;
}
