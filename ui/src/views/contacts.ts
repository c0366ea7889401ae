// Contacts (the operator manual, «Как сделать…», «Как позвонить исполнителю»): executors with their phones
// and the number of appeals in their work; a click opens those appeals, several of which can
// be marked done at once.
import { changeStatusMany } from "../api/appeals";
import type { CommandError } from "../api/core";
import { contacts, executorAppeals } from "../api/directory";
import type { Executor } from "../generated/Executor";
import type { AppContext } from "../lib/app";
import { fmtDateTime, h, replace } from "../lib/h";
import { statusLabel, t } from "../lib/i18n";
import { callButton } from "../lib/phone";

/** An executor's phones, each with its ☎ button. */
export function executorPhones(e: Pick<Executor, "id" | "phones">, appealId?: string | null): HTMLElement[] {
  return e.phones.map((p) =>
    h("span", { class: "phone" }, p, " ", callButton({ number: p, executorId: e.id, appealId, class: "call-executor" })),
  );
}

export function mountContacts(root: HTMLElement, ctx: AppContext): () => void {
  const filter = h("input", { id: "contacts-filter", type: "search", placeholder: t.contacts.filter });
  const tbody = h("tbody", { id: "contacts-rows" });
  const side = h("div", { class: "executor-appeals", id: "executor-appeals" });
  root.replaceChildren(
    h(
      "section",
      { class: "contacts" },
      h("div", { class: "toolbar" }, h("strong", null, t.contacts.title), filter),
      h("div", { class: "split" }, h("table", { class: "registry" }, h("thead", null, h("tr", null, ...t.contacts.columns.map((c) => h("th", null, c)), h("th", null, t.contacts.inWork))), tbody), side),
    ),
  );
  let all: Awaited<ReturnType<typeof contacts>> = [];
  const render = () => {
    const q = filter.value.trim().toLowerCase();
    replace(
      tbody,
      all
        .filter((c) => !q || `${c.fullName} ${c.position} ${c.phones.join(" ")}`.toLowerCase().includes(q))
        .map((c) =>
          h(
            "tr",
            { dataset: { id: c.id }, tabIndex: 0, onclick: () => void openExecutor(ctx, side, c) },
            h("td", null, c.fullName),
            h("td", null, c.position),
            h("td", { class: "c-phones" }, executorPhones(c)),
            h("td", null, c.organizationName),
            h("td", { class: "num" }, String(c.inWork)),
          ),
        ),
    );
  };
  filter.addEventListener("input", render);
  void contacts().then((c) => {
    all = c;
    render();
  });
  filter.focus();
  return () => {};
}

/** An executor's appeals in work (also opened by an incoming call from the executor). */
export async function openExecutor(ctx: AppContext, root: HTMLElement, e: Executor): Promise<void> {
  const rows = await executorAppeals(e.id);
  const chosen = new Map<string, number>();
  const done = h("button", { id: "mark-done", class: "primary mark-done", disabled: true }, t.contacts.markDone);
  const all = h("input", { type: "checkbox", class: "select-all" });
  done.addEventListener("click", async () => {
    try {
      await changeStatusMany([...chosen].map(([id, version]) => ({ id, version })), "done");
      ctx.toast(t.contacts.markedDone(chosen.size));
      void openExecutor(ctx, root, e);
    } catch (err) {
      const failure = err as CommandError;
      if (failure.kind !== "conflict" || !failure.appeal) {
        ctx.toast(failure.message, "error");
        return;
      }
      // Nothing was marked: the list is read again, with the appeal someone else changed shown.
      const { id, number } = failure.appeal;
      ctx.toast(t.contacts.conflicted(number), "error");
      await openExecutor(ctx, root, e);
      root.querySelector(`li[data-id="${id}"]`)?.classList.add("conflicted");
    }
  });
  const closable = rows.filter((r) => r.status === "inWork");
  all.disabled = closable.length === 0;
  all.addEventListener("change", () => {
    root.querySelectorAll<HTMLInputElement>("input.pick-done:not(:disabled)").forEach((b) => {
      b.checked = all.checked;
      b.dispatchEvent(new Event("change"));
    });
  });
  replace(
    root,
    h("h3", null, `${t.contacts.appealsOf}: ${e.fullName}`),
    h("p", { class: "executor-phones" }, executorPhones(e)),
    rows.length === 0 ? h("p", { class: "muted" }, t.contacts.none) : h("label", { class: "check" }, all, t.phone.selectAll),
    h(
      "ul",
      { class: "mini-rows" },
      ...rows.map((r) => {
        const box = h("input", { type: "checkbox", class: "pick-done", dataset: { id: r.id }, disabled: r.status !== "inWork" });
        box.addEventListener("change", () => {
          if (box.checked) chosen.set(r.id, r.version);
          else chosen.delete(r.id);
          done.disabled = chosen.size === 0;
        });
        return h(
          "li",
          { dataset: { id: r.id, status: r.status } },
          h("label", { class: "check" }, box, h("button", { class: "link", onclick: () => ctx.openCard(r.id) }, r.number)),
          ` ${fmtDateTime(r.receivedAt)} · ${r.kindName} · ${statusLabel[r.status]}`,
          h("div", { class: "muted" }, r.address),
        );
      }),
    ),
    done,
  );
}
