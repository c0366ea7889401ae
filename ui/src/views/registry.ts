// The registry (the operator manual, «Реестр обращений граждан»): type toggles, quick filters, quick search, the advanced
// filter, endless scrolling over keyset pages, live updates from other operators.
import { onAppealChanged, onResync, type CommandError } from "../api/core";
import { appealCalls, appealHistory, attachments, joinedGroup, printCards } from "../api/appeals";
import { contacts, organizations, searchKinds } from "../api/directory";
import { emptyFilter, registryPage, saveTemplate } from "../api/registry";
import type { AppealStatus } from "../generated/AppealStatus";
import type { AppealType } from "../generated/AppealType";
import type { Cursor } from "../generated/Cursor";
import type { RegistryFilter } from "../generated/RegistryFilter";
import type { RegistryRow } from "../generated/RegistryRow";
import type { Sort } from "../generated/Sort";
import type { AppContext } from "../lib/app";
import { debounce, fmtDateTime, h, replace, throttle, uuidv7 } from "../lib/h";
import { LIVE_STATUSES } from "../generated/labels";
import { openExecutor } from "./contacts";
import { channelLabel, priorityLabel, statusLabel, t, typeLabel } from "../lib/i18n";
import { callButton, dialable, onCallSaved } from "../lib/phone";
import { callSeconds, player } from "../lib/player";
import { mediaPreview } from "./card/tabs";

const PAGE = 50;
const TYPES: AppealType[] = ["accident", "complaint", "inquiry", "request"];
const STATUSES: AppealStatus[] = ["new", "assigned", "inWork", "done", "closed", "cancelled"];
/** Attachments the registry shows itself (a MIME type's first part). */
type MediaKind = "image" | "video" | "audio";
const MEDIA_KINDS: string[] = ["image", "video", "audio"];

export function statusIcon(r: { status: AppealStatus; priority: RegistryRow["priority"] }): HTMLElement {
  const finished = r.status === "closed" || r.status === "done";
  return h(
    "span",
    {
      class: `status-icon ${finished ? "st-finished" : "pr-" + r.priority}`,
      title: `${statusLabel[r.status]}, приоритет ${priorityLabel[r.priority]}`,
    },
    finished ? "✔" : r.priority === "critical" ? "!" : r.priority === "medium" ? "●" : "○",
  );
}

/** Not yet done, closed or cancelled: its deadline still runs. */
export function live(status: AppealStatus): boolean {
  return LIVE_STATUSES.includes(status);
}

