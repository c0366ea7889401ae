import type { AppealKind } from "../generated/AppealKind";
import type { Building } from "../generated/Building";
import type { Executor } from "../generated/Executor";
import type { NewPerson } from "../generated/NewPerson";
import type { PersonChanges } from "../generated/PersonChanges";
import type { Person } from "../generated/Person";
import type { Service } from "../generated/Service";
import { call } from "./core";

export const people = () => call<Person[]>("people");
export const addPerson = (person: NewPerson) => call<void>("add_person", { person });
export const updatePerson = (person: PersonChanges) => call<void>("update_person", { person });
export const setPersonActive = (login: string, active: boolean) => call<void>("set_person_active", { login, active });
export const setPassword = (login: string, password: string) => call<void>("set_password", { login, password });
export const saveOrganization = (name: string, phone: string | null) => call<string>("save_organization", { name, phone });
export const updateOrganization = (id: string, name: string, phone: string | null) => call<void>("update_organization", { id, name, phone });
export const buildings = (organizationId: string) => call<Building[]>("buildings", { organizationId });
/** Creates or moves a building; `servedBy` are the executors who serve it from now on. */
export const saveBuilding = (building: Building, servedBy: string[]) => call<string>("save_building", { building, servedBy });
export const kinds = () => call<AppealKind[]>("kinds");
export const saveKind = (kind: AppealKind) => call<string>("save_kind", { kind });
export const executors = () => call<Executor[]>("executors");
export const executorService = (id: string) => call<Service>("executor_service", { id });
export const saveExecutor = (executor: Executor, service: Service) => call<string>("save_executor", { executor, service });
