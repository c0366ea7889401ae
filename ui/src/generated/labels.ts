// The Russian words of Dialog's closed sets, as the database stores them. Generated from
// crates/core/src/model.rs by `cargo test -p dialog-core --features ts export_bindings`.
import type { AppealStatus } from "./AppealStatus";
import type { AppealType } from "./AppealType";
import type { CallDirection } from "./CallDirection";
import type { Channel } from "./Channel";
import type { Priority } from "./Priority";
import type { StaffRole } from "./StaffRole";

export const statusLabel: Record<AppealStatus, string> = {
  new: "новый",
  assigned: "назначено",
  inWork: "в работе",
  done: "отработано",
  closed: "закрыто",
  cancelled: "отменено",
};

export const typeLabel: Record<AppealType, string> = {
  accident: "авария",
  complaint: "жалоба",
  inquiry: "справка",
  request: "заявка",
};

export const priorityLabel: Record<Priority, string> = {
  low: "низкий",
  medium: "средний",
  critical: "критический",
};

export const channelLabel: Record<Channel, string> = {
  phone: "телефон",
  email: "e-mail",
  letter: "письмо",
  website: "сайт",
  walkIn: "личный приём",
};

export const roleLabel: Record<StaffRole, string> = {
  operator: "диспетчер",
  supervisor: "старший диспетчер",
  manager: "представитель УК",
  admin: "администратор",
};

export const directionLabel: Record<CallDirection, string> = {
  incoming: "входящий",
  outgoing: "исходящий",
};

/** Statuses of appeals that still need someone to act. */
export const LIVE_STATUSES: readonly AppealStatus[] = ["new", "assigned", "inWork"];

/** What may be dialled (spaces, brackets and dashes aside). */
export const DIALABLE = new RegExp("^\\+?[0-9*#]{2,20}$");

/** Channels whose appeals may come without a phone or an e-mail (with a name and an address). */
export const CHANNELS_WITHOUT_IDENTIFIER: readonly Channel[] = ["letter", "walkIn"];
