// The card's tabs (the operator manual, «Карточка обращения»): проблемы (live and archived
// appeals at the address, and earlier ones from this number, shown as soon as either is known),
// звонки, история with comments, файлы (also before the first save: they are stored with the
// appeal), услуги and расписание.
import * as api from "../../api/appeals";
import type { CommandError } from "../../api/core";
import { prices, schedule } from "../../api/directory";
import type { Appeal } from "../../generated/Appeal";
import type { NewFile } from "../../generated/NewFile";
import type { RegistryRow } from "../../generated/RegistryRow";
import type { AppContext, CardTab } from "../../lib/app";
import { fileToBase64, fmtDateTime, h, replace, uuidv7 } from "../../lib/h";
import { statusLabel, t } from "../../lib/i18n";
import { blobOf } from "../../lib/player";
import { callRow } from "../callRow";

/** Where the card is about: what «проблемы» and «услуги» look up. */
export interface Where {
  buildingId: string | null;
  identifier: string;
  organizationId: string | null;
}

export interface TabsUi {
  /** Reloads «звонки» if it is the tab shown. */
  refreshCalls(): void;
  /** The address or the number changed: «проблемы» (and «услуги») follow. */
  setWhere(where: Partial<Where>): void;
}

const TABS: readonly CardTab[] = ["problems", "calls", "history", "files", "services", "schedule"];

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

/** The file picker: each chosen file read as the store takes it. */
function filePicker(onFile: (f: NewFile) => Promise<void>, done: () => void): HTMLElement {
  const input = h("input", { type: "file", id: "file-input", multiple: true });
  input.addEventListener("change", async () => {
    for (const f of input.files ?? []) {
      await onFile({ id: uuidv7(), fileName: f.name, mime: f.type || "application/octet-stream", base64: await fileToBase64(f) });
    }
    done();
  });
  return h("label", { class: "button" }, t.card.attach, input);
}

/** An attached file's picture, film or sound, shown in place. */
export async function mediaPreview(id: string, mime: string): Promise<HTMLElement> {
  const c = await api.attachmentContent(id, mime);
  const src = URL.createObjectURL(blobOf(c.mime, c.base64));
  if (mime.startsWith("image/")) {
    const img = h("img", { src, class: "preview", alt: "" });
    // A picture keeps what it decoded; the file's bytes can go.
    img.addEventListener("load", () => URL.revokeObjectURL(src), { once: true });
    return img;
  }
  return mime.startsWith("video/") ? h("video", { src, controls: true, class: "preview" }) : h("audio", { src, controls: true, class: "preview" });
}

/** Whether the app shows the file itself. */
export const showable = (mime: string) => mime.startsWith("image/") || mime.startsWith("video/") || mime.startsWith("audio/");

