// The registry's list kept current: keyset pages read as the list scrolls (endless scrolling),
// and what is shown read again when another operator changes an appeal, when changes may have
// been missed (a resync), and when a call of ours is stored (it may give a row its ♪).
import { onAppealChanged, onResync, type CommandError } from "../../api/core";
import { registryPage } from "../../api/registry";
import type { Cursor } from "../../generated/Cursor";
import type { RegistryRow } from "../../generated/RegistryRow";
import type { AppContext } from "../../lib/app";
import { throttle } from "../../lib/h";
import { onCallSaved } from "../../lib/phone";
import { PAGE, type RegistryState } from "./state";

export interface Feed {
  /** Reads the next page; `reset` reads the first page again (the filter changed). */
  load(reset: boolean): Promise<void>;
  /** Stops reading and listening (the registry is left). */
  stop(): void;
}

/** A moment of a read that the app benchmark (tests/e2e/bench.mjs) reads back: the page's
 * answer came, its rows were built, and laid out. Only the latest of each name is kept. */
function mark(name: string) {
  performance.clearMarks(name);
  performance.mark(name);
}

/** `scroller` is the list's scrolling box, `sentinel` the mark under its last row: when it
 * comes near, the next page is read. `render` shows `state` after every read. */
export function feed(
  ctx: AppContext,
  state: RegistryState,
  view: { scroller: HTMLElement; sentinel: HTMLElement },
  render: () => void,
): Feed {
  const { scroller, sentinel } = view;

  async function load(reset: boolean) {
    if (state.loading && !reset) return;
    const gen = reset ? ++state.generation : state.generation;
    if (reset) state.cursor = null;
    state.loading = true;
    try {
      const page = await registryPage(state.filter, state.sort, state.cursor, PAGE);
      mark("registry-answer");
      if (gen !== state.generation) return;
      state.rows = reset ? page.rows : state.rows.concat(page.rows);
      state.cursor = page.next;
    } catch (e) {
      ctx.toast((e as CommandError).message, "error");
    } finally {
      if (gen === state.generation) state.loading = false;
      render();
      mark("registry-built");
    }
    // Fill the screen.
    const more = !!state.cursor && sentinel.getBoundingClientRect().top < scroller.getBoundingClientRect().bottom + 200;
    mark("registry-rendered");
    if (more) void load(false);
  }

  /** Reloads everything shown (as many rows as are on screen), keeping the scroll. */
  async function refresh() {
    const gen = ++state.generation;
    const want = Math.max(PAGE, state.rows.length);
    let got: RegistryRow[] = [];
    let next: Cursor | null = null;
    do {
      const page = await registryPage(state.filter, state.sort, next, Math.min(500, want - got.length));
      if (gen !== state.generation) return;
      got = got.concat(page.rows);
      next = page.next;
    } while (next && got.length < want);
    state.rows = got;
    state.cursor = next;
    render();
  }

  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && state.cursor) void load(false);
  }, { root: scroller, rootMargin: "300px" });
  observer.observe(sentinel);

  // Live changes show within a second however many come (a debounce would wait for a pause
  // that a busy center never makes).
  const changed = throttle(() => void refresh(), 700);
  const unlisten = [onAppealChanged(() => changed()), onResync(() => changed())];
  // A stored call of ours may give a row its ♪.
  const unsubscribeCalls = onCallSaved(() => changed());

  return {
    load,
    stop() {
      observer.disconnect();
      state.generation++;
      unlisten.forEach((p) => void p.then((f) => f()));
      unsubscribeCalls();
    },
  };
}
