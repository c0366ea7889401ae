import type { AppealKind } from "../generated/AppealKind";
import type { Article } from "../generated/Article";
import type { ArticleHit } from "../generated/ArticleHit";
import type { Building } from "../generated/Building";
import type { Contact } from "../generated/Contact";
import type { Executor } from "../generated/Executor";
import type { Organization } from "../generated/Organization";
import type { Price } from "../generated/Price";
import type { RegistryRow } from "../generated/RegistryRow";
import type { Shift } from "../generated/Shift";
import { call } from "./core";

export const searchBuildings = (text: string) => call<Building[]>("search_buildings", { text });
export const searchKinds = (text: string) => call<AppealKind[]>("search_kinds", { text });
export const organizations = () => call<Organization[]>("organizations");
export const executorsFor = (kindId: string, buildingId: string) =>
  call<Executor[]>("executors_for", { kindId, buildingId });
export const contacts = () => call<Contact[]>("contacts");
export const executorAppeals = (executorId: string) => call<RegistryRow[]>("executor_appeals", { executorId });
export const searchArticles = (text: string) => call<ArticleHit[]>("search_articles", { text });
export const getArticle = (id: string) => call<Article>("get_article", { id });
export const saveArticle = (article: Article) => call<void>("save_article", { article });
export const deleteArticle = (id: string) => call<void>("delete_article", { id });
export const prices = (buildingId: string) => call<Price[]>("prices", { buildingId });
export const savePrice = (price: Price) => call<void>("save_price", { price });
export const deletePrice = (id: string) => call<void>("delete_price", { id });
export const schedule = (organizationId: string | null) => call<Shift[]>("schedule", { organizationId });
