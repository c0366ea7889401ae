// The appeal card (the operator manual, «Карточка обращения»): the general part, one or more
// reasons, required fields in red, the join suggestion, and the tabs. From a call to «в работе»
// in one card: choose the executor, press their ☎ (the card saves the assignment first and
// stays open), talk, and move the status on once the call is recorded.
import * as api from "../../api/appeals";
import { onAppealChanged, onResync, type CommandError } from "../../api/core";
import { phoneLinkCall } from "../../api/phone";
import type { Appeal } from "../../generated/Appeal";
import type { NewFile } from "../../generated/NewFile";
import type { AppContext, CardPrefill } from "../../lib/app";
import { h, replace } from "../../lib/h";
import { statusLabel, t, typeLabel } from "../../lib/i18n";
import { dial, onCallSaved } from "../../lib/phone";
import { generalPart } from "./general";
import { cardShell } from "./lifecycle";
import { reasonBlock, type ReasonBlock } from "./reason";
import { renderTabs, type TabsUi } from "./tabs";

/** Errors after which a save is tried again by itself. */
const UNAVAILABLE = ["connectionLost", "serverFull", "serverRestarting", "busy", "unreachable"];
const RETRY_MS = 5000;

/** An open card. */
export interface CardHandle {
  /** Closes the card at once, whatever it holds (after a save, at logout). */
  close(): void;
  /** Closes the card; if something typed in it is not saved, first asks whether to throw it
   * away. Resolves to whether the card closed. */
  leave(): Promise<boolean>;
}

