// The registry (the operator manual, «Реестр обращений граждан»): type toggles, quick filters, quick search, the advanced
// filter, endless scrolling over keyset pages, live updates from other operators.
//
// Where to look: state.ts — what the screen knows (filter, rows, ticks); filters.ts — the filter
// bar and the advanced filter; rows.ts — a row's cells; popups.ts — what a row's icons open;
// live.ts — reading pages and keeping them current. This file lays the screen out and wires the
// table's clicks and keys.
import type { CommandError } from "../../api/core";
import { printCards } from "../../api/appeals";
import type { RegistryFilter } from "../../generated/RegistryFilter";
import type { AppContext } from "../../lib/app";
import { h } from "../../lib/h";
import { t } from "../../lib/i18n";
import { filterBar } from "./filters";
import { feed } from "./live";
import { historyTip, playFirst, showExecutor, showGroup, showMedia } from "./popups";
import { MEDIA_KINDS, renderRows } from "./rows";
import { registryState } from "./state";

export function mountRegistry(root: HTMLElement, ctx: AppContext, initial?: RegistryFilter, title?: string): () => void {
  const state = registryState(initial);
  // Every change of the filter reads the list from its first page.
  const bar = filterBar(ctx, state, () => void rowsFeed.load(true));
  const printPicked = h("button", { id: "print-picked", type: "button", disabled: true }, t.registry.printPicked);
  const tbody = h("tbody", { id: "registry-rows" });
  const sentinel = h("div", { class: "sentinel" });
  const status = h("div", { class: "registry-status", id: "registry-status" });
  const table = h(
    "table",
    { class: "registry" },
    h("thead", null, h("tr", null, ...t.registry.columns.map((c) => h("th", null, c)))),
    tbody,
  );
  const scroller = h("div", { class: "registry-scroll", id: "registry-scroll" }, table, sentinel, status);
  const el = h(
    "section",
    { class: "registry-view" },
    h(
      "div",
      { class: "toolbar" },
      title ? h("strong", { class: "view-title" }, title) : null,
      ...bar.controls,
      printPicked,
    ),
    bar.panel,
    scroller,
  );
  root.replaceChildren(el);
  const rowsFeed = feed(ctx, state, { scroller, sentinel }, () => renderRows(tbody, status, state));

  async function print(ids: string[]) {
    try {
      ctx.toast(`${t.registry.printedTo}: ${await printCards(ids)}`);
    } catch (e) {
      ctx.toast((e as CommandError).message, "error");
    }
  }
  printPicked.addEventListener("click", () => void print([...state.picked]));

  tbody.addEventListener("click", (e) => {
    const target = e.target as HTMLElement;
    const tr = target.closest("tr");
    const row = state.rows.find((r) => r.id === tr?.dataset.id);
    if (target.closest("button.call")) {
      // A ☎ button (disabled, when the line is down): never opens the card under it.
      return;
    } else if (target.classList.contains("rec") && target.dataset.id) {
      void playFirst(ctx, state, target.dataset.id);
    } else if (target.classList.contains("pick") && target.dataset.id) {
      const box = target as HTMLInputElement;
      if (box.checked) state.picked.add(target.dataset.id);
      else state.picked.delete(target.dataset.id);
      printPicked.disabled = state.picked.size === 0;
      printPicked.textContent = state.picked.size ? t.registry.printPickedN(state.picked.size) : t.registry.printPicked;
    } else if (target.classList.contains("print") && target.dataset.id) {
      void print([target.dataset.id]);
    } else if (target.classList.contains("exec-link") && target.dataset.id) {
      void showExecutor(ctx, target.dataset.id);
    } else if (target.classList.contains("joined") && row) {
      void showGroup(ctx, row);
    } else if (target.classList.contains("att") && tr?.dataset.id) {
      const kind = target.dataset.kind ?? "";
      if (MEDIA_KINDS.includes(kind)) void showMedia(ctx, state, tr.dataset.id, kind);
      else ctx.openCard(tr.dataset.id, { tab: "files" });
    } else if (tr?.dataset.id) {
      ctx.openCard(tr.dataset.id);
    }
  });
  historyTip(el, tbody);
  tbody.addEventListener("keydown", (e) => {
    const tr = (e.target as HTMLElement).closest("tr");
    if (e.key === "Enter" && tr?.dataset.id) ctx.openCard(tr.dataset.id);
    if (e.key === "ArrowDown") (tr?.nextElementSibling as HTMLElement | null)?.focus();
    if (e.key === "ArrowUp") (tr?.previousElementSibling as HTMLElement | null)?.focus();
  });

  void rowsFeed.load(true);
  bar.search.focus();
  return rowsFeed.stop;
}
