// The card's general part (the operator manual, «Карточка обращения»): who appealed and how —
// the identifier with its ☎, the applicant, other contacts, the регламент meter of the call,
// the appeal's clocks — and, after the reasons, channel, time and status.
import type { Appeal } from "../../generated/Appeal";
import type { AppealStatus } from "../../generated/AppealStatus";
import type { Channel } from "../../generated/Channel";
import { CHANNELS_WITHOUT_IDENTIFIER } from "../../generated/labels";
import type { CardPrefill } from "../../lib/app";
import { debounce, fmtDateTime, h, toLocalInput } from "../../lib/h";
import { channelLabel, statusLabel, t } from "../../lib/i18n";
import { callButton, liveCalls, syncCallButton, talkBar, talkSeconds } from "../../lib/phone";
import { live } from "../registry/rows";
import { field, mark, select } from "./parts";

const CHANNELS: Channel[] = ["phone", "email", "letter", "website", "walkIn"];

/** What the general part holds, as the store takes it. */
export interface GeneralValues {
  channel: Channel;
  identifier: string;
  applicantName: string;
  contacts: string;
  receivedAt: string;
  status: AppealStatus;
}

export interface GeneralPart {
  /** Identifier, applicant, contacts, clocks, the регламент. */
  section: HTMLElement;
  /** Channel, time and status: after the reasons, so Tab goes from the applicant to the address. */
  meta: HTMLElement;
  values(): GeneralValues;
  /** Marks what is missing; whether it is complete. */
  validate(): boolean;
  /** Marks the field the server refused. */
  markField(name: string | null): void;
  /** The applicant's name when the number is known, else the number. */
  focus(): void;
  /** Stops the регламент's clock. */
  stop(): void;
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

/** `onIdentifier` hears the identifier as it is typed (after a pause), for «Ранее с этого номера». */
export function generalPart(appeal: Appeal | null, prefill: CardPrefill | undefined, onIdentifier: (identifier: string) => void): GeneralPart {
  const channel = select("card-channel", CHANNELS, channelLabel, appeal?.channel ?? "phone");
  const identifier = h("input", { id: "card-identifier", value: appeal?.identifier ?? prefill?.identifier ?? "", autocomplete: "off" });
  const applicant = h("input", { id: "card-applicant", value: appeal?.applicantName ?? "", autocomplete: "off" });
  const contacts = h("input", { id: "card-contacts", value: appeal?.contacts ?? "", autocomplete: "off" });
  const received = h("input", { id: "card-received", type: "datetime-local", value: toLocalInput(appeal?.receivedAt ?? new Date().toISOString()) });
  // The database takes a received time no later than the registration and at most 31 days before it.
  const registered = appeal ? new Date(appeal.registeredAt).getTime() : Date.now();
  received.max = toLocalInput(new Date(registered + 60_000).toISOString());
  received.min = toLocalInput(new Date(registered - 31 * 86_400_000).toISOString());
  // An existing appeal offers the steps its status may take (the database's list); a new card
  // may register an inquiry answered during the call as done at once.
  const status = appeal
    ? select("card-status", [appeal.status, ...appeal.nextStatuses], statusLabel, appeal.status)
    : select("card-status", ["new", "done"] as AppealStatus[], statusLabel, "new");
  status.title = appeal ? "" : t.card.statusNewHint;

  const callApplicant = callButton({ number: identifier.value, appealId: appeal?.id, id: "card-call-applicant", class: "call-applicant", tabIndex: -1 });
  const heard = debounce(() => onIdentifier(identifier.value.trim()), 400);
  identifier.addEventListener("input", () => {
    callApplicant.dataset.number = identifier.value.trim();
    syncCallButton(callApplicant);
    heard();
  });

  // The регламент (the operator manual, «Карточка обращения»): the talk time of the call that
  // opened the card, else the time since the card was opened; it stops when the call ends.
  const meter = talkBar("card-talk-time");
  const opened = Date.now();
  let lastTalk = 0;
  let timer = 0;
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

  const section = h(
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
  const meta = h("div", { class: "grid card-meta" }, field(t.card.channel, channel), field(t.card.received, received), field(t.card.status, status));

  return {
    section,
    meta,
    values: () => ({
      channel: channel.value as Channel,
      identifier: identifier.value.trim(),
      applicantName: applicant.value,
      contacts: contacts.value,
      receivedAt: new Date(received.value).toISOString(),
      status: status.value as AppealStatus,
    }),
    validate() {
      const ident = identifier.value.trim();
      // A letter or a visit may come without a phone or an e-mail: then the applicant's name
      // and an address to answer are what is required.
      const written = CHANNELS_WITHOUT_IDENTIFIER.includes(channel.value as Channel);
      const noName = ident === "" && written && applicant.value.trim() === "";
      const noAddress = ident === "" && written && contacts.value.trim() === "";
      mark(identifier, ident === "" && !written);
      mark(applicant, noName);
      mark(contacts, noAddress);
      return ident !== "" || (written && !noName && !noAddress);
    },
    markField(name) {
      if (name === "identifier") mark(identifier, true);
      if (name === "contacts") mark(contacts, true);
      if (name === "applicantName") mark(applicant, true);
    },
    focus: () => (identifier.value ? applicant : identifier).focus(),
    stop: () => window.clearInterval(timer),
  };
}
