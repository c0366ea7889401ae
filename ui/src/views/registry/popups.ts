// What a row's icons and links open over the registry: the first recorded conversation (♪),
// the photos, films or voice messages, an executor's appeals, the joined appeals (⚭), and the
// history tooltip of ℹ.
import { appealCalls, appealHistory, attachments, joinedGroup } from "../../api/appeals";
import type { CommandError } from "../../api/core";
import { contacts } from "../../api/directory";
import type { RegistryRow } from "../../generated/RegistryRow";
import type { AppContext } from "../../lib/app";
import { fmtDateTime, h } from "../../lib/h";
import { statusLabel, t } from "../../lib/i18n";
import { callSeconds, player } from "../../lib/player";
import { mediaPreview } from "../card/tabs";
import { openExecutor } from "../contacts";
import type { MediaKind } from "./rows";
import type { RegistryState } from "./state";

/** A dialog over the registry (`#registry-popup` unless renamed), closed by its button or a click beside it. */
function popup(title: string, ...content: HTMLElement[]): HTMLElement {
  const close = () => overlay.remove();
  const overlay = h(
    "div",
    { class: "card-overlay", id: "registry-popup", onclick: (e: Event) => e.target === overlay && close() },
    h("div", { class: "dialog popup" }, h("h3", null, title), ...content, h("button", { onclick: close }, t.registry.close)),
  );
  document.body.appendChild(overlay);
  return overlay;
}

/** The ♪ icon: the appeal's first recorded conversation. */
export async function playFirst(ctx: AppContext, state: RegistryState, id: string) {
  try {
    const first = (await appealCalls(id)).find((c) => c.recordingCodec);
    if (!first) return ctx.toast(t.recordings.noRecordings);
    const row = state.rows.find((r) => r.id === id);
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
export async function showMedia(ctx: AppContext, state: RegistryState, id: string, kind: string) {
  try {
    const files = (await attachments(id)).filter((f) => f.mime.startsWith(`${kind}/`));
    if (files.length === 0) return ctx.openCard(id, { tab: "files" });
    const row = state.rows.find((r) => r.id === id);
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

/** An executor's name: the appeals they have in work. */
export async function showExecutor(ctx: AppContext, id: string) {
  const all = await contacts();
  const e = all.find((c) => c.id === id);
  if (!e) return;
  const box = h("div", { class: "executor-appeals" });
  popup(e.fullName, box);
  await openExecutor(ctx, box, e);
}

/** The ⚭ icon: the appeals joined with this one, each opening its card. */
export async function showGroup(ctx: AppContext, r: RegistryRow) {
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

/** The history tooltip (`#history-tip`, put into `host`): registration, assignments and status
 * changes, read when the pointer rests on a row's ℹ in `tbody`. */
export function historyTip(host: HTMLElement, tbody: HTMLElement) {
  const tip = h("div", { class: "history-tip hidden", id: "history-tip", role: "tooltip" });
  host.appendChild(tip);
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
        tip.textContent = lines.join("\n") || t.registry.noStatusChanges;
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
}
