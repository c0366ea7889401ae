// The app's small typed store and navigation.
import type { Person } from "../generated/Person";
import type { RegistryFilter } from "../generated/RegistryFilter";

export type Route =
  | { name: "desktop" }
  | { name: "registry"; filter?: RegistryFilter; title?: string }
  | { name: "contacts" }
  | { name: "kb" }
  | { name: "admin" }
  | { name: "reports" };

export interface AppContext {
  me: Person;
  navigate(route: Route): void;
  /** Opens an appeal card; `null` opens a new one, `prefill` sets the identifier. */
  openCard(id: string | null, prefill?: { identifier?: string }): void;
  toast(message: string, kind?: "info" | "error"): void;
}

/** A view mounts into a root and returns its unmount. */
export type View = (root: HTMLElement, ctx: AppContext) => () => void;