export function renderTabs(
  root: HTMLElement,
  ctx: AppContext,
  appeal: Appeal | null,
  start: Where,
  first: CardTab,
  pending: NewFile[],
): TabsUi {
  const where: Where = { ...start };
  const body = h("div", { class: "tab-body", id: "card-tab-body" });
  const buttons = TABS.map((n) => h("button", { class: "tab", dataset: { tab: n }, id: `tab-${n}`, onclick: () => void show(n) }, t.card.tabs[n]));
  replace(root, h("nav", { class: "tab-bar" }, ...buttons), body);
  let shown: CardTab = first;
  // Answers that come back after the operator moved on are dropped.
  let seq = 0;

  const problems = async (mine: number) => {
    if (!where.buildingId && !where.identifier) return replace(body, h("p", { class: "muted" }, t.card.problemsNeed));
    const p = await api.problems(where.buildingId, where.identifier || null);
    if (mine !== seq) return;
    replace(
      body,
      where.buildingId ? [h("h4", null, t.card.live), miniRows(p.live, ctx), h("h4", null, t.card.archived), miniRows(p.archived, ctx)] : null,
      where.identifier ? [h("h4", null, t.card.fromApplicant), h("div", { id: "card-from-applicant" }, miniRows(p.fromApplicant, ctx))] : null,
    );
  };

  const calls = async (a: Appeal, mine: number) => {
    const list = await api.appealCalls(a.id);
    const rows = await Promise.all(list.map((c) => callRow(c, a)));
    if (mine !== seq) return;
    replace(body, list.length === 0 ? h("p", { class: "muted" }, t.card.noCalls) : null, h("div", { class: "calls-list", id: "card-calls" }, rows));
  };

  const history = async (a: Appeal, mine: number) => {
    const entries = await api.appealHistory(a.id);
    if (mine !== seq) return;
    const text = h("textarea", { id: "comment-new", rows: 2, placeholder: t.card.commentPlaceholder });
    const add = async () => {
      try {
        await api.addComment(a.id, text.value);
        void show("history");
      } catch (err) {
        ctx.toast((err as CommandError).message, "error");
      }
    };
    replace(
      body,
      h("ol", { class: "history", id: "card-history" }, ...entries.map((e) => h("li", null, h("span", { class: "muted" }, `${fmtDateTime(e.at)} ${e.actorName ?? e.actor}: `), e.text))),
      text,
      h("button", { id: "comment-add", onclick: () => void add() }, t.card.addComment),
    );
  };

  /** A new card's files: kept here and stored with the appeal when the card is saved. */
  const pendingFiles = () => {
    const list = h(
      "div",
      { id: "card-pending-files" },
      ...pending.map((f, i) =>
        h(
          "div",
          { class: "file pending" },
          h("span", null, t.fileSize(f.fileName, Math.ceil((f.base64.length * 3) / 4 / 1024))),
          h("button", { class: "link", type: "button", onclick: () => { pending.splice(i, 1); void show("files"); } }, t.card.fileRemove),
        ),
      ),
    );
    replace(
      body,
      filePicker(async (f) => void pending.push(f), () => void show("files")),
      h("p", { class: "muted" }, pending.length ? t.card.filesWithAppeal : t.card.filesBeforeSave),
      list,
    );
  };

  const files = async (a: Appeal, mine: number) => {
    const list = await api.attachments(a.id);
    if (mine !== seq) return;
    const picker = filePicker(
      async (f) => {
        try {
          await api.addAttachment({ appealId: a.id, fileName: f.fileName, mime: f.mime, base64: f.base64 });
        } catch (err) {
          ctx.toast((err as CommandError).message, "error");
        }
      },
      () => void show("files"),
    );
    replace(
      body,
      picker,
      ...list.map((f) => {
        const open = h("button", { class: "link file-open" }, t.fileSize(f.fileName, Math.ceil(f.size / 1024)));
        // Saved in Documents/Диалог and opened in the desktop's application for its type.
        const keep = h("button", { class: "link file-save", title: t.card.fileSaveHint }, t.card.fileSave);
        const row = h("div", { class: "file" }, open, h("span", { class: "muted" }, ` ${fmtDateTime(f.uploadedAt)} `), keep);
        keep.addEventListener("click", async () => {
          try {
            const saved = await api.saveAttachment(a.id, f.id, f.fileName);
            if (saved.opened) ctx.toast(`${t.card.fileSaved}: ${saved.path}`);
            else ctx.toast(`${t.card.fileSaved}: ${saved.path}. ${t.card.fileNotOpened}: ${saved.notOpened}`, "error");
          } catch (err) {
            ctx.toast((err as CommandError).message, "error");
          }
        });
        open.addEventListener("click", async () => {
          if (!showable(f.mime)) return keep.click();
          if (row.querySelector(".preview")) return;
          try {
            row.appendChild(await mediaPreview(f.id, f.mime));
          } catch (err) {
            ctx.toast((err as CommandError).message, "error");
          }
        });
        return row;
      }),
    );
  };

  const show = async (n: CardTab) => {
    shown = n;
    const mine = ++seq;
    buttons.forEach((b) => b.classList.toggle("active", b.dataset.tab === n));
    replace(body, h("p", { class: "muted" }, t.registry.loading));
    try {
      if (n === "problems") await problems(mine);
      else if (n === "calls") appeal ? await calls(appeal, mine) : replace(body, h("p", { class: "muted" }, t.card.noCalls));
      else if (n === "history") appeal ? await history(appeal, mine) : replace(body, h("p", { class: "muted" }, t.card.nothing));
      else if (n === "files") appeal ? await files(appeal, mine) : pendingFiles();
      else if (n === "services") {
        if (!where.buildingId) return replace(body, h("p", { class: "muted" }, t.card.addressFirst));
        const list = await prices(where.buildingId);
        if (mine !== seq) return;
        replace(body, list.length ? h("table", { class: "simple" }, ...list.map((p) => h("tr", null, h("td", null, p.service), h("td", { class: "num" }, `${p.price} ₽`), h("td", null, p.unit)))) : h("p", { class: "muted" }, t.card.nothing));
      } else {
        const shifts = await schedule(where.organizationId);
        if (mine !== seq) return;
        replace(body, shifts.length ? h("table", { class: "simple" }, ...shifts.slice(0, 100).map((s) => h("tr", null, h("td", null, fmtDateTime(s.startsAt)), h("td", null, fmtDateTime(s.endsAt).slice(11)), h("td", null, s.person), h("td", { class: "muted" }, s.note)))) : h("p", { class: "muted" }, t.card.nothing));
      }
    } catch (err) {
      if (mine === seq) replace(body, h("p", { class: "form-error" }, (err as CommandError).message));
    }
  };
  void show(first);
  return {
    refreshCalls() {
      if (shown === "calls" && root.isConnected) void show("calls");
    },
    setWhere(w) {
      Object.assign(where, w);
      if ((shown === "problems" || shown === "services" || shown === "schedule") && root.isConnected) void show(shown);
    },
  };
}
