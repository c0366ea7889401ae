// The one place that talks to Tauri: typed command calls and events.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { AppealEvent } from "../generated/AppealEvent";
import type { CommandError } from "../generated/CommandError";

export type { CommandError, UnlistenFn };

/** Calls a command; failures reject with a CommandError `{ kind, message, field, appeal }`. */
export async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
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
  return listen<AppealEvent>("appeal-changed", (ev) => fn(ev.payload));
}

/** An event the app emits, with its payload. */
export function onEvent<T>(name: string, fn: (payload: T) => void): Promise<UnlistenFn> {
  return listen<T>(name, (ev) => fn(ev.payload));
}

/** The change stream was interrupted: reload what is shown. */
export function onResync(fn: () => void): Promise<UnlistenFn> {
  return listen("events-resync", () => fn());
}