export function rowCells(r: RegistryRow): HTMLElement[] {
  const attachIcons = r.attachmentKinds.map((k) => {
    const media = MEDIA_KINDS.includes(k);
    return h(
      "button",
      { type: "button", class: `att att-${media ? k : "doc"}`, title: media ? t.registry.attachmentShow[k as MediaKind] : t.registry.attachmentFiles, dataset: { kind: k } },
      media ? t.registry.attachmentIcon[k as MediaKind] : t.registry.attachmentDoc,
    );
  });
  return [
    h("td", { class: "c-num" }, h("div", null, fmtDateTime(r.receivedAt)), h("div", { class: "num" }, r.number)),
    h("td", { class: "c-addr" }, r.address || "—"),
    h(
      "td",
      { class: "c-reason" },
      h("span", { class: `type-badge type-${r.appealType}` }, typeLabel[r.appealType]),
      " ",
      r.kindName,
      r.comment ? h("div", { class: "muted" }, r.comment) : null,
    ),
    h("td", { class: "c-applicant" }, r.applicantName || "—"),
    h(
      "td",
      { class: "c-contacts" },
      h("div", null, r.identifier, dialable(r.identifier) ? [" ", callButton({ number: r.identifier, appealId: r.id, class: "call-applicant" })] : null),
      r.contacts ? h("div", { class: "other-contacts" }, r.contacts) : null,
      h("div", { class: "muted" }, channelLabel[r.channel]),
    ),
    h(
      "td",
      { class: "c-status" },
      statusIcon(r),
      " ",
      statusLabel[r.status],
      r.executorNames.length
        ? h(
            "div",
            { class: "muted executors" },
            ...r.executorNames.map((n, i) => h("button", { class: "link exec-link", dataset: { id: r.executorIds[i] ?? "" }, title: "Обращения в работе у исполнителя" }, n)),
          )
        : null,
      r.overdue
        ? h("div", { class: "overdue-label" }, t.registry.overdue)
        : r.controlAt && live(r.status)
          ? h("div", { class: "muted due" }, `${t.registry.dueBy} ${fmtDateTime(r.controlAt)}`)
          : null,
    ),
    h(
      "td",
      { class: "c-progress" },
      h("div", { class: "progress", title: `${r.progress}%` }, h("div", { class: "bar", style: { width: `${r.progress}%` } })),
    ),
    h(
      "td",
      { class: "c-icons" },
      h("input", { type: "checkbox", class: "pick", title: "выбрать для печати", dataset: { id: r.id } }),
      h("button", { class: "icon print", title: "Печать карточки", dataset: { id: r.id } }, "▣"),
      r.hasRecording ? h("button", { class: "icon rec", title: t.recordings.firstRecording, dataset: { id: r.id } }, "♪") : null,
      ...attachIcons,
    ),
    h(
      "td",
      { class: "c-info" },
      h("span", { class: "icon history", title: "история", dataset: { id: r.id } }, "ℹ"),
      r.joinedCount > 1 ? h("span", { class: "icon joined", title: `${t.registry.joined}: ${r.joinedCount}` }, `⚭${r.joinedCount}`) : null,
    ),
  ];
}

