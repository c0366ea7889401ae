// One reason of the card (the operator manual, «Карточка обращения»): where (address, flat,
// entrance, floor), what (the kind, priority, comment), who (the executors serving that kind at
// that building, each with ☎ once chosen), and the join with a live appeal of the same kind there.
import * as api from "../../api/appeals";
import { inBrowser } from "../../api/core";
import { executorsFor, searchBuildings, searchKinds } from "../../api/directory";
import type { Appeal } from "../../generated/Appeal";
import type { AppealKind } from "../../generated/AppealKind";
import type { Building } from "../../generated/Building";
import type { Executor } from "../../generated/Executor";
import type { Priority } from "../../generated/Priority";
import { autocomplete } from "../../lib/autocomplete";
import { fmtDateTime, h, replace, uuidv7 } from "../../lib/h";
import { priorityLabel, statusLabel, t, typeLabel } from "../../lib/i18n";
import { callButton } from "../../lib/phone";
import { field, mark, select } from "./parts";

const PRIORITIES: Priority[] = ["low", "medium", "critical"];

/** What the card knows of a kind: picked from the directory, or the appeal's own. */
export type KindChoice = Pick<AppealKind, "id" | "name" | "appealType" | "needsAddress"> & Partial<Pick<AppealKind, "defaultPriority" | "deadlineNote">>;
/** What the card knows of a building. */
export type BuildingChoice = Pick<Building, "id" | "address"> & { organizationId: string | null };
/** An executor as the card lists them: serving this kind here, or assigned before. */
export type ExecutorChoice = Pick<Executor, "id" | "fullName" | "phones"> & { position: string | null };

/** A reason's fields as the store takes them. */
export interface ReasonValues {
  apartment: string;
  entrance: string;
  floor: string;
  addressNote: string;
  comment: string;
  priority: Priority;
}

export interface ReasonBlock {
  /** The reason's id: the appeal it becomes (or is). */
  id: string;
  el: HTMLElement;
  building(): BuildingChoice | null;
  kind(): KindChoice | null;
  executors: Set<string>;
  joinTo: string | null;
  /** Marks what is missing; whether it is complete. */
  validate(): boolean;
  values(): ReasonValues;
}

export interface ReasonHooks {
  /** Removes this reason from a new card. */
  remove(): void;
  /** An address was picked. */
  onBuilding(b: BuildingChoice | null): void;
  /** ☎ of a chosen executor: the card saves the assignment first, then calls. */
  callExecutor(reasonId: string, executorId: string, number: string): void;
}

