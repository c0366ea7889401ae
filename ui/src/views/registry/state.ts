// What the registry screen knows, as one value its parts share: the filter the rows are read
// by, the rows read so far and where the next page starts, and the rows ticked for printing.
import { emptyFilter } from "../../api/registry";
import type { AppealStatus } from "../../generated/AppealStatus";
import type { AppealType } from "../../generated/AppealType";
import type { Cursor } from "../../generated/Cursor";
import type { RegistryFilter } from "../../generated/RegistryFilter";
import type { RegistryRow } from "../../generated/RegistryRow";
import type { Sort } from "../../generated/Sort";

/** Rows read at a time as the list scrolls. */
export const PAGE = 50;
export const TYPES: AppealType[] = ["accident", "complaint", "inquiry", "request"];
export const STATUSES: AppealStatus[] = ["new", "assigned", "inWork", "done", "closed", "cancelled"];

export interface RegistryState {
  /** The filter the rows are read by; the quick search's text is its `text`. */
  filter: RegistryFilter;
  readonly sort: Sort;
  /** The rows read so far, in the order shown. */
  rows: RegistryRow[];
  /** Where the next page starts; null when all is read (or nothing yet). */
  cursor: Cursor | null;
  loading: boolean;
  /** Bumped by every fresh read, so that the answer to an older one is dropped. */
  generation: number;
  /** The ids of the rows ticked for printing. */
  readonly picked: Set<string>;
}

export function registryState(initial?: RegistryFilter): RegistryState {
  return {
    filter: initial ? { ...emptyFilter(), ...initial } : emptyFilter(),
    sort: "receivedDesc",
    rows: [],
    cursor: null,
    loading: false,
    generation: 0,
    picked: new Set<string>(),
  };
}

/** The types the list shows: a filter that names no type shows them all. */
export function shownTypes(state: RegistryState): AppealType[] {
  return state.filter.types.length ? state.filter.types : TYPES;
}
