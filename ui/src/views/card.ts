// The appeal card (the operator manual, «Карточка обращения», «Как сделать…»): general part, one or more reasons, required fields in red,
// the join suggestion, and the tabs проблемы, звонки, история, файлы, услуги, расписание.
import * as api from "../api/appeals";
import { onAppealChanged, onResync, type CommandError } from "../api/core";
import { executorsFor, prices, schedule, searchBuildings, searchKinds } from "../api/directory";
import { phoneLinkCall } from "../api/phone";
import type { Appeal } from "../generated/Appeal";
import type { AppealKind } from "../generated/AppealKind";
import type { AppealStatus } from "../generated/AppealStatus";
import type { Building } from "../generated/Building";
import type { Channel } from "../generated/Channel";
import type { Executor } from "../generated/Executor";
import type { Priority } from "../generated/Priority";
import type { RegistryRow } from "../generated/RegistryRow";
import type { AppContext, CardPrefill, CardTab } from "../lib/app";
import { autocomplete } from "../lib/autocomplete";
import { fmtDateTime, h, replace, toLocalInput, uuidv7 } from "../lib/h";
import { channelLabel, priorityLabel, statusLabel, t, typeLabel } from "../lib/i18n";
import { callButton, liveCalls, onCallSaved, syncCallButton, talkBar, talkSeconds } from "../lib/phone";
import { blobOf } from "../lib/player";
import { CHANNELS_WITHOUT_IDENTIFIER } from "../generated/labels";
import { callRow } from "./callRow";
import { live } from "./registry";

const CHANNELS: Channel[] = ["phone", "email", "letter", "website", "walkIn"];
const PRIORITIES: Priority[] = ["low", "medium", "critical"];
interface ReasonBlock {
  id: string;
  el: HTMLElement;
  building(): Building | null;
  kind(): AppealKind | null;
  executors: Set<string>;
  joinTo: string | null;
  validate(): boolean;
  values(): { apartment: string; entrance: string; floor: string; addressNote: string; comment: string; priority: Priority | null };
}

function select<T extends string>(id: string, values: readonly T[], labels: Record<T, string>, value: T | null): HTMLSelectElement {
  const s = h("select", { id }, ...values.map((v) => h("option", { value: v }, labels[v])));
  if (value) s.value = value;
  return s;
}

/** The appeal's clocks (Rules No. 416): localise by, resolve by, the next control, and when the
 * executor was told. A deadline that has passed on a live appeal is red. */
function deadlines(a: Appeal): HTMLElement | null {
  const now = Date.now();
  const clocks: [string, string | null, boolean][] = [
    [t.card.localizeBy, a.localizeDeadlineAt, true],
    [t.card.resolveBy, a.deadlineAt, true],
    [t.card.controlAt, a.controlAt, true],
    [t.card.notifiedAt, a.notifiedAt, false],
  ];
  const shown = clocks.filter(([, at]) => at);
  if (shown.length === 0) return null;
  return h(
    "div",
    { class: "deadlines", id: "card-deadlines" },
    ...shown.map(([label, at, deadline]) =>
      h("span", { class: deadline && live(a.status) && new Date(at ?? "").getTime() < now ? "late" : "" }, `${label}: ${fmtDateTime(at)}`),
    ),
  );
}

function field(label: string, control: HTMLElement, extra?: string): HTMLElement {
  return h("label", { class: `field ${extra ?? ""}` }, h("span", null, label), control);
}

/** Marks a field red until it is filled. */
function mark(el: HTMLElement, bad: boolean) {
  el.classList.toggle("invalid", bad);
  el.setAttribute("aria-invalid", String(bad));
}

/** An open card. */
export interface CardHandle {
  /** Closes the card at once, whatever it holds (after a save, at logout). */
  close(): void;
  /** Closes the card; if something typed in it is not saved, first asks whether to throw it
   * away. Resolves to whether the card closed. */
  leave(): Promise<boolean>;
}

