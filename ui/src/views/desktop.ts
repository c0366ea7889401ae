// The desktop (the operator manual, «Рабочий стол пользователя»): the person's saved filter templates and the shared ones,
// each with its live count; a click opens the registry with that filter.
import { onAppealChanged, onResync, type CommandError } from "../api/core";
import { deleteTemplate, registryPage, templates } from "../api/registry";
import type { TemplateCount } from "../generated/TemplateCount";
import type { AppContext } from "../lib/app";
import { fmtDateTime, h, replace, throttle } from "../lib/h";
import { t } from "../lib/i18n";

export function mountDesktop(root: HTMLElement, ctx: AppContext): () => void {
  const list = h("div", { class: "templates", id: "templates" });
  root.replaceChildren(
    h(
      "section",
      { class: "desktop" },
      h("h2", null, t.desktop.hello(ctx.me.fullName)),
      h("p", { class: "muted" }, t.desktop.hint),
      list,
      h("button", { id: "open-registry", class: "primary", onclick: () => ctx.navigate({ name: "registry" }) }, t.desktop.openRegistry),
    ),
  );
  const tile = (tc: TemplateCount) => {
    const n = tc.count > 10_000 ? "10 000+" : String(tc.count);
    // The newest few appeals of the template, each opening its card.
    const list = h("ul", { class: "template-list" });
    void registryPage(tc.template.filter, "receivedDesc", null, 5).then((p) =>
      replace(
        list,
        p.rows.map((r) =>
          h(
            "li",
            null,
            h("button", { class: "link", onclick: () => ctx.openCard(r.id) }, r.number),
            h("span", { class: r.overdue ? "overdue-label" : "muted" }, ` ${fmtDateTime(r.receivedAt)}`),
            h("div", { class: "muted" }, `${r.kindName}${r.address ? " · " + r.address : ""}`),
          ),
        ),
      ),
    );
    return h(
      "div",
      { class: "template", dataset: { id: tc.template.id } },
      h(
        "button",
        {
          class: "template-open",
          onclick: () => ctx.navigate({ name: "registry", filter: tc.template.filter, title: tc.template.name }),
        },
        h("span", { class: "template-name" }, tc.template.name),
        h("span", { class: "template-count" }, n),
        h("span", { class: "muted" }, `${t.desktop.appeals(tc.count)}${tc.template.shared ? t.desktop.shared : ""}`),
      ),
      list,
      tc.template.owner === ctx.me.login
        ? h("button", { class: "icon", title: t.desktop.deleteTemplate, onclick: async () => {
            await deleteTemplate(tc.template.id).catch((e: CommandError) => ctx.toast(e.message, "error"));
            void load();
          } }, "✕")
        : null,
    );
  };
  const load = async () => {
    try {
      const ts = await templates();
      replace(list, ts.length ? ts.map(tile) : h("p", { class: "muted" }, t.desktop.noTemplates));
    } catch (e) {
      ctx.toast((e as CommandError).message, "error");
    }
  };
  void load();
  const refresh = throttle(() => void load(), 1000);
  const unlisten = [onAppealChanged(() => refresh()), onResync(() => refresh())];
  return () => unlisten.forEach((p) => void p.then((f) => f()));
}
