// The PBX's queue as its bridge reports it (dialog-server's pbx duty): callers waiting across
// the center's queues, how long the first of them waits (red past the 5 minutes of Rules
// No. 416), agents logged in and talking. Read at once, again on every change the database
// announces (at most every 0.5 s) and every 10 s in any case; the longest wait ticks here.
import { onEvent, onResync } from "../api/core";
import { queueState } from "../api/reports";
import type { QueueState } from "../generated/QueueState";
import { throttle } from "./h";

/** The queue summed over the PBX's queues; `null` where there is no bridge or it is silent. */
export interface Queue {
  waiting: number;
  /** Seconds the caller waiting longest has waited. */
  longestWait: number | null;
  agents: number;
  talking: number;
}

/** The answer deadline of Rules No. 416, in seconds. */
export const ANSWER_DEADLINE = 5 * 60;

export function sum(states: QueueState[], now = Date.now()): Queue | null {
  const live = states.filter((q) => !q.stale);
  if (live.length === 0) return null;
  const since = live.map((q) => q.longestSince).filter((s): s is string => !!s).map((s) => new Date(s).getTime());
  return {
    waiting: live.reduce((n, q) => n + q.waiting, 0),
    longestWait: since.length ? Math.max(0, Math.round((now - Math.min(...since)) / 1000)) : null,
    agents: live.reduce((n, q) => n + q.agents, 0),
    talking: live.reduce((n, q) => n + q.talking, 0),
  };
}

/** `2:05`, `12:40`. */
export function minutes(seconds: number): string {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** Calls `show` with the queue now and whenever it changes (and every second while callers wait). */
export function watchQueue(show: (q: Queue | null) => void): () => void {
  let states: QueueState[] = [];
  let stopped = false;
  const load = async () => {
    try {
      states = await queueState();
    } catch {
      states = [];
    }
    if (!stopped) show(sum(states));
  };
  const again = throttle(() => void load(), 500);
  const subscriptions = [onEvent("queue-changed", () => again()), onResync(() => again())];
  const poll = window.setInterval(() => void load(), 10_000);
  const tick = window.setInterval(() => {
    const q = sum(states);
    if (q && q.waiting > 0) show(q);
  }, 1000);
  void load();
  return () => {
    stopped = true;
    window.clearInterval(poll);
    window.clearInterval(tick);
    subscriptions.forEach((p) => void p.then((f) => f()));
  };
}
