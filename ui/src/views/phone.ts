// The phone in the shell (the operator manual, «Рабочий стол пользователя», «Создание обращения с использованием IP-телефонии»): the line indicator and the number
// of calls waiting in the header; a strip over every screen, the card included, with the
// ringing calls (answer / reject) and the calls in progress (регламент, hold, keypad, hang up).
// Answering opens a new card with the number filled in, or, for an executor's number, that
// executor's appeals in work.
import type { CommandError } from "../api/core";
import { contacts } from "../api/directory";
import { phoneAnswer, phoneDtmf, phoneHangup, phoneHold, phoneReject, type PhoneCall, type PhoneStatus } from "../api/phone";
import type { Executor } from "../generated/Executor";
import type { AppContext } from "../lib/app";
import { h, replace } from "../lib/h";
import { t } from "../lib/i18n";
import { ANSWER_DEADLINE, minutes, watchQueue, type Queue } from "../lib/queue";
import { active, onPhone, phone, ringing, talkBar, talkSeconds } from "../lib/phone";
import { openExecutor } from "./contacts";
import { openPhoneSettings } from "./phoneSettings";

const DIGITS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

export interface PhoneUi {
  /** Answers the first ringing call (F4). */
  answerFirst(): void;
  /** Hangs up the call in progress, or rejects the ringing one (F8). */
  hangUp(): void;
  unmount(): void;
}

export function mountPhone(ctx: AppContext, line: HTMLElement, waiting: HTMLElement): PhoneUi {
  const incoming = h("div", { id: "incoming-call", class: "incoming-panel hidden", role: "alert" });
  const bar = h("div", { id: "call-bar", class: "call-bar hidden" });
  const strip = h("div", { id: "phone-strip", class: "phone-strip" }, incoming, bar);
  document.body.appendChild(strip);
  const keypads = new Set<string>();
  const meters = new Map<string, ReturnType<typeof talkBar>>();

  const fail = (e: unknown) => ctx.toast((e as CommandError).message, "error");

  const header = (s: PhoneStatus) => {
    const cls = s.line === "registered" ? "up" : s.line === "connecting" ? "connecting" : "down";
    line.className = `line ${cls}`;
    line.dataset.state = s.line;
    line.title = s.message;
    const text =
      s.line === "registered"
        ? `${t.header.lineUp}${s.extension ? ": " + s.extension : ""}`
        : s.line === "connecting"
          ? t.header.lineConnecting
          : s.line === "off"
            ? t.header.lineOff
            : t.header.lineDown;
    replace(line, h("span", { class: "line-icon" }, t.phone.callIcon), " ", text);
    ringingHere = s.waiting;
    showWaiting();
  };
  // The header's «в очереди»: the PBX's queue as its bridge reports it; where there is none,
  // the calls ringing at this phone.
  let ringingHere = 0;
  let pbx: Queue | null = null;
  const showWaiting = () => {
    const n = pbx ? pbx.waiting : ringingHere;
    const late = !!pbx && (pbx.longestWait ?? 0) >= ANSWER_DEADLINE;
    waiting.textContent = pbx
      ? `${t.header.waiting}: ${n}${pbx.longestWait != null && n > 0 ? ` · ${t.header.longest} ${minutes(pbx.longestWait)}` : ""}`
      : `${t.header.ringing}: ${n}`;
    waiting.title = pbx ? t.header.waitingTitle(pbx.agents, pbx.talking) : t.header.ringingTitle;
    waiting.dataset.count = String(n);
    waiting.dataset.source = pbx ? "pbx" : "phone";
    waiting.classList.toggle("has-calls", n > 0);
    waiting.classList.toggle("late", late);
  };
  const stopQueue = ctx.me.role === "manager" ? () => {} : watchQueue((q) => {
    pbx = q;
    showWaiting();
  });

  const answer = async (c: PhoneCall) => {
    try {
      await phoneAnswer(c.id);
    } catch (e) {
      return fail(e);
    }
    if (c.executorId) return void executorCalling(ctx, c);
    // A card being filled in is never thrown away: the caller's card waits until it is closed.
    if (document.getElementById("card")) {
      ctx.toast(t.phone.finishCard(c.number));
      const wait = window.setInterval(() => {
        if (document.getElementById("card")) return;
        window.clearInterval(wait);
        ctx.openCard(null, { identifier: c.number, callId: c.id });
      }, 300);
      return;
    }
    ctx.openCard(null, { identifier: c.number, callId: c.id });
  };

  const renderIncoming = (s: PhoneStatus) => {
    const calls = ringing(s);
    incoming.classList.toggle("hidden", calls.length === 0);
    replace(
      incoming,
      calls.map((c, i) =>
        h(
          "div",
          { class: `incoming${c.executorId ? " from-executor" : ""}`, dataset: { id: c.id } },
          h("span", { class: "incoming-label" }, t.phone.incoming),
          h("span", { class: "number" }, c.number || t.phone.unknown),
          c.executorName
            ? h("span", { class: "executor-name" }, `${t.phone.fromExecutor}: ${c.executorName}`)
            : c.displayName
              ? h("span", { class: "display-name" }, c.displayName)
              : null,
          h("span", { class: "spacer" }),
          h("button", { class: "answer primary", title: i === 0 ? `${t.phone.answer} (${t.phone.answerKey})` : t.phone.answer, onclick: () => void answer(c) }, t.phone.answer),
          h("button", { class: "reject", title: t.phone.reject, onclick: () => void phoneReject(c.id).catch(fail) }, t.phone.reject),
        ),
      ),
      s.waiting > calls.length ? h("div", { class: "muted" }, `${t.header.waiting}: ${s.waiting}`) : null,
    );
  };

  const renderBar = (s: PhoneStatus) => {
    const calls = active(s);
    bar.classList.toggle("hidden", calls.length === 0);
    meters.clear();
    replace(
      bar,
      calls.map((c) => {
        const meter = talkBar();
        meter.set(talkSeconds(c));
        meters.set(c.id, meter);
        const held = c.state === "held";
        const keypad = h(
          "div",
          { class: `dtmf${keypads.has(c.id) ? "" : " hidden"}` },
          ...DIGITS.map((d) => h("button", { type: "button", dataset: { digit: d }, onclick: () => void phoneDtmf(c.id, d).catch(fail) }, d)),
        );
        const toggleKeypad = h("button", { class: "dtmf-toggle", title: t.phone.keypadHint, "aria-pressed": String(keypads.has(c.id)) }, t.phone.keypad);
        toggleKeypad.addEventListener("click", () => {
          if (keypads.has(c.id)) keypads.delete(c.id);
          else keypads.add(c.id);
          keypad.classList.toggle("hidden", !keypads.has(c.id));
          toggleKeypad.setAttribute("aria-pressed", String(keypads.has(c.id)));
        });
        return h(
          "div",
          { class: `active-call state-${c.state}`, dataset: { id: c.id, state: c.state } },
          h("span", { class: `direction dir-${c.direction}` }, c.direction === "in" ? "↙" : "↗"),
          h("span", { class: "number" }, c.number || t.phone.unknown),
          c.executorName || c.displayName ? h("span", { class: "peer" }, c.executorName ?? c.displayName) : null,
          h("span", { class: "call-state" }, t.phone.states[c.state]),
          meter.el,
          h("span", { class: "spacer" }),
          c.state === "talking" || held
            ? h("button", { class: `hold${held ? " on" : ""}`, "aria-pressed": String(held), onclick: () => void phoneHold(c.id, !held).catch(fail) }, held ? t.phone.unhold : t.phone.hold)
            : null,
          toggleKeypad,
          h("button", { class: "hangup", title: `${t.phone.hangup} (${t.phone.hangupKey})`, onclick: () => void phoneHangup(c.id).catch(fail) }, t.phone.hangup),
          keypad,
        );
      }),
    );
  };

  const render = (s: PhoneStatus) => {
    header(s);
    renderIncoming(s);
    renderBar(s);
    for (const id of keypads) if (!s.calls.some((c) => c.id === id)) keypads.delete(id);
    document.body.classList.toggle("in-call", active(s).length > 0);
    // Screens below make room for the strip (see .shell and .card-overlay in styles.css).
    document.body.style.setProperty("--phone-strip", `${strip.offsetHeight}px`);
  };

  const unsubscribe = onPhone((s) => render(s));
  render(phone());
  const tick = window.setInterval(() => {
    for (const c of active(phone())) meters.get(c.id)?.set(talkSeconds(c));
  }, 1000);
  line.addEventListener("click", () => openPhoneSettings(ctx));

  return {
    answerFirst() {
      const first = ringing(phone())[0];
      if (first) void answer(first);
    },
    hangUp() {
      const calls = active(phone());
      const current = calls.find((c) => c.state !== "held") ?? calls[0];
      if (current) void phoneHangup(current.id).catch(fail);
      else {
        const first = ringing(phone())[0];
        if (first) void phoneReject(first.id).catch(fail);
      }
    },
    unmount() {
      unsubscribe();
      stopQueue();
      window.clearInterval(tick);
      strip.remove();
      document.body.classList.remove("in-call");
      document.body.style.removeProperty("--phone-strip");
    },
  };
}