/** Opens the card as a panel over the current view. */
export function openCard(ctx: AppContext, id: string | null, prefill?: CardPrefill): CardHandle {
  const overlay = h("div", { class: "card-overlay", id: "card" });
  const panel = h("div", { class: "card-panel", role: "dialog", "aria-modal": "true" });
  overlay.appendChild(panel);
  document.body.appendChild(overlay);
  let closed = false;
  // Something typed or chosen since the card was shown and not saved.
  let dirty = false;
  // The question "throw away what is typed?" while it is on screen: its answer.
  let asking: ((discard: boolean) => void) | null = null;
  const close = () => {
    if (closed) return;
    closed = true;
    asking?.(true);
    window.clearInterval(timer);
    window.clearTimeout(retry);
    unsubscribe();
    stopChanges();
    document.removeEventListener("keydown", keys, true);
    overlay.remove();
  };
  const ask = () =>
    new Promise<boolean>((resolve) => {
      const answer = (discard: boolean) => {
        asking = null;
        dlg.remove();
        if (!discard) (lastFocus as HTMLElement | null)?.focus();
        resolve(discard);
      };
      const lastFocus = document.activeElement;
      const back = h("button", { class: "primary", id: "card-discard-no", onclick: () => answer(false) }, t.card.discardNo);
      const dlg = h(
        "div",
        { class: "card-overlay", id: "card-discard" },
        h(
          "div",
          { class: "dialog", role: "alertdialog" },
          h("p", null, t.card.discardAsk),
          back,
          h("button", { id: "card-discard-yes", onclick: () => answer(true) }, t.card.discardYes),
        ),
      );
      asking = answer;
      document.body.appendChild(dlg);
      back.focus();
    });
  const leave = async () => {
    if (closed) return true;
    if (asking) return false;
    if (dirty && !(await ask())) return false;
    close();
    return true;
  };
  let timer = 0;
  // A save that waits for the server to come back (the card and what is typed stay).
  let retry = 0;
  let unsubscribe: () => void = () => {};
  // Changes others make to this appeal (LISTEN/NOTIFY through the app).
  let stopChanges: () => void = () => {};
  let changedElsewhere: (version: number) => void = () => {};
  let saving = false;
  let save: () => Promise<void> = async () => {};
  const keys = (e: KeyboardEvent) => {
    if (asking) {
      // The question has the keyboard: Esc goes back to the card.
      if (e.key === "Escape") {
        e.preventDefault();
        asking(false);
      }
      return;
    }
    if (e.key === "Escape") {
      // Esc in a field with its suggestions open closes only the suggestions.
      if (document.activeElement?.closest(".autocomplete")?.querySelector(".suggestions:not(.hidden)")) return;
      e.preventDefault();
      void leave();
    } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") {
      e.preventDefault();
      void save();
    }
  };
  document.addEventListener("keydown", keys, true);
  // The card's own fields (the tabs save what is done in them at once).
  const edited = (e: Event) => {
    if ((e.target as Element).closest(".card-main")) dirty = true;
  };
  panel.addEventListener("input", edited);
  panel.addEventListener("change", edited);
  // Executors, reasons and joins are chosen with buttons.
  panel.addEventListener("click", (e) => {
    const b = (e.target as Element).closest(".card-main button");
    if (b && !b.closest(".call-applicant, .call-executor") && b.id !== "card-save") dirty = true;
  });

  const render = (appeal: Appeal | null) => {
    // General part.
    const channel = select("card-channel", CHANNELS, channelLabel, appeal?.channel ?? "phone");
    const identifier = h("input", { id: "card-identifier", value: appeal?.identifier ?? prefill?.identifier ?? "", autocomplete: "off" });
    const applicant = h("input", { id: "card-applicant", value: appeal?.applicantName ?? "", autocomplete: "off" });
    const contacts = h("input", { id: "card-contacts", value: appeal?.contacts ?? "", autocomplete: "off" });
    const received = h("input", { id: "card-received", type: "datetime-local", value: toLocalInput(appeal?.receivedAt ?? new Date().toISOString()) });
    // The database takes a received time no later than the registration and at most 31 days before it.
    const registered = appeal ? new Date(appeal.registeredAt).getTime() : Date.now();
    received.max = toLocalInput(new Date(registered + 60_000).toISOString());
    received.min = toLocalInput(new Date(registered - 31 * 86_400_000).toISOString());
    const callApplicant = callButton({ number: identifier.value, appealId: appeal?.id, id: "card-call-applicant", class: "call-applicant", tabIndex: -1 });
    identifier.addEventListener("input", () => {
      callApplicant.dataset.number = identifier.value.trim();
      syncCallButton(callApplicant);
    });
    // The регламент (the operator manual, «Карточка обращения»): the talk time of the call that opened the card, else the
    // time since the card was opened; it stops when the call ends.
    const meter = talkBar("card-talk-time");
    const opened = Date.now();
    let lastTalk = 0;
    if (!appeal) {
      const tick = () => {
        if (!prefill?.callId) return meter.set(Math.floor((Date.now() - opened) / 1000));
        const c = liveCalls().find((x) => x.id === prefill.callId);
        if (c) lastTalk = talkSeconds(c);
        meter.set(lastTalk);
      };
      tick();
      timer = window.setInterval(tick, 1000);
    }
    const message = h("div", { class: "form-error", id: "card-error", role: "alert" });
    const reasons: ReasonBlock[] = [];
    const reasonsEl = h("div", { class: "reasons" });
    const tabs = h("div", { class: "card-tabs" });
    let status: HTMLSelectElement | null = null;

    const addReason = (existing: Appeal | null) => {
      const block = reasonBlock(existing, () => {
        if (reasons.length > 1) {
          reasons.splice(reasons.indexOf(block), 1);
          block.el.remove();
        }
      }, (b) => void loadTabs(b));
      reasons.push(block);
      reasonsEl.appendChild(block.el);
      return block;
    };
    let tabsUi: TabsUi | null = null;
    const first = addReason(appeal);
    // A call that ends is stored by the shell a moment later: show it in «звонки».
    unsubscribe();
    unsubscribe = onCallSaved(() => tabsUi?.refreshCalls());
    // An existing appeal offers the steps its status may take; a new card may register an
    // inquiry answered during the call as done at once.
    status = appeal
      ? select("card-status", [appeal.status, ...appeal.nextStatuses], statusLabel, appeal.status)
      : select("card-status", ["new", "done"] as AppealStatus[], statusLabel, "new");
    status.title = appeal ? "" : t.card.statusNewHint;

    async function loadTabs(b: Building | null) {
      tabsUi = renderTabs(tabs, ctx, appeal, b?.id ?? appeal?.buildingId ?? null, identifier.value, b?.organizationId ?? appeal?.organizationId ?? null, prefill?.tab);
    }

    save = async () => {
      window.clearTimeout(retry);
      message.textContent = "";
      let ok = true;
      const ident = identifier.value.trim();
      // A letter or a visit may come without a phone or an e-mail: then the applicant's name
      // and an address to answer are what is required.
      const written = CHANNELS_WITHOUT_IDENTIFIER.includes(channel.value as Channel);
      mark(identifier, ident === "" && !written);
      mark(applicant, ident === "" && written && applicant.value.trim() === "");
      mark(contacts, ident === "" && written && contacts.value.trim() === "");
      if (!ident && (!written || !applicant.value.trim() || !contacts.value.trim())) ok = false;
      for (const r of reasons) ok = r.validate() && ok;
      if (!ok) {
        message.textContent = t.card.required;
        (panel.querySelector(".invalid input, input.invalid") as HTMLElement | null)?.focus();
        return;
      }
      const receivedAt = new Date(received.value).toISOString();
      saving = true;
      try {
        if (!appeal) {
          const made = await api.createAppeals({
            receivedAt,
            channel: channel.value as Channel,
            identifier: ident,
            applicantName: applicant.value,
            contacts: contacts.value,
            status: status?.value === "done" ? "done" : null,
            reasons: reasons.map((r) => ({
              id: r.id,
              buildingId: r.building()?.id ?? null,
              kindId: r.kind()?.id ?? null,
              executorIds: [...r.executors],
              joinTo: r.joinTo,
              attachments: [],
              ...r.values(),
            })),
          });
          ctx.toast(`Зарегистрировано: ${made.map((a) => a.number).join(", ")}`);
          if (prefill?.callId && made[0]) {
            // The call that opened the card belongs to the (first) appeal it made.
            await phoneLinkCall(prefill.callId, made[0].id).catch((e: CommandError) => ctx.toast(e.message, "error"));
          }
          close();
        } else {
          const r = first;
          const kind = r.kind();
          const saved = await api.saveAppeal(appeal.id, appeal.version, {
            receivedAt,
            channel: channel.value as Channel,
            identifier: ident,
            applicantName: applicant.value,
            contacts: contacts.value,
            buildingId: r.building()?.id ?? null,
            kindId: kind?.id ?? appeal.kindId,
            executorIds: [...r.executors],
            joinedTo: r.joinTo,
            status: (status?.value as AppealStatus) ?? appeal.status,
            ...r.values(),
            priority: r.values().priority ?? appeal.priority,
          });
          ctx.toast(`${t.card.saved}: ${saved.number}`);
          close();
        }
      } catch (e) {
        const err = e as CommandError;
        message.textContent = err.message;
        message.dataset.kind = err.kind;
        // The server is away or busy: the same card (with the same ids, so never twice) is
        // saved again by itself until it goes through or the operator closes the card.
        if (UNAVAILABLE.includes(err.kind)) {
          message.textContent = `${err.message}. ${t.card.willRetry}`;
          retry = window.setTimeout(() => {
            if (!closed && !saving) void save();
          }, RETRY_MS);
        }
        if (err.field === "identifier") mark(identifier, true);
        if (err.field === "contacts") mark(contacts, true);
        if (err.kind === "conflict" && appeal) {
          message.appendChild(h("button", { class: "link", onclick: () => void reload() }, " " + t.card.conflictReload));
        }
      } finally {
        saving = false;
      }
    };
    // Someone else saved this appeal meanwhile: an untouched card shows their version at once;
    // one with edits says so and offers to reload (saving would be refused as a conflict).
    changedElsewhere = (version) => {
      if (!appeal || version <= appeal.version) return;
      if (!dirty) {
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
      h("h2", null, appeal ? `Обращение № ${appeal.number}` : t.card.titleNew),
      appeal ? h("span", { class: `type-badge type-${appeal.appealType}` }, typeLabel[appeal.appealType]) : null,
      appeal ? h("span", { class: "muted" }, `${statusLabel[appeal.status]} · ${appeal.progress}%`) : null,
      h("span", { class: "spacer" }),
      appeal
        ? h("button", { class: "icon", id: "card-print", title: t.card.print, onclick: () => void api.printCards([appeal.id]).then((p) => ctx.toast(`Карточка сохранена: ${p}`), (e: CommandError) => ctx.toast(e.message, "error")) }, "▣ печать")
        : null,
      h("button", { id: "card-close", class: "icon", title: `${t.card.close} (Esc)`, onclick: () => void leave() }, "✕"),
    );
    const general = h(
      "section",
      { class: "card-general" },
      h("h3", null, t.card.general),
      h(
        "div",
        { class: "grid" },
        field(t.card.identifier, h("div", { class: "with-call" }, identifier, callApplicant), "required"),
        field(t.card.applicant, applicant),
        field(t.card.contacts, contacts),
      ),
      appeal ? deadlines(appeal) : null,
      !appeal ? h("div", { class: "talk", id: "card-talk" }, h("span", null, t.card.talkTime), meter.bar, meter.label) : null,
    );
    // Channel, time and status keep their defaults in most calls: they come after the reasons,
    // so Tab goes from the applicant straight to the address.
    const meta = h(
      "div",
      { class: "grid card-meta" },
      field(t.card.channel, channel),
      field(t.card.received, received),
      status ? field(t.card.status, status) : null,
    );
    const actions = h(
      "footer",
      { class: "card-actions" },
      message,
      !appeal ? h("button", { id: "card-add-reason", type: "button", onclick: () => addReason(null).el.querySelector("input")?.focus() }, `+ ${t.card.addReason}`) : null,
      h("button", { id: "card-save", class: "primary", onclick: () => void save() }, `${t.card.save} (Ctrl+S)`),
    );
    replace(panel, header, h("div", { class: "card-body" }, h("div", { class: "card-main" }, general, h("h3", null, t.card.reason), reasonsEl, meta, actions), tabs));
    dirty = false;
    if (ctx.me.role === "manager") {
      // A housing company's manager reads the card; the database would refuse their changes.
      panel.querySelectorAll<HTMLInputElement>(".card-main input, .card-main select, .card-main textarea, .card-main button").forEach((c) => (c.disabled = true));
      replace(actions, h("span", { class: "muted", id: "card-read-only" }, t.card.readOnly));
    }
    if (appeal || prefill?.identifier) void loadTabs(null);
    else replace(tabs, h("p", { class: "muted" }, "Введите адрес — здесь появятся обращения по этому дому и с этого номера."));
    // A card opened by a call has the number already: start at the applicant's name.
    (identifier.value ? applicant : identifier).focus();
  };

  if (id) {
    const subscriptions = [
      onAppealChanged((e) => {
        if (!closed && !saving && e.id === id && e.version != null) changedElsewhere(e.version);
      }),
      // Changes may have been missed (the connection dropped): read the appeal again.
      onResync(() => {
        if (!closed && !saving) void api.getAppeal(id).then((a) => changedElsewhere(a.version), () => {});
      }),
    ];
    void Promise.all(subscriptions).then((stops) => {
      const stop = () => stops.forEach((f) => f());
      if (closed) stop();
      else stopChanges = stop;
    });
  }
  const reload = async () => {
    if (!id) return render(null);
    try {
      render(await api.getAppeal(id));
    } catch (e) {
      ctx.toast((e as CommandError).message, "error");
      close();
    }
  };
  void reload();
  return { close, leave };
}