export function mountRegistry(root: HTMLElement, ctx: AppContext, initial?: RegistryFilter, title?: string): () => void {
  let filter: RegistryFilter = initial ? { ...emptyFilter(), ...initial } : emptyFilter();
  const sort: Sort = "receivedDesc";
  let cursor: Cursor | null = null;
  let loading = false;
  let generation = 0;
  let rows: RegistryRow[] = [];

  const search = h("input", {
    id: "registry-search",
    type: "search",
    placeholder: t.registry.search,
    value: filter.text,
    autocomplete: "off",
  });
  const clear = h("button", { id: "registry-clear", class: "icon", title: t.registry.clear, type: "button" }, "✕");
  // The type buttons hide their type (manual §5 "Как найти…": press жалоба, справка and заявка
  // and only аварии stay). A filter that names no type shows them all.
  const shownTypes = () => (filter.types.length ? filter.types : TYPES);
  const typeToggles = TYPES.map((ty) =>
    h("button", { class: `toggle type-toggle type-${ty}`, dataset: { type: ty } }, typeLabel[ty]),
  );
  const syncTypes = () =>
    typeToggles.forEach((b) => {
      const ty = b.dataset.type as AppealType;
      const hidden = !shownTypes().includes(ty);
      b.setAttribute("aria-pressed", String(hidden));
      b.title = `${hidden ? t.registry.showType : t.registry.hideType}: ${typeLabel[ty]}`;
    });
  syncTypes();
  const quickSoon = h("button", { id: "quick-deadline", class: "toggle quick", "aria-pressed": String(filter.quick === "deadlineSoon") }, t.registry.deadlineSoon);
  const quickNotified = h(
    "button",
    { id: "quick-unnotified", class: "toggle quick", "aria-pressed": String(filter.quick === "executorNotNotified") },
    t.registry.notNotified,
  );
  const filterButton = h("button", { id: "registry-filter", type: "button" }, t.registry.filter);
  const picked = new Set<string>();
  const printPicked = h("button", { id: "print-picked", type: "button", disabled: true }, "Печать выбранных");
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
  const panel = h("div", { class: "filter-panel hidden", id: "filter-panel" });
  const el = h(
    "section",
    { class: "registry-view" },
    h(
      "div",
      { class: "toolbar" },
      title ? h("strong", { class: "view-title" }, title) : null,
      h("div", { class: "group" }, ...typeToggles),
      h("div", { class: "group" }, quickSoon, quickNotified),
      h("div", { class: "search" }, search, clear),
      filterButton,
      printPicked,
    ),
    panel,
    scroller,
  );
  root.replaceChildren(el);

  function render() {
    replace(
      tbody,
      rows.map((r) =>
        h("tr", { dataset: { id: r.id }, class: `${r.overdue ? "overdue" : ""} ${r.status}`, tabIndex: 0 }, rowCells(r)),
      ),
    );
    tbody.querySelectorAll<HTMLInputElement>("input.pick").forEach((b) => (b.checked = picked.has(b.dataset.id ?? "")));
    status.textContent = loading ? t.registry.loading : rows.length === 0 ? t.registry.empty : "";
  }

  async function load(reset: boolean) {
    if (loading && !reset) return;
    const gen = reset ? ++generation : generation;
    if (reset) cursor = null;
    loading = true;
    try {
      const page = await registryPage(filter, sort, cursor, PAGE);
      if (gen !== generation) return;
      rows = reset ? page.rows : rows.concat(page.rows);
      cursor = page.next;
    } catch (e) {
      ctx.toast((e as CommandError).message, "error");
    } finally {
      if (gen === generation) loading = false;
      render();
    }
    // Fill the screen.
    if (cursor && sentinel.getBoundingClientRect().top < scroller.getBoundingClientRect().bottom + 200) void load(false);
  }

  /** Reloads everything shown (as many rows as are on screen), keeping the scroll. */
  async function refresh() {
    const gen = ++generation;
    const want = Math.max(PAGE, rows.length);
    let got: RegistryRow[] = [];
    let next: Cursor | null = null;
    do {
      const page = await registryPage(filter, sort, next, Math.min(500, want - got.length));
      if (gen !== generation) return;
      got = got.concat(page.rows);
      next = page.next;
    } while (next && got.length < want);
    rows = got;
    cursor = next;
    render();
  }

  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && cursor) void load(false);
  }, { root: scroller, rootMargin: "300px" });
  observer.observe(sentinel);

  const searchNow = debounce(() => {
    filter = { ...filter, text: search.value };
    void load(true);
  }, 250);
  search.addEventListener("input", searchNow);
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      filter = { ...filter, text: search.value };
      void load(true);
    }
    if (e.key === "Escape" && search.value) {
      e.stopPropagation();
      search.value = "";
      filter = { ...filter, text: "" };
      void load(true);
    }
  });
  clear.addEventListener("click", () => {
    search.value = "";
    filter = { ...filter, text: "" };
    void load(true);
    search.focus();
  });
  for (const b of typeToggles) {
    b.addEventListener("click", () => {
      const ty = b.dataset.type as AppealType;
      const shown = shownTypes();
      const next = shown.includes(ty) ? shown.filter((x) => x !== ty) : [...shown, ty];
      if (next.length === 0) return ctx.toast(t.registry.lastType, "error");
      filter = { ...filter, types: next.length === TYPES.length ? [] : TYPES.filter((x) => next.includes(x)) };
      syncTypes();
      void load(true);
    });
  }
  for (const [b, q] of [
    [quickSoon, "deadlineSoon"],
    [quickNotified, "executorNotNotified"],
  ] as const) {
    b.addEventListener("click", () => {
      filter = { ...filter, quick: filter.quick === q ? null : q };
      quickSoon.setAttribute("aria-pressed", String(filter.quick === "deadlineSoon"));
      quickNotified.setAttribute("aria-pressed", String(filter.quick === "executorNotNotified"));
      void load(true);
    });
  }
  filterButton.addEventListener("click", () => void toggleFilterPanel());
  tbody.addEventListener("click", (e) => {
    const target = e.target as HTMLElement;
    const tr = target.closest("tr");
    const row = rows.find((r) => r.id === tr?.dataset.id);
    if (target.closest("button.call")) {
      // A ☎ button (disabled, when the line is down): never opens the card under it.
      return;
    } else if (target.classList.contains("rec") && target.dataset.id) {
      void playFirst(target.dataset.id);
    } else if (target.classList.contains("pick") && target.dataset.id) {
      const box = target as HTMLInputElement;
      if (box.checked) picked.add(target.dataset.id);
      else picked.delete(target.dataset.id);
      printPicked.disabled = picked.size === 0;
      printPicked.textContent = picked.size ? `Печать выбранных (${picked.size})` : "Печать выбранных";
    } else if (target.classList.contains("print") && target.dataset.id) {
      void print([target.dataset.id]);
    } else if (target.classList.contains("exec-link") && target.dataset.id) {
      void showExecutor(target.dataset.id);
    } else if (target.classList.contains("joined") && row) {
      void showGroup(row);
    } else if (target.classList.contains("att") && tr?.dataset.id) {
      const kind = target.dataset.kind ?? "";
      if (MEDIA_KINDS.includes(kind)) void showMedia(tr.dataset.id, kind);
      else ctx.openCard(tr.dataset.id, { tab: "files" });
    } else if (tr?.dataset.id) {
      ctx.openCard(tr.dataset.id);
    }
  });
  // The history tooltip: registration, assignments and status changes, read when the
  // pointer rests on the row's ℹ.
  const tip = h("div", { class: "history-tip hidden", id: "history-tip", role: "tooltip" });
  el.appendChild(tip);
  let tipFor = "";
  tbody.addEventListener("mouseover", (e) => {
    const icon = (e.target as HTMLElement).closest<HTMLElement>(".icon.history");
    const id = icon?.dataset.id;
    if (!icon || !id || tipFor === id) return;
    tipFor = id;
    icon.removeAttribute("title");
    const at = icon.getBoundingClientRect();
    const below = at.bottom + 200 < window.innerHeight;
    tip.style.left = `${Math.max(8, at.right - 420)}px`;
    tip.style.top = below ? `${at.bottom + 4}px` : "";
    tip.style.bottom = below ? "" : `${window.innerHeight - at.top + 4}px`;
    tip.textContent = t.registry.loading;
    tip.classList.remove("hidden");
    void appealHistory(id).then(
      (hist) => {
        if (tipFor !== id) return;
        const lines = hist
          .filter((x) => x.action === "status" || x.action === "created" || x.action === "assigned")
          .map((x) => `${fmtDateTime(x.at)} — ${x.text} (${x.actorName ?? x.actor})`);
        tip.textContent = lines.join("\n") || "изменений статуса не было";
      },
      (err: CommandError) => {
        if (tipFor === id) tip.textContent = err.message;
      },
    );
  });
  tbody.addEventListener("mouseout", (e) => {
    if (!(e.target as HTMLElement).closest(".icon.history")) return;
    tipFor = "";
    tip.classList.add("hidden");
  });

  const popup = (title: string, ...content: HTMLElement[]) => {
    const close = () => overlay.remove();
    const overlay = h(
      "div",
      { class: "card-overlay", id: "registry-popup", onclick: (e: Event) => e.target === overlay && close() },
      h("div", { class: "dialog popup" }, h("h3", null, title), ...content, h("button", { onclick: close }, "Закрыть")),
    );
    document.body.appendChild(overlay);
    return overlay;
  };
  async function print(ids: string[]) {
    try {
      ctx.toast(`Сохранено для печати: ${await printCards(ids)}`);
    } catch (e) {
      ctx.toast((e as CommandError).message, "error");
    }
  }
  printPicked.addEventListener("click", () => void print([...picked]));

  /** The ♪ icon: the appeal's first recorded conversation. */
  async function playFirst(id: string) {
    try {
      const first = (await appealCalls(id)).find((c) => c.recordingCodec);
      if (!first) return ctx.toast(t.recordings.noRecordings);
      const row = rows.find((r) => r.id === id);
      const box = await player(first.id, callSeconds(first));
      popup(
        `${t.recordings.firstRecording}${row ? " · " + row.number : ""}`,
        h("p", { class: "muted" }, `${fmtDateTime(first.startedAt)} · ${first.fromNumber} → ${first.toNumber}`),
        box,
      ).id = "recording-popup";
    } catch (e) {
      ctx.toast((e as CommandError).message, "error");
    }
  }

  /** A photo, film or voice message icon: the appeal's files of that kind, shown in place. */
  async function showMedia(id: string, kind: string) {
    try {
      const files = (await attachments(id)).filter((f) => f.mime.startsWith(`${kind}/`));
      if (files.length === 0) return ctx.openCard(id, { tab: "files" });
      const row = rows.find((r) => r.id === id);
      const shown = await Promise.all(
        files.slice(0, 6).map(async (f) => h("figure", { class: "media" }, await mediaPreview(f.id, f.mime), h("figcaption", { class: "muted" }, f.fileName))),
      );
      const overlay = popup(
        `${t.registry.attachmentShow[kind as MediaKind]}${row ? " · " + row.number : ""}`,
        ...shown,
        h("button", { class: "link", onclick: () => { overlay.remove(); ctx.openCard(id, { tab: "files" }); } }, t.registry.attachmentFiles),
      );
      overlay.id = "media-popup";
    } catch (e) {
      ctx.toast((e as CommandError).message, "error");
    }
  }

  async function showExecutor(id: string) {
    const all = await contacts();
    const e = all.find((c) => c.id === id);
    if (!e) return;
    const box = h("div", { class: "executor-appeals" });
    popup(e.fullName, box);
    await openExecutor(ctx, box, e);
  }
  async function showGroup(r: RegistryRow) {
    const group = await joinedGroup(r.id);
    const overlay = popup(
      `${t.registry.joined}: ${group.length}`,
      h(
        "ul",
        { class: "mini-rows" },
        ...group.map((a) =>
          h(
            "li",
            null,
            h("button", { class: "link", onclick: () => { overlay.remove(); ctx.openCard(a.id); } }, a.number),
            ` ${fmtDateTime(a.receivedAt)} · ${a.applicantName || a.identifier} · ${statusLabel[a.status]}`,
          ),
        ),
      ),
    );
  }
  tbody.addEventListener("keydown", (e) => {
    const tr = (e.target as HTMLElement).closest("tr");
    if (e.key === "Enter" && tr?.dataset.id) ctx.openCard(tr.dataset.id);
    if (e.key === "ArrowDown") (tr?.nextElementSibling as HTMLElement | null)?.focus();
    if (e.key === "ArrowUp") (tr?.previousElementSibling as HTMLElement | null)?.focus();
  });

  async function toggleFilterPanel() {
    if (!panel.classList.contains("hidden")) {
      panel.classList.add("hidden");
      return;
    }
    const [orgs, kinds, people] = await Promise.all([organizations(), searchKinds(""), contacts()]);
    const multi = (id: string, options: { id: string; name: string }[], chosen: string[]) =>
      h("select", { id, multiple: true, size: 6 }, ...options.map((o) => h("option", { value: o.id, selected: chosen.includes(o.id) }, o.name)));
    const kindSelect = multi("filter-kinds", kinds.map((k) => ({ id: k.id, name: k.name })), filter.kindIds);
    const executorSelect = multi("filter-executors", people.map((c) => ({ id: c.id, name: `${c.fullName} (${c.position})` })), filter.executorIds);
    const picked = (sel: HTMLSelectElement) => [...sel.selectedOptions].map((o) => o.value);
    const checks = <T extends string>(name: string, values: readonly T[], labels: Record<T, string>, chosen: T[]) =>
      h(
        "fieldset",
        null,
        h("legend", null, name),
        ...values.map((v) =>
          h("label", { class: "check" }, h("input", { type: "checkbox", value: v, checked: chosen.includes(v), dataset: { group: name } }), labels[v]),
        ),
      );
    const orgLabels = Object.fromEntries(orgs.map((o) => [o.id, o.name])) as Record<string, string>;
    const from = h("input", { type: "date", id: "filter-from", value: filter.receivedFrom?.slice(0, 10) ?? "" });
    const to = h("input", { type: "date", id: "filter-to", value: filter.receivedTo?.slice(0, 10) ?? "" });
    const name = h("input", { id: "template-name", placeholder: t.registry.templateName });
    const shared = h("input", { type: "checkbox", id: "template-shared" });
    const canShare = ctx.me.role === "supervisor" || ctx.me.role === "admin";
    const read = (group: string) =>
      [...panel.querySelectorAll<HTMLInputElement>(`input[data-group="${group}"]:checked`)].map((i) => i.value);
    const collect = (): RegistryFilter => ({
      ...filter,
      types: read("Тип") as AppealType[],
      statuses: read("Статус") as AppealStatus[],
      organizationIds: read("Организация"),
      kindIds: picked(kindSelect),
      executorIds: picked(executorSelect),
      receivedFrom: from.value ? new Date(from.value + "T00:00").toISOString() : null,
      receivedTo: to.value ? new Date(new Date(to.value + "T00:00").getTime() + 86_400_000).toISOString() : null,
    });
    replace(
      panel,
      h(
        "div",
        { class: "filter-grid" },
        checks("Тип", TYPES, typeLabel, filter.types),
        checks("Статус", STATUSES, statusLabel, filter.statuses),
        checks("Организация", orgs.map((o) => o.id), orgLabels, filter.organizationIds),
        h("fieldset", null, h("legend", null, "Вид обращения"), kindSelect),
        h("fieldset", null, h("legend", null, "Исполнитель"), executorSelect),
        h("fieldset", null, h("legend", null, "Дата обращения"), h("label", null, t.registry.from, from), h("label", null, t.registry.to, to)),
      ),
      h(
        "div",
        { class: "filter-actions" },
        h("button", { class: "primary", id: "filter-apply", onclick: () => {
          filter = collect();
          syncTypes();
          panel.classList.add("hidden");
          void load(true);
        } }, t.registry.apply),
        h("button", { id: "filter-reset", onclick: () => {
          filter = { ...emptyFilter(), text: filter.text };
          syncTypes();
          panel.classList.add("hidden");
          void load(true);
        } }, t.registry.reset),
        h("span", { class: "spacer" }),
        name,
        canShare ? h("label", { class: "check" }, shared, t.registry.shared) : null,
        h("button", { id: "template-save", onclick: async () => {
          try {
            await saveTemplate({ id: uuidv7(), owner: "", name: name.value, shared: shared.checked, filter: collect(), position: 0 });
            ctx.toast(`Шаблон «${name.value}» сохранён на рабочем столе`);
            name.value = "";
          } catch (e) {
            ctx.toast((e as CommandError).message, "error");
          }
        } }, t.registry.saveTemplate),
      ),
    );
    panel.classList.remove("hidden");
  }

  // Live changes show within a second however many come (a debounce would wait for a pause
  // that a busy center never makes).
  const changed = throttle(() => void refresh(), 700);
  const unlisten = [onAppealChanged(() => changed()), onResync(() => changed())];
  // A stored call of ours may give a row its ♪.
  const unsubscribeCalls = onCallSaved(() => changed());
  void load(true);
  search.focus();
  return () => {
    observer.disconnect();
    generation++;
    unlisten.forEach((p) => void p.then((f) => f()));
    unsubscribeCalls();
  };
}
