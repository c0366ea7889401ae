// The one place that talks to the shell: typed command calls and events. Inside the desktop
// app that is Tauri's invoke and events; in a browser it is dialog-server's web — the same
// commands over HTTPS (`POST /api/call/{command}`) and the same events as Server-Sent Events.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { AppealEvent } from "../generated/AppealEvent";
import type { CommandError } from "../generated/CommandError";
import type { Person } from "../generated/Person";

export type { CommandError, UnlistenFn };

/** Whether this page runs in a browser (dialog-server's web) rather than in the desktop app. */
export const inBrowser: boolean = typeof window !== "undefined" && !("__TAURI_INTERNALS__" in window);

/** Calls a command; failures reject with a CommandError `{ kind, message, field, appeal }`. */
export async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  if (inBrowser) return web<T>(`/api/call/${command}`, { method: "POST", body: JSON.stringify(args ?? {}) });
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw asCommandError(e);
  }
}

export function asCommandError(e: unknown): CommandError {
  if (e && typeof e === "object" && "kind" in e && "message" in e) return e as CommandError;
  return { kind: "internal", message: String(e), field: null, appeal: null };
}

/** Live changes of appeals made by anyone (the database's NOTIFY). */
export function onAppealChanged(fn: (e: AppealEvent) => void): Promise<UnlistenFn> {
  return onEvent<AppealEvent>("appeal-changed", fn);
}

/** An event the app emits, with its payload. */
export function onEvent<T>(name: string, fn: (payload: T) => void): Promise<UnlistenFn> {
  if (inBrowser) return Promise.resolve(webListen(name, (p) => fn(p as T)));
  return listen<T>(name, (ev) => fn(ev.payload));
}

/** The change stream was interrupted: reload what is shown. */
export function onResync(fn: () => void): Promise<UnlistenFn> {
  return onEvent("events-resync", () => fn());
}

// ---- The browser's side of the web ----

/** The session's token for requests that change something (the server checks it). */
let csrf = "";
const signedOutListeners = new Set<() => void>();

const unreachable: CommandError = {
  kind: "unreachable",
  message: "Нет связи с сервером «Диалога» — проверьте подключение к сети и повторите",
  field: null,
  appeal: null,
};

/** Calls `fn` when the server says the session is over (it expired, or was ended elsewhere). */
export function onSignedOut(fn: () => void): () => void {
  signedOutListeners.add(fn);
  return () => signedOutListeners.delete(fn);
}

function signedOut() {
  csrf = "";
  closeEvents();
  signedOutListeners.forEach((fn) => fn());
}

async function request(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, {
      ...init,
      credentials: "same-origin",
      cache: "no-store",
      headers: { "content-type": "application/json", "x-dialog-csrf": csrf, ...(init.headers ?? {}) },
    });
  } catch {
    throw unreachable;
  }
}

async function errorOf(r: Response): Promise<CommandError> {
  const text = await r.text().catch(() => "");
  try {
    return asCommandError(JSON.parse(text));
  } catch {
    return { kind: "internal", message: `Сервер «Диалога» ответил ошибкой ${r.status} — повторите; если не получится, сообщите администратору`, field: null, appeal: null };
  }
}

/** A request to the web's API; a 401 means the session is over. */
async function web<T>(path: string, init: RequestInit): Promise<T> {
  const r = await request(path, init);
  if (r.status === 401) {
    const e = await errorOf(r);
    signedOut();
    throw e;
  }
  if (!r.ok) throw await errorOf(r);
  const text = await r.text();
  return (text ? JSON.parse(text) : null) as T;
}

/** The person signed in and the session's token, as the web answers sign-in. */
interface WebSession {
  person: Person;
  csrf: string;
}

/** Signs in with the person's own login and password. */
export async function webSignIn(login: string, password: string): Promise<Person> {
  const r = await request("/api/login", { method: "POST", body: JSON.stringify({ login, password }) });
  if (!r.ok) throw await errorOf(r);
  const s = (await r.json()) as WebSession;
  csrf = s.csrf;
  return s.person;
}

/** The person of this browser's session, if it has one. */
export async function webSession(): Promise<Person | null> {
  const r = await request("/api/session", { method: "GET" });
  if (r.status === 401) return null;
  if (!r.ok) throw await errorOf(r);
  const s = (await r.json()) as WebSession;
  csrf = s.csrf;
  return s.person;
}

/** Signs out: the server closes the person's connections. */
export async function webSignOut(): Promise<void> {
  closeEvents();
  try {
    await request("/api/logout", { method: "POST" });
  } finally {
    csrf = "";
  }
}

/** Where a browser keeps what it downloads, for the screens' messages. */
export const DOWNLOADS = "папка загрузок браузера";

/**
 * Fetches a file of the web (`GET`, or `POST` with `body`) and hands it to the browser to
 * save under the name the server gives. Resolves with that name.
 */
export async function webDownload(path: string, body?: unknown): Promise<string> {
  const r = await request(path, body === undefined ? { method: "GET" } : { method: "POST", body: JSON.stringify(body) });
  if (r.status === 401) {
    const e = await errorOf(r);
    signedOut();
    throw e;
  }
  if (!r.ok) throw await errorOf(r);
  const name = fileName(r.headers.get("content-disposition")) ?? "файл";
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.rel = "noopener";
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

/** The file name of a `Content-Disposition` (RFC 6266: `filename*` first). */
export function fileName(header: string | null): string | null {
  if (!header) return null;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[1]);
    } catch {
      // fall through to the plain name
    }
  }
  const plain = /filename="([^"]*)"/i.exec(header);
  return plain ? plain[1] : null;
}

// Live changes: one EventSource for the page, opened with the first listener.
let source: EventSource | null = null;
let broken = false;
const listeners = new Map<string, Set<(payload: unknown) => void>>();

function emit(name: string, payload: unknown) {
  listeners.get(name)?.forEach((fn) => fn(payload));
}

function attach(es: EventSource, name: string) {
  es.addEventListener(name, (ev) => {
    const data = (ev as MessageEvent<string>).data;
    let payload: unknown = null;
    try {
      payload = JSON.parse(data);
    } catch {
      payload = null;
    }
    emit(name, payload);
  });
}

function openEvents() {
  if (source || !csrf) return;
  const es = new EventSource("/api/events");
  source = es;
  for (const name of listeners.keys()) attach(es, name);
  es.onopen = () => {
    // Back after a break: what changed meanwhile is unknown.
    if (broken) emit("events-resync", null);
    broken = false;
  };
  es.onerror = () => {
    broken = true;
    if (es.readyState !== EventSource.CLOSED) return;
    // The server refused the stream: the session may be over.
    if (source === es) source = null;
    void webSession()
      .then((p) => {
        if (!p) signedOut();
        else window.setTimeout(openEvents, 3000);
      })
      .catch(() => window.setTimeout(openEvents, 3000));
  };
}

function closeEvents() {
  source?.close();
  source = null;
  broken = false;
}

function webListen(name: string, fn: (payload: unknown) => void): UnlistenFn {
  let set = listeners.get(name);
  if (!set) {
    set = new Set();
    listeners.set(name, set);
    if (source) attach(source, name);
  }
  set.add(fn);
  openEvents();
  return () => {
    set.delete(fn);
  };
}