function reasonBlock(
  appeal: Appeal | null,
  remove: () => void,
  onBuilding: (b: Building | null) => void,
): ReasonBlock {
  const id = appeal?.id ?? uuidv7();
  const uid = id.slice(-6);
  let building: Building | null = null;
  let kind: AppealKind | null = null;
  const executors = new Set<string>(appeal?.executors.map((e) => e.executorId) ?? []);
  const assigned = new Set(executors);
  const execList = h("div", { class: "executors-list", id: `executors-${uid}` }, h("p", { class: "muted" }, t.card.executorsNeed));
  const join = h("div", { class: "join-suggest" });
  const block: ReasonBlock = {
    id,
    el: h("div"),
    building: () => building,
    kind: () => kind,
    executors,
    joinTo: appeal?.joinedTo ?? null,
    validate: () => true,
    values: () => ({ apartment: "", entrance: "", floor: "", addressNote: "", comment: "", priority: null }),
  };

  const refreshExecutors = async () => {
    if (!building || !kind) {
      replace(execList, h("p", { class: "muted" }, t.card.executorsNeed));
      return;
    }
    const served: Executor[] = await executorsFor(kind.id, building.id);
    // Assigned before the kind or address changed: still shown, to be unassigned or called.
    const others = (appeal?.executors ?? [])
      .filter((a) => !served.some((e) => e.id === a.executorId))
      .map((a): Executor => ({ id: a.executorId, fullName: a.fullName, position: "", phones: a.phones, organizationId: "", active: true }));
    const list = [...served, ...others];
    replace(
      execList,
      list.length === 0 ? h("p", { class: "muted" }, "Нет исполнителей, обслуживающих этот вид по этому адресу — сообщите администратору") : null,
      ...list.map((e) => h(
        "span",
        { class: "executor-item" },
        h(
          "button",
          {
            type: "button",
            class: `executor ${executors.has(e.id) ? "chosen" : ""}`,
            "aria-pressed": String(executors.has(e.id)),
            dataset: { id: e.id },
            onclick: (ev: Event) => {
              const b = ev.currentTarget as HTMLElement;
              if (executors.has(e.id)) executors.delete(e.id);
              else executors.add(e.id);
              b.classList.toggle("chosen", executors.has(e.id));
              b.setAttribute("aria-pressed", String(executors.has(e.id)));
            },
          },
          h("span", { class: "check" }, "✔"),
          ` ${e.fullName}`,
          h("small", null, ` ${e.position} ${e.phones.join(", ")}`),
        ),
        // The ☎ of an assigned executor: the call about this appeal
        // that lets it move to «в работе».
        assigned.has(e.id) && appeal
          ? e.phones.map((p) => callButton({ number: p, appealId: appeal.id, executorId: e.id, class: "call-executor" }))
          : null,
      )),
    );
  };
  const refreshJoin = async () => {
    replace(join);
    const joinedTo = appeal?.joinedTo;
    if (joinedTo) {
      // Joined already: the card says to which, and can unjoin (on save).
      const root = await api.getAppeal(joinedTo).catch(() => null);
      const btn = h("button", { type: "button", id: `unjoin-${uid}` }, t.card.unjoin);
      btn.addEventListener("click", () => {
        block.joinTo = block.joinTo ? null : joinedTo;
        btn.textContent = block.joinTo ? t.card.unjoin : `✔ ${t.card.unjoinOnSave}`;
      });
      replace(join, h("div", { class: "notice" }, `${t.card.joinedTo} № ${root?.number ?? "—"}. `, btn));
      return;
    }
    if (!building || !kind) return;
    const live = await api.suggestJoin(kind.id, building.id, appeal?.id ?? null);
    if (!live || live.id === appeal?.joinedTo) return;
    const btn = h("button", { type: "button", id: `join-${uid}` }, t.card.join);
    btn.addEventListener("click", () => {
      block.joinTo = block.joinTo === live.id ? null : live.id;
      btn.textContent = block.joinTo ? `✔ ${t.card.joined} ${live.number}` : t.card.join;
    });
    replace(join, h("div", { class: "notice" }, `${t.card.joinSuggest} № ${live.number} от ${fmtDateTime(live.receivedAt)} (${statusLabel[live.status]}). `, btn));
  };

  const address = autocomplete<Building>({
    id: `address-${uid}`,
    placeholder: t.card.addressHint,
    fetch: searchBuildings,
    label: (b) => b.address,
    onPick: (b) => {
      building = b;
      mark(addressField, false);
      onBuilding(b);
      void refreshExecutors();
      void refreshJoin();
    },
  });
  const kindInput = autocomplete<AppealKind>({
    id: `kind-${uid}`,
    placeholder: t.card.kindHint,
    fetch: searchKinds,
    label: (k) => k.name,
    detail: (k) => ` — ${typeLabel[k.appealType]}, ${priorityLabel[k.defaultPriority]}${k.deadlineNote ? ", " + k.deadlineNote : ""}`,
    onPick: (k) => {
      kind = k;
      mark(kindField, false);
      if (k && !appeal) priority.value = k.defaultPriority;
      void refreshExecutors();
      void refreshJoin();
    },
  });
  const apartment = h("input", { id: `apartment-${uid}`, value: appeal?.apartment ?? "", class: "short" });
  const entrance = h("input", { id: `entrance-${uid}`, value: appeal?.entrance ?? "", class: "short" });
  const floor = h("input", { id: `floor-${uid}`, value: appeal?.floor ?? "", class: "short" });
  const note = h("input", { id: `note-${uid}`, value: appeal?.addressNote ?? "" });
  const priority = select(`priority-${uid}`, PRIORITIES, priorityLabel, appeal?.priority ?? "medium");
  const comment = h("textarea", { id: `comment-${uid}`, rows: 3 }, appeal?.comment ?? "");
  const addressField = field(t.card.address, address.wrapper, "required wide");
  const kindField = field(t.card.kind, kindInput.wrapper, "required wide");

  if (appeal) {
    kind = {
      id: appeal.kindId,
      name: appeal.kindName,
      appealType: appeal.appealType,
      defaultPriority: appeal.priority,
      localizeMinutes: null,
      resolveMinutes: null,
      deadlineNote: "",
      keywords: [],
      source: "",
      active: true,
      needsAddress: appeal.needsAddress,
    };
    kindInput.set(kind);
    if (appeal.buildingId) {
      building = {
        id: appeal.buildingId,
        organizationId: appeal.organizationId ?? "",
        city: "",
        street: "",
        house: "",
        block: "",
        address: appeal.address.split(", кв.")[0].split(", подъезд")[0].split(", этаж")[0],
      };
      address.set(building);
      void refreshExecutors();
    }
    if (appeal.joinedTo) void refreshJoin();
  }
  block.validate = () => {
    const needsAddress = kind?.needsAddress ?? false;
    const badKind = kind === null;
    const badAddress = needsAddress && building === null;
    mark(kindField, badKind);
    mark(addressField, badAddress);
    return !badKind && !badAddress;
  };
  block.values = () => ({
    apartment: apartment.value,
    entrance: entrance.value,
    floor: floor.value,
    addressNote: note.value,
    comment: comment.value,
    priority: priority.value as Priority,
  });
  block.el = h(
    "div",
    { class: "reason", dataset: { id } },
    h(
      "div",
      { class: "grid" },
      addressField,
      field(t.card.apartment, apartment, "narrow"),
      field(t.card.entrance, entrance, "narrow"),
      field(t.card.floor, floor, "narrow"),
      field(t.card.addressNote, note),
      kindField,
      field(t.card.priority, priority),
      field(t.card.comment, comment, "wide"),
    ),
    join,
    h("div", { class: "field wide" }, h("span", null, t.card.executors), execList),
    !appeal ? h("button", { type: "button", class: "link remove-reason", onclick: remove, tabIndex: -1 }, t.card.removeReason) : null,
  );
  return block;
}

