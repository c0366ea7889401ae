// The app's small typed store and navigation.
import type { Person } from "../generated/Person";
import type { RegistryFilter } from "../generated/RegistryFilter";

export type Route =
  | { name: "desktop" }
  | { name: "registry"; filter?: RegistryFilter; title?: string }
  | { name: "contacts" }
  | { name: "kb" }
  | { name: "admin" }
  | { name: "reports" }
  | { name: "recordings" }
  | { name: "mail" };

/** What a new card starts with: the number of the call that opened it, and that call. */
export interface CardPrefill {
  /** The applicant's identifier (the caller's number). */
  identifier?: string;
  /** The answered call, linked to the appeal once the card is saved. */
  callId?: string;
  /** The tab the card opens on (`problems` unless given). */
  tab?: CardTab;
}

/** The tabs of the card (the operator manual, «Карточка обращения»). */
export type CardTab = "problems" | "calls" | "history" | "files" | "services" | "schedule";

export interface AppContext {
  me: Person;
  navigate(route: Route): void;
  /** Opens an appeal card; `null` opens a new one, `prefill` sets the identifier and call. */
  openCard(id: string | null, prefill?: CardPrefill): void;
  toast(message: string, kind?: "info" | "error"): void;
}

/** A view mounts into a root and returns its unmount. */
export type View = (root: HTMLElement, ctx: AppContext) => () => void;
