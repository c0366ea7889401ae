// The registry's filter bar (the operator manual, «Реестр обращений граждан»): the type toggles,
// the quick filters, the quick search (F3), and the advanced filter panel, whose filter can be
// saved as a template of the desktop.
import type { CommandError } from "../../api/core";
import { contacts, organizations, searchKinds } from "../../api/directory";
import { emptyFilter, saveTemplate } from "../../api/registry";
import type { AppealStatus } from "../../generated/AppealStatus";
import type { AppealType } from "../../generated/AppealType";
import type { RegistryFilter } from "../../generated/RegistryFilter";
import type { AppContext } from "../../lib/app";
import { debounce, h, replace, uuidv7 } from "../../lib/h";
import { statusLabel, t, typeLabel } from "../../lib/i18n";
import { shownTypes, STATUSES, TYPES, type RegistryState } from "./state";

export interface FilterBar {
  /** The toolbar's controls, in order: the type toggles, the quick filters, the search, the filter button. */
  controls: HTMLElement[];
  /** The advanced filter, hidden until the filter button opens it. */
  panel: HTMLElement;
  /** The quick search's input. */
  search: HTMLInputElement;
}

/** Builds the bar over `state.filter`; every change of the filter calls `reload`. */
export function filterBar(ctx: AppContext, state: RegistryState, reload: () => void): FilterBar {
  const search = h("input", {
    id: "registry-search",
    type: "search",
    placeholder: t.registry.search,
    value: state.filter.text,
    autocomplete: "off",
  });
  const clear = h("button", { id: "registry-clear", class: "icon", title: t.registry.clear, type: "button" }, "✕");
  // The type buttons hide their type (manual §5 "Как найти…": press жалоба, справка and заявка
  // and only аварии stay). A filter that names no type shows them all.
  const typeToggles = TYPES.map((ty) =>
    h("button", { class: `toggle type-toggle type-${ty}`, dataset: { type: ty } }, typeLabel[ty]),
  );
  const syncTypes = () =>
    typeToggles.forEach((b) => {
      const ty = b.dataset.type as AppealType;
      const hidden = !shownTypes(state).includes(ty);
      b.setAttribute("aria-pressed", String(hidden));
      b.title = `${hidden ? t.registry.showType : t.registry.hideType}: ${typeLabel[ty]}`;
    });
  syncTypes();
  const quickSoon = h("button", { id: "quick-deadline", class: "toggle quick", "aria-pressed": String(state.filter.quick === "deadlineSoon") }, t.registry.deadlineSoon);
  const quickNotified = h(
    "button",
    { id: "quick-unnotified", class: "toggle quick", "aria-pressed": String(state.filter.quick === "executorNotNotified") },
    t.registry.notNotified,
  );
  const filterButton = h("button", { id: "registry-filter", type: "button" }, t.registry.filter);
  const panel = h("div", { class: "filter-panel hidden", id: "filter-panel" });

  /** Sets the search text and reads the list again. */
  const searchFor = (text: string) => {
    state.filter = { ...state.filter, text };
    reload();
  };
  const searchNow = debounce(() => searchFor(search.value), 250);
  search.addEventListener("input", searchNow);
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") searchFor(search.value);
    if (e.key === "Escape" && search.value) {
      e.stopPropagation();
      search.value = "";
      searchFor("");
    }
  });
  clear.addEventListener("click", () => {
    search.value = "";
    searchFor("");
    search.focus();
  });
  for (const b of typeToggles) {
    b.addEventListener("click", () => {
      const ty = b.dataset.type as AppealType;
      const shown = shownTypes(state);
      const next = shown.includes(ty) ? shown.filter((x) => x !== ty) : [...shown, ty];
      if (next.length === 0) return ctx.toast(t.registry.lastType, "error");
      state.filter = { ...state.filter, types: next.length === TYPES.length ? [] : TYPES.filter((x) => next.includes(x)) };
      syncTypes();
      reload();
    });
  }
  for (const [b, q] of [
    [quickSoon, "deadlineSoon"],
    [quickNotified, "executorNotNotified"],
  ] as const) {
    b.addEventListener("click", () => {
      state.filter = { ...state.filter, quick: state.filter.quick === q ? null : q };
      quickSoon.setAttribute("aria-pressed", String(state.filter.quick === "deadlineSoon"));
      quickNotified.setAttribute("aria-pressed", String(state.filter.quick === "executorNotNotified"));
      reload();
    });
  }
  filterButton.addEventListener("click", () => void toggleFilterPanel());

  /** Opens the advanced filter over the directories (organizations, kinds, executors) as they
   * are now, or closes it. */
  async function toggleFilterPanel() {
    if (!panel.classList.contains("hidden")) {
      panel.classList.add("hidden");
      return;
    }
    const [orgs, kinds, people] = await Promise.all([organizations(), searchKinds(""), contacts()]);
    const filter = state.filter;
    const groups = t.registry.filterGroups;
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
      ...state.filter,
      types: read(groups.type) as AppealType[],
      statuses: read(groups.status) as AppealStatus[],
      organizationIds: read(groups.organization),
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
        checks(groups.type, TYPES, typeLabel, filter.types),
        checks(groups.status, STATUSES, statusLabel, filter.statuses),
        checks(groups.organization, orgs.map((o) => o.id), orgLabels, filter.organizationIds),
        h("fieldset", null, h("legend", null, groups.kind), kindSelect),
        h("fieldset", null, h("legend", null, groups.executor), executorSelect),
        h("fieldset", null, h("legend", null, groups.received), h("label", null, t.registry.from, from), h("label", null, t.registry.to, to)),
      ),
      h(
        "div",
        { class: "filter-actions" },
        h("button", { class: "primary", id: "filter-apply", onclick: () => {
          state.filter = collect();
          syncTypes();
          panel.classList.add("hidden");
          reload();
        } }, t.registry.apply),
        h("button", { id: "filter-reset", onclick: () => {
          state.filter = { ...emptyFilter(), text: state.filter.text };
          syncTypes();
          panel.classList.add("hidden");
          reload();
        } }, t.registry.reset),
        h("span", { class: "spacer" }),
        name,
        canShare ? h("label", { class: "check" }, shared, t.registry.shared) : null,
        h("button", { id: "template-save", onclick: async () => {
          try {
            await saveTemplate({ id: uuidv7(), owner: "", name: name.value, shared: shared.checked, filter: collect(), position: 0 });
            ctx.toast(t.registry.templateSaved(name.value));
            name.value = "";
          } catch (e) {
            ctx.toast((e as CommandError).message, "error");
          }
        } }, t.registry.saveTemplate),
      ),
    );
    panel.classList.remove("hidden");
  }

  return {
    controls: [
      h("div", { class: "group" }, ...typeToggles),
      h("div", { class: "group" }, quickSoon, quickNotified),
      h("div", { class: "search" }, search, clear),
      filterButton,
    ],
    panel,
    search,
  };
}
