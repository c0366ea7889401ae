// The recordings registry (the operator manual, «Как сделать…», «Как прослушать аудиозаписи»): calls by
// date, number, operator and direction, newest first, each playable; a call about an appeal
// opens its card.
import { calls } from "../api/appeals";
import { people } from "../api/admin";
import type { CommandError } from "../api/core";
import { contacts } from "../api/directory";
import type { Call } from "../generated/Call";
import type { CallDirection } from "../generated/CallDirection";
import type { CallFilter } from "../generated/CallFilter";
import type { AppContext } from "../lib/app";
import { debounce, fmtDateTime, h, replace } from "../lib/h";
import { t } from "../lib/i18n";
import { fmtDuration, onCallSaved } from "../lib/phone";
import { callSeconds, player } from "../lib/player";

const LIMIT = 500;

/** `YYYY-MM-DD` of a local date, for `<input type="date">`. */
function dateInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function mountRecordings(root: HTMLElement, ctx: AppContext): () => void {
  const weekAgo = new Date(Date.now() - 7 * 86_400_000);
  const from = h("input", { type: "date", id: "rec-from", value: dateInput(weekAgo) });
  const to = h("input", { type: "date", id: "rec-to" });
  const number = h("input", { type: "search", id: "rec-number", placeholder: t.recordings.numberHint, autocomplete: "off" });
  const operator = h("select", { id: "rec-operator" }, h("option", { value: "" }, t.recordings.anyOperator));
  const direction = h(
    "select",
    { id: "rec-direction" },
    h("option", { value: "" }, t.recordings.anyDirection),
    h("option", { value: "incoming" }, t.phone.incomingDir),
    h("option", { value: "outgoing" }, t.phone.outgoingDir),
  );
  const find = h("button", { id: "rec-apply", class: "primary", type: "button" }, t.recordings.find);
  const reset = h("button", { id: "rec-reset", type: "button" }, t.recordings.reset);
  const error = h("div", { id: "rec-error", class: "form-error", role: "alert" });
  const playerBox = h("div", { id: "recording-player", class: "player-bar hidden" });
  const tbody = h("tbody", { id: "recordings-rows" });
  const status = h("div", { class: "registry-status", id: "recordings-status" });
  const label = (text: string, control: HTMLElement) => h("label", { class: "inline" }, text, " ", control);
  root.replaceChildren(
    h(
      "section",
      { class: "recordings" },
      h(
        "div",
        { class: "toolbar" },
        h("strong", { class: "view-title" }, t.recordings.title),
        label(t.recordings.from, from),
        label(t.recordings.to, to),
        label(t.recordings.number, number),
        label(t.recordings.operator, operator),
        label(t.recordings.direction, direction),
        find,
        reset,
        error,
      ),
      playerBox,
      h(
        "div",
        { class: "registry-scroll" },
        h("table", { class: "registry recordings-table" }, h("thead", null, h("tr", null, ...t.recordings.columns.map((c) => h("th", null, c)))), tbody),
        status,
      ),
    ),
  );

  const operators = new Map<string, string>();
  const executors = new Map<string, string>();
  let shown: Call[] = [];
  let generation = 0;

  const filter = (): CallFilter => ({
    from: from.value ? new Date(from.value + "T00:00").toISOString() : null,
    // «по» includes the whole day.
    to: to.value ? new Date(new Date(to.value + "T00:00").getTime() + 86_400_000).toISOString() : null,
    number: number.value.trim(),
    operatorLogin: operator.value || null,
    direction: (direction.value || null) as CallDirection | null,
  });

  const row = (c: Call) => {
    const talk = callSeconds(c);
    return h(
      "tr",
      { dataset: { id: c.id }, class: `dir-${c.direction}` },
      h("td", { class: "c-num" }, fmtDateTime(c.startedAt)),
      h("td", { class: "c-direction" }, c.direction === "incoming" ? `↙ ${t.phone.incomingDir}` : `↗ ${t.phone.outgoingDir}`),
      h("td", { class: "c-from" }, c.fromNumber),
      h("td", { class: "c-to" }, c.toNumber),
      h("td", { class: "c-duration num" }, talk === null ? t.recordings.notAnswered : fmtDuration(talk)),
      h("td", { class: "c-operator" }, operators.get(c.operatorLogin) ?? c.operatorLogin),
      h("td", { class: "c-executor" }, c.executorId ? executors.get(c.executorId) ?? "" : ""),
      h("td", { class: "c-appeal" }, c.appealId ? h("button", { class: "link open-appeal", dataset: { appeal: c.appealId } }, t.recordings.openAppeal) : null),
      h(
        "td",
        { class: "c-play" },
        h("button", { class: "link play", disabled: !c.recordingCodec, dataset: { id: c.id } }, c.recordingCodec ? t.recordings.play : t.recordings.noRecording),
      ),
    );
  };

  const load = async () => {
    const gen = ++generation;
    error.textContent = "";
    number.classList.remove("invalid");
    status.textContent = t.registry.loading;
    try {
      const found = await calls(filter());
      if (gen !== generation) return;
      shown = found;
      replace(tbody, found.map(row));
      status.textContent = found.length === 0 ? t.recordings.empty : found.length >= LIMIT ? t.recordings.limit : "";
    } catch (e) {
      if (gen !== generation) return;
      const err = e as CommandError;
      error.textContent = err.message;
      if (err.field === "number") number.classList.add("invalid");
      status.textContent = "";
    }
  };

  tbody.addEventListener("click", async (e) => {
    const target = e.target as HTMLElement;
    const open = target.closest<HTMLElement>(".open-appeal");
    if (open?.dataset.appeal) return ctx.openCard(open.dataset.appeal);
    const play = target.closest<HTMLButtonElement>("button.play");
    const c = shown.find((x) => x.id === play?.dataset.id);
    if (!play || !c || play.disabled) return;
    tbody.querySelectorAll("tr.playing").forEach((tr) => tr.classList.remove("playing"));
    play.closest("tr")?.classList.add("playing");
    const box = await player(c.id, callSeconds(c));
    replace(
      playerBox,
      h("span", { class: "player-title" }, `${fmtDateTime(c.startedAt)} · ${c.fromNumber} → ${c.toNumber}`),
      box,
    );
    playerBox.classList.remove("hidden");
  });

  const again = debounce(() => void load(), 300);
  for (const el of [from, to, operator, direction]) el.addEventListener("change", () => void load());
  number.addEventListener("input", again);
  number.addEventListener("keydown", (e) => {
    if (e.key === "Enter") void load();
  });
  find.addEventListener("click", () => void load());
  reset.addEventListener("click", () => {
    from.value = dateInput(weekAgo);
    to.value = "";
    number.value = "";
    operator.value = "";
    direction.value = "";
    void load();
  });

  // Names for logins and executors; the list shows logins and nothing until they come.
  void Promise.all([people().catch(() => []), contacts().catch(() => [])]).then(([ps, cs]) => {
    for (const p of ps) {
      operators.set(p.login, p.fullName);
      operator.appendChild(h("option", { value: p.login }, p.fullName));
    }
    for (const c of cs) executors.set(c.id, c.fullName);
    if (shown.length) replace(tbody, shown.map(row));
  });
  // A call that ends is stored by the shell a moment later.
  const unsubscribe = onCallSaved(() => again());
  void load();
  return () => {
    generation++;
    unsubscribe();
  };
}
