import type { Cursor } from "../generated/Cursor";
import type { FilterTemplate } from "../generated/FilterTemplate";
import type { Page } from "../generated/Page";
import type { RegistryFilter } from "../generated/RegistryFilter";
import type { Sort } from "../generated/Sort";
import type { TemplateCount } from "../generated/TemplateCount";
import { call } from "./core";

export const registryPage = (filter: RegistryFilter, sort: Sort, after: Cursor | null, limit: number) =>
  call<Page>("registry_page", { filter, sort, after, limit });
export const registryCount = (filter: RegistryFilter) => call<number>("registry_count", { filter });
export const templates = () => call<TemplateCount[]>("templates");
export const saveTemplate = (template: FilterTemplate) => call<void>("save_template", { template });
export const deleteTemplate = (id: string) => call<void>("delete_template", { id });

export function emptyFilter(): RegistryFilter {
  return {
    text: "",
    types: [],
    statuses: [],
    priorities: [],
    kindIds: [],
    organizationIds: [],
    executorIds: [],
    receivedFrom: null,
    receivedTo: null,
    quick: null,
    buildingId: null,
    identifier: null,
    mine: false,
    today: false,
  };
}