function miniRows(rows: RegistryRow[], ctx: AppContext): HTMLElement {
  if (rows.length === 0) return h("p", { class: "muted" }, t.card.nothing);
  return h(
    "ul",
    { class: "mini-rows" },
    ...rows.map((r) =>
      h(
        "li",
        null,
        h("button", { class: "link", onclick: () => ctx.openCard(r.id) }, r.number),
        ` ${fmtDateTime(r.receivedAt)} · ${r.kindName} · ${statusLabel[r.status]}`,
        r.address ? h("div", { class: "muted" }, r.address) : null,
      ),
    ),
  );
}

interface TabsUi {
  /** Reloads «звонки» if it is the tab shown. */
  refreshCalls(): void;
}

function renderTabs(
  root: HTMLElement,
  ctx: AppContext,
  appeal: Appeal | null,
  buildingId: string | null,
  identifier: string,
  organizationId: string | null,
  first: CardTab = "problems",
): TabsUi {
  const names: readonly CardTab[] = ["problems", "calls", "history", "files", "services", "schedule"];
  const body = h("div", { class: "tab-body", id: "card-tab-body" });
  const buttons = names.map((n) =>
    h("button", { class: "tab", dataset: { tab: n }, id: `tab-${n}`, onclick: () => void show(n) }, t.card.tabs[n]),
  );
  replace(root, h("nav", { class: "tab-bar" }, ...buttons), body);
  let shown: (typeof names)[number] = "problems";
  const show = async (n: (typeof names)[number]) => {
    shown = n;
    buttons.forEach((b) => b.classList.toggle("active", b.dataset.tab === n));
    replace(body, h("p", { class: "muted" }, t.registry.loading));
    try {
      if (n === "problems") {
        const p = await api.problems(buildingId, identifier || null);
        replace(body, h("h4", null, t.card.live), miniRows(p.live, ctx), h("h4", null, t.card.archived), miniRows(p.archived, ctx), h("h4", null, t.card.fromApplicant), miniRows(p.fromApplicant, ctx));
      } else if (n === "calls") {
        if (!appeal) return replace(body, h("p", { class: "muted" }, t.card.noCalls));
        const calls = await api.appealCalls(appeal.id);
        const rows = await Promise.all(calls.map((c) => callRow(c, appeal)));
        if (shown !== "calls") return;
        replace(
          body,
          calls.length === 0 ? h("p", { class: "muted" }, t.card.noCalls) : null,
          h("div", { class: "calls-list", id: "card-calls" }, rows),
        );
      } else if (n === "history") {
        if (!appeal) return replace(body, h("p", { class: "muted" }, t.card.nothing));
        const entries = await api.appealHistory(appeal.id);
        const text = h("textarea", { id: "comment-new", rows: 2, placeholder: t.card.commentPlaceholder });
        replace(
          body,
          h("ol", { class: "history" }, ...entries.map((e) => h("li", null, h("span", { class: "muted" }, `${fmtDateTime(e.at)} ${e.actorName ?? e.actor}: `), e.text))),
          text,
          h("button", { id: "comment-add", onclick: async () => {
            try {
              await api.addComment(appeal.id, text.value);
              void show("history");
            } catch (err) {
              ctx.toast((err as CommandError).message, "error");
            }
          } }, t.card.addComment),
        );
      } else if (n === "files") {
        if (!appeal) return replace(body, h("p", { class: "muted" }, "Файлы прикрепляются к сохранённому обращению"));
        const files = await api.attachments(appeal.id);
        const input = h("input", { type: "file", id: "file-input", multiple: true });
        input.addEventListener("change", async () => {
          for (const f of input.files ?? []) {
            const buf = new Uint8Array(await f.arrayBuffer());
            let bin = "";
            for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode(...buf.subarray(i, i + 0x8000));
            try {
              await api.addAttachment({ appealId: appeal.id, fileName: f.name, mime: f.type || "application/octet-stream", base64: btoa(bin) });
            } catch (err) {
              ctx.toast((err as CommandError).message, "error");
            }
          }
          void show("files");
        });
        replace(
          body,
          h("label", { class: "button" }, t.card.attach, input),
          ...files.map((f) => {
            const viewable = f.mime.startsWith("image/") || f.mime.startsWith("video/");
            const open = h("button", { class: "link file-open" }, `${f.fileName} (${Math.ceil(f.size / 1024)} КБ)`);
            // Saved in Documents/Диалог and opened in the desktop's application for its type.
            const keep = h("button", { class: "link file-save", title: t.card.fileSaveHint }, t.card.fileSave);
            const row = h("div", { class: "file" }, open, h("span", { class: "muted" }, ` ${fmtDateTime(f.uploadedAt)} `), keep);
            keep.addEventListener("click", async () => {
              try {
                const saved = await api.saveAttachment(f.id, f.fileName);
                if (saved.opened) ctx.toast(`${t.card.fileSaved}: ${saved.path}`);
                else ctx.toast(`${t.card.fileSaved}: ${saved.path}. ${t.card.fileNotOpened}: ${saved.notOpened}`, "error");
              } catch (err) {
                ctx.toast((err as CommandError).message, "error");
              }
            });
            open.addEventListener("click", async () => {
              if (!viewable) return keep.click();
              if (row.querySelector(".preview")) return;
              try {
                const c = await api.attachmentContent(f.id, f.mime);
                const src = URL.createObjectURL(blobOf(c.mime, c.base64));
                const preview = f.mime.startsWith("image/") ? h("img", { src, class: "preview" }) : h("video", { src, controls: true, class: "preview" });
                // A picture keeps what it decoded; the file's bytes can go.
                if (preview instanceof HTMLImageElement) preview.addEventListener("load", () => URL.revokeObjectURL(src), { once: true });
                row.appendChild(preview);
              } catch (err) {
                ctx.toast((err as CommandError).message, "error");
              }
            });
            return row;
          }),
        );
      } else if (n === "services") {
        if (!buildingId) return replace(body, h("p", { class: "muted" }, "Выберите адрес"));
        const list = await prices(buildingId);
        replace(body, list.length ? h("table", { class: "simple" }, ...list.map((p) => h("tr", null, h("td", null, p.service), h("td", { class: "num" }, `${p.price} ₽`), h("td", null, p.unit)))) : h("p", { class: "muted" }, t.card.nothing));
      } else {
        const shifts = await schedule(organizationId);
        replace(body, shifts.length ? h("table", { class: "simple" }, ...shifts.slice(0, 100).map((s) => h("tr", null, h("td", null, fmtDateTime(s.startsAt)), h("td", null, fmtDateTime(s.endsAt).slice(11)), h("td", null, s.person), h("td", { class: "muted" }, s.note)))) : h("p", { class: "muted" }, t.card.nothing));
      }
    } catch (err) {
      replace(body, h("p", { class: "form-error" }, (err as CommandError).message));
    }
  };
  void show(first);
  return {
    refreshCalls() {
      if (shown === "calls" && root.isConnected) void show("calls");
    },
  };
}

/** Errors after which a save is tried again by itself. */
const UNAVAILABLE = ["connectionLost", "serverFull", "serverRestarting", "busy", "unreachable"];
const RETRY_MS = 5000;

