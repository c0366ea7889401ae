// The registry's rows: one appeal a row — number and time, address, reason, applicant with
// their ☎, status with executors and deadline, progress, the print tick and icons for the
// recording and attachments, history and joined appeals.
import type { AppealStatus } from "../../generated/AppealStatus";
import type { RegistryRow } from "../../generated/RegistryRow";
import { LIVE_STATUSES } from "../../generated/labels";
import { fmtDateTime, h, replace } from "../../lib/h";
import { channelLabel, priorityLabel, statusLabel, t, typeLabel } from "../../lib/i18n";
import { callButton, dialable } from "../../lib/phone";
import type { RegistryState } from "./state";

/** Attachments the registry shows itself (a MIME type's first part). */
export type MediaKind = "image" | "video" | "audio";
export const MEDIA_KINDS: string[] = ["image", "video", "audio"];

/** The status mark: ✔ when finished, else the priority (! critical, ● medium, ○ low). */
export function statusIcon(r: { status: AppealStatus; priority: RegistryRow["priority"] }): HTMLElement {
  const finished = r.status === "closed" || r.status === "done";
  return h(
    "span",
    {
      class: `status-icon ${finished ? "st-finished" : "pr-" + r.priority}`,
      title: t.registry.statusTitle(statusLabel[r.status], priorityLabel[r.priority]),
    },
    finished ? "✔" : r.priority === "critical" ? "!" : r.priority === "medium" ? "●" : "○",
  );
}

/** Not yet done, closed or cancelled: its deadline still runs. */
export function live(status: AppealStatus): boolean {
  return LIVE_STATUSES.includes(status);
}

/** A row's cells, in the order of `t.registry.columns`. */
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
            ...r.executorNames.map((n, i) => h("button", { class: "link exec-link", dataset: { id: r.executorIds[i] ?? "" }, title: t.contacts.appealsOf }, n)),
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
      h("input", { type: "checkbox", class: "pick", title: t.registry.pick, dataset: { id: r.id } }),
      h("button", { class: "icon print", title: t.registry.printCard, dataset: { id: r.id } }, "▣"),
      r.hasRecording ? h("button", { class: "icon rec", title: t.recordings.firstRecording, dataset: { id: r.id } }, "♪") : null,
      ...attachIcons,
    ),
    h(
      "td",
      { class: "c-info" },
      h("span", { class: "icon history", title: t.registry.history, dataset: { id: r.id } }, "ℹ"),
      r.joinedCount > 1 ? h("span", { class: "icon joined", title: `${t.registry.joined}: ${r.joinedCount}` }, `⚭${r.joinedCount}`) : null,
    ),
  ];
}

/** Shows the rows read so far (ticks kept) and, under them, whether more are loading or none found. */
export function renderRows(tbody: HTMLElement, status: HTMLElement, state: RegistryState) {
  replace(
    tbody,
    state.rows.map((r) =>
      h("tr", { dataset: { id: r.id }, class: `${r.overdue ? "overdue" : ""} ${r.status}`, tabIndex: 0 }, rowCells(r)),
    ),
  );
  tbody.querySelectorAll<HTMLInputElement>("input.pick").forEach((b) => (b.checked = state.picked.has(b.dataset.id ?? "")));
  status.textContent = state.loading ? t.registry.loading : state.rows.length === 0 ? t.registry.empty : "";
}