export function reasonBlock(appeal: Appeal | null, hooks: ReasonHooks): ReasonBlock {
  const id = appeal?.id ?? uuidv7();
  const uid = id.slice(-6);
  let building: BuildingChoice | null =
    appeal?.buildingId != null ? { id: appeal.buildingId, organizationId: appeal.organizationId, address: appeal.buildingAddress ?? appeal.address } : null;
  let kind: KindChoice | null = appeal ? { id: appeal.kindId, name: appeal.kindName, appealType: appeal.appealType, needsAddress: appeal.needsAddress } : null;
  const executors = new Set<string>(appeal?.executors.map((e) => e.executorId) ?? []);
  const execList = h("div", { class: "executors-list", id: `executors-${uid}` }, h("p", { class: "muted" }, t.card.executorsNeed));
  const join = h("div", { class: "join-suggest" });
  let listed: ExecutorChoice[] = [];

  const executorItem = (e: ExecutorChoice) => {
    const chosen = executors.has(e.id);
    return h(
      "span",
      { class: "executor-item" },
      h(
        "button",
        {
          type: "button",
          class: `executor ${chosen ? "chosen" : ""}`,
          "aria-pressed": String(chosen),
          dataset: { id: e.id },
          onclick: () => {
            if (executors.has(e.id)) executors.delete(e.id);
            else executors.add(e.id);
            showExecutors();
          },
        },
        h("span", { class: "check" }, "✔"),
        ` ${e.fullName}`,
        h("small", null, ` ${e.position ?? ""} ${e.phones.join(", ")}`),
      ),
      // A chosen executor's ☎: the call about this appeal that lets it move to «в работе».
      // An executor chosen just now is assigned (the card saved) before the call.
      // A browser has no phone: it says where the call is made instead.
      chosen
        ? inBrowser
          ? h("small", { class: "no-phone", title: t.web.phoneAbsentHint }, ` ${t.web.callFromApp}`)
          : e.phones.map((p) =>
              callButton({ number: p, appealId: appeal?.id, executorId: e.id, class: "call-executor", onCall: () => hooks.callExecutor(id, e.id, p) }),
            )
        : null,
    );
  };
  const showExecutors = () =>
    replace(
      execList,
      listed.length === 0 ? h("p", { class: "muted" }, t.card.noExecutors) : null,
      ...listed.map(executorItem),
    );
  const refreshExecutors = async () => {
    if (!building || !kind) {
      replace(execList, h("p", { class: "muted" }, t.card.executorsNeed));
      return;
    }
    const served: ExecutorChoice[] = await executorsFor(kind.id, building.id);
    // Assigned before the kind or address changed: still shown, to be unassigned or called.
    const others = (appeal?.executors ?? [])
      .filter((a) => !served.some((e) => e.id === a.executorId))
      .map((a): ExecutorChoice => ({ id: a.executorId, fullName: a.fullName, position: null, phones: a.phones }));
    listed = [...served, ...others];
    showExecutors();
  };

  const block: ReasonBlock = {
    id,
    el: h("div"),
    building: () => building,
    kind: () => kind,
    executors,
    joinTo: appeal?.joinedTo ?? null,
    validate: () => true,
    values: () => ({ apartment: "", entrance: "", floor: "", addressNote: "", comment: "", priority: "medium" }),
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
    const found = await api.suggestJoin(kind.id, building.id, appeal?.id ?? null);
    if (!found || found.id === appeal?.joinedTo) return;
    const btn = h("button", { type: "button", id: `join-${uid}` }, t.card.join);
    btn.addEventListener("click", () => {
      block.joinTo = block.joinTo === found.id ? null : found.id;
      btn.textContent = block.joinTo ? `✔ ${t.card.joined} ${found.number}` : t.card.join;
    });
    replace(join, h("div", { class: "notice" }, t.card.joinSuggestion(found.number, fmtDateTime(found.receivedAt), statusLabel[found.status]), " ", btn));
  };

  const address = autocomplete<BuildingChoice>({
    id: `address-${uid}`,
    placeholder: t.card.addressHint,
    fetch: searchBuildings,
    label: (b) => b.address,
    onPick: (b) => {
      building = b;
      mark(addressField, false);
      hooks.onBuilding(b);
      void refreshExecutors();
      void refreshJoin();
    },
  });
  const kindInput = autocomplete<KindChoice>({
    id: `kind-${uid}`,
    placeholder: t.card.kindHint,
    fetch: searchKinds,
    label: (k) => k.name,
    detail: (k) => ` — ${typeLabel[k.appealType]}${k.defaultPriority ? ", " + priorityLabel[k.defaultPriority] : ""}${k.deadlineNote ? ", " + k.deadlineNote : ""}`,
    onPick: (k) => {
      kind = k;
      mark(kindField, false);
      if (k?.defaultPriority && !appeal) priority.value = k.defaultPriority;
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

  if (kind) kindInput.set(kind);
  if (building) {
    address.set(building);
    void refreshExecutors();
  }
  if (appeal?.joinedTo) void refreshJoin();

  block.validate = () => {
    // Whether the kind needs an address is the database's rule, sent with the kind.
    const badKind = kind === null;
    const badAddress = (kind?.needsAddress ?? false) && building === null;
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
    !appeal ? h("button", { type: "button", class: "link remove-reason", onclick: hooks.remove, tabIndex: -1 }, t.card.removeReason) : null,
  );
  return block;
}