/** Opens the card as a panel over the current view: `id` null for a new appeal. */
export function openCard(ctx: AppContext, id: string | null, prefill?: CardPrefill): CardHandle {
  // The save (Ctrl+S) of the card as it is rendered now.
  let save: (stay: boolean, reasonId?: string) => Promise<Appeal | null> = async () => null;
  const shell = cardShell(() => void save(false));
  const { panel } = shell;
  // The appeal shown (null until a new card is first saved).
  let appeal: Appeal | null = null;
  let saving = false;
  // A save that waits for the server to come back (the card and what is typed stay).
  let retry = 0;
  // Files chosen in a new card, stored with the appeal.
  const pending: NewFile[] = [];
  let tabsUi: TabsUi | null = null;
  let changedElsewhere: (version: number) => void = () => {};
  let stopRender: () => void = () => {};
  shell.onClose(() => {
    window.clearTimeout(retry);
    stopRender();
  });
  shell.onClose(onCallSaved(() => tabsUi?.refreshCalls()));

  // Changes others make to the appeal shown (LISTEN/NOTIFY through the app).
  let watching: string | null = null;
  const watch = (appealId: string) => {
    if (watching === appealId) return;
    watching = appealId;
    const subscriptions = [
      onAppealChanged((e) => {
        if (!shell.isClosed() && !saving && e.id === watching && e.version != null) changedElsewhere(e.version);
      }),
      // Changes may have been missed (the connection dropped): read the appeal again.
      onResync(() => {
        if (!shell.isClosed() && !saving && watching) void api.getAppeal(watching).then((a) => changedElsewhere(a.version), () => {});
      }),
    ];
    void Promise.all(subscriptions).then((stops) => shell.onClose(() => stops.forEach((f) => f())));
  };

  const render = (shown: Appeal | null) => {
    stopRender();
    appeal = shown;
    if (shown) watch(shown.id);
    const message = h("div", { class: "form-error", id: "card-error", role: "alert" });
    const reasons: ReasonBlock[] = [];
    const reasonsEl = h("div", { class: "reasons" });
    const tabs = h("div", { class: "card-tabs" });
    const general = generalPart(shown, shown ? undefined : prefill, (identifier) => tabsUi?.setWhere({ identifier }));
    stopRender = general.stop;

    // ☎ of a chosen executor: the rules want the assignment saved before the call, so the card
    // saves first (when it must) and stays open for the talk and «в работе».
    const callExecutor = async (reasonId: string, executorId: string, number: string) => {
      if (saving) return;
      let about = appeal;
      const assigned = about?.id === reasonId && about.executors.some((e) => e.executorId === executorId);
      if (!about || about.id !== reasonId || !assigned || shell.dirty) {
        about = await save(true, reasonId);
        if (!about) return;
      }
      await dial(number, about.id, executorId);
    };
    const addReason = (existing: Appeal | null) => {
      const block = reasonBlock(existing, {
        remove: () => {
          if (reasons.length > 1) {
            reasons.splice(reasons.indexOf(block), 1);
            block.el.remove();
          }
        },
        onBuilding: (b) => tabsUi?.setWhere({ buildingId: b?.id ?? null, organizationId: b?.organizationId ?? null }),
        callExecutor: (r, e, n) => void callExecutor(r, e, n),
      });
      reasons.push(block);
      reasonsEl.appendChild(block.el);
      return block;
    };
    const first = addReason(shown);

    /** Saves the card. `stay`: the card stays open on what was saved (`reasonId` names which
     * of a new card's appeals). Resolves to the saved appeal, or null when nothing was saved. */
    save = async (stay: boolean, reasonId?: string): Promise<Appeal | null> => {
      window.clearTimeout(retry);
      message.textContent = "";
      let ok = general.validate();
      for (const r of reasons) ok = r.validate() && ok;
      if (!ok) {
        message.textContent = t.card.required;
        (panel.querySelector(".invalid input, input.invalid") as HTMLElement | null)?.focus();
        return null;
      }
      const g = general.values();
      saving = true;
      try {
        let saved: Appeal;
        if (!shown) {
          const made = await api.createAppeals({
            receivedAt: g.receivedAt,
            channel: g.channel,
            identifier: g.identifier,
            applicantName: g.applicantName,
            contacts: g.contacts,
            status: g.status === "done" ? "done" : null,
            reasons: reasons.map((r, i) => ({
              id: r.id,
              buildingId: r.building()?.id ?? null,
              kindId: r.kind()?.id ?? null,
              executorIds: [...r.executors],
              joinTo: r.joinTo,
              // The files chosen before the first save go with the first appeal.
              attachments: i === 0 ? pending : [],
              ...r.values(),
            })),
          });
          ctx.toast(`${t.card.registered}: ${made.map((a) => a.number).join(", ")}`);
          pending.length = 0;
          if (prefill?.callId && made[0]) {
            // The call that opened the card belongs to the (first) appeal it made.
            await phoneLinkCall(prefill.callId, made[0].id).catch((e: CommandError) => ctx.toast(e.message, "error"));
          }
          saved = made.find((a) => a.id === reasonId) ?? made[0];
        } else {
          const r = first;
          saved = await api.saveAppeal(shown.id, shown.version, {
            receivedAt: g.receivedAt,
            channel: g.channel,
            identifier: g.identifier,
            applicantName: g.applicantName,
            contacts: g.contacts,
            buildingId: r.building()?.id ?? null,
            kindId: r.kind()?.id ?? shown.kindId,
            executorIds: [...r.executors],
            joinedTo: r.joinTo,
            status: g.status,
            ...r.values(),
          });
          ctx.toast(`${t.card.saved}: ${saved.number}`);
        }
        shell.dirty = false;
        if (stay) render(saved);
        else shell.close();
        return saved;
      } catch (e) {
        const err = e as CommandError;
        message.textContent = err.message;
        message.dataset.kind = err.kind;
        // The server is away or busy: the same card (with the same ids, so never twice) is
        // saved again by itself until it goes through or the operator closes the card.
        if (UNAVAILABLE.includes(err.kind)) {
          message.textContent = `${err.message}. ${t.card.willRetry}`;
          retry = window.setTimeout(() => {
            if (!shell.isClosed() && !saving) void save(stay, reasonId);
          }, RETRY_MS);
        }
        general.markField(err.field);
        // The conflict names its appeal: this card's is reloaded; another (a new card whose
        // ids were registered differently, one of several reasons) is opened.
        const other = err.kind === "conflict" && err.appeal && err.appeal.id !== shown?.id ? err.appeal : null;
        if (other) {
          message.appendChild(h("button", { class: "link", id: "card-conflict-open", onclick: () => ctx.openCard(other.id) }, " " + t.card.conflictOpen(other.number)));
        } else if (err.kind === "conflict" && shown) {
          message.appendChild(h("button", { class: "link", onclick: () => void reload() }, " " + t.card.conflictReload));
        }
        return null;
      } finally {
        saving = false;
      }
    };
    // Someone else saved this appeal meanwhile (a recorded call to the executor does too): an
    // untouched card shows the new version at once; one with edits says so and offers to
    // reload (saving would be refused as a conflict).
    changedElsewhere = (version) => {
      if (!appeal || version <= appeal.version) return;
      if (!shell.dirty) {
        ctx.toast(t.card.reloadedElsewhere);
        void reload();
        return;
      }
      message.textContent = t.card.changedElsewhere;
      message.dataset.kind = "conflict";
      message.appendChild(h("button", { class: "link", onclick: () => void reload() }, " " + t.card.conflictReload));
    };

    const header = h(
      "header",
      { class: "card-header" },
      h("h2", null, shown ? `${t.card.titleOf} ${shown.number}` : t.card.titleNew),
      shown ? h("span", { class: `type-badge type-${shown.appealType}` }, typeLabel[shown.appealType]) : null,
      shown ? h("span", { class: "muted", id: "card-status-now" }, `${statusLabel[shown.status]} · ${shown.progress}%`) : null,
      h("span", { class: "spacer" }),
      shown
        ? h("button", { class: "icon", id: "card-print", title: t.card.print, onclick: () => void api.printCards([shown.id]).then((p) => ctx.toast(`${t.card.printed}: ${p}`), (e: CommandError) => ctx.toast(e.message, "error")) }, `▣ ${t.card.printShort}`)
        : null,
      h("button", { id: "card-close", class: "icon", title: `${t.card.close} (Esc)`, onclick: () => void shell.leave() }, "✕"),
    );
    const actions = h(
      "footer",
      { class: "card-actions" },
      message,
      !shown ? h("button", { id: "card-add-reason", type: "button", onclick: () => addReason(null).el.querySelector("input")?.focus() }, `+ ${t.card.addReason}`) : null,
      h("button", { id: "card-save", class: "primary", onclick: () => void save(false) }, `${t.card.save} (Ctrl+S)`),
    );
    replace(panel, header, h("div", { class: "card-body" }, h("div", { class: "card-main" }, general.section, h("h3", null, t.card.reason), reasonsEl, general.meta, actions), tabs));
    shell.dirty = false;
    if (ctx.me.role === "manager") {
      // A housing company's manager reads the card; the database would refuse their changes.
      panel.querySelectorAll<HTMLInputElement>(".card-main input, .card-main select, .card-main textarea, .card-main button").forEach((c) => (c.disabled = true));
      replace(actions, h("span", { class: "muted", id: "card-read-only" }, t.card.readOnly));
    }
    const b = first.building();
    tabsUi = renderTabs(
      tabs,
      ctx,
      shown,
      { buildingId: b?.id ?? null, identifier: general.values().identifier, organizationId: b?.organizationId ?? shown?.organizationId ?? null },
      prefill?.tab ?? "problems",
      pending,
    );
    // A card opened by a call has the number already: start at the applicant's name.
    general.focus();
  };

  const reload = async () => {
    const shownId = appeal?.id ?? id;
    if (!shownId) return render(null);
    try {
      render(await api.getAppeal(shownId));
    } catch (e) {
      ctx.toast((e as CommandError).message, "error");
      shell.close();
    }
  };
  void reload();
  return { close: shell.close, leave: shell.leave };
}