/** An incoming call from an executor: their appeals in work, several closable at once. */
async function executorCalling(ctx: AppContext, c: PhoneCall) {
  document.getElementById("executor-call")?.remove();
  const box = h("div", { class: "executor-appeals" });
  const close = () => {
    overlay.remove();
    document.removeEventListener("keydown", keys, true);
  };
  const keys = (e: KeyboardEvent) => {
    if (e.key === "Escape" && document.getElementById("card") === null) {
      e.preventDefault();
      close();
    }
  };
  const overlay = h(
    "div",
    { class: "card-overlay", id: "executor-call", dataset: { executor: c.executorId ?? "" } },
    h(
      "div",
      { class: "dialog popup", role: "dialog" },
      h("h3", null, `${t.phone.executorCalling}: ${c.executorName ?? c.number}`),
      h("p", { class: "muted" }, t.phone.executorHint),
      box,
      h("button", { id: "executor-call-close", onclick: close }, `${t.phone.close} (Esc)`),
    ),
  );
  document.body.appendChild(overlay);
  document.addEventListener("keydown", keys, true);
  let executor: Executor | undefined;
  try {
    executor = (await contacts()).find((e) => e.id === c.executorId);
  } catch {
    // Shown from the call alone below.
  }
  await openExecutor(
    ctx,
    box,
    executor ?? {
      id: c.executorId ?? "",
      fullName: c.executorName ?? c.number,
      position: "",
      phones: [c.number],
      organizationId: "",
      active: true,
    },
  ).catch((e: CommandError) => ctx.toast(e.message, "error"));
}
