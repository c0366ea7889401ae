// One call in the card's «звонки» tab: which way, the numbers, when
// and how long, who took it, and its recording.
import { people } from "../api/admin";
import type { Appeal } from "../generated/Appeal";
import type { Call } from "../generated/Call";
import { fmtDateTime, h } from "../lib/h";
import { t } from "../lib/i18n";
import { fmtDuration } from "../lib/phone";
import { callSeconds, player } from "../lib/player";

let operatorNames: Promise<Map<string, string>> | null = null;

/** Logins → full names, read once per session. */
function operatorName(login: string): Promise<string> {
  operatorNames ??= people()
    .then((ps) => new Map(ps.map((p) => [p.login, p.fullName])))
    .catch(() => {
      operatorNames = null;
      return new Map<string, string>();
    });
  return operatorNames.then((m) => m.get(login) ?? login);
}

/** One call of the «звонки» tab: direction, numbers, times, operator, play. */
export async function callRow(c: Call, appeal: Appeal): Promise<HTMLElement> {
  const talk = callSeconds(c);
  const executor = appeal.executors.find((e) => e.executorId === c.executorId);
  const play = h("button", { class: "link play", disabled: !c.recordingCodec }, c.recordingCodec ? t.recordings.play : t.recordings.noRecording);
  const row = h(
    "div",
    { class: `call dir-${c.direction}`, dataset: { id: c.id } },
    h(
      "div",
      null,
      h("span", { class: "direction" }, c.direction === "outgoing" ? `↗ ${t.phone.outgoingDir}` : `↙ ${t.phone.incomingDir}`),
      ` · ${c.fromNumber} → ${c.toNumber}`,
      executor ? h("span", { class: "call-executor-name" }, ` · ${executor.fullName}`) : null,
    ),
    h(
      "div",
      { class: "muted" },
      `${fmtDateTime(c.startedAt)} · `,
      h("span", { class: "call-duration" }, talk === null ? t.recordings.notAnswered : fmtDuration(talk)),
      ` · ${await operatorName(c.operatorLogin)}`,
    ),
    play,
  );
  play.addEventListener("click", async () => {
    row.querySelector(".player")?.remove();
    row.appendChild(await player(c.id, talk));
  });
  return row;
}
